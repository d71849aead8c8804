"""SIPp as a scenario peer for call tests: scenarios are generated per test (numbers,
codecs and expected statuses are substituted in Python, since SIPp does not expand
keywords in attributes), run in the background against the gateway, and judged by
SIPp's exit status plus its message trace."""
import os
import subprocess
import tempfile

from harness import free_port

HEADERS_OUT = """Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "SIPp" <sip:{caller}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
Contact: <sip:{caller}@[local_ip]:[local_port]>
Max-Forwards: 70"""

SDP = """v=0
o=sipp 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP {payload_types}
{rtpmaps}a=sendrecv"""

RTPMAP = {0: "PCMU/8000", 8: "PCMA/8000", 3: "GSM/8000", 18: "G729/8000", 101: "telephone-event/8000"}


def _sdp(payload_types):
    rtpmaps = "".join(f"a=rtpmap:{pt} {RTPMAP[pt]}\n" for pt in payload_types)
    return SDP.format(payload_types=" ".join(str(pt) for pt in payload_types), rtpmaps=rtpmaps)


def uac_expect_failure(status, payload_types=(0, 101), caller="5550001"):
    """INVITE; provisional responses allowed; the final response must be `status`;
    ACK it (the ACK of a non-2xx goes to the same branch: [branch-2] is the INVITE's)."""
    headers = HEADERS_OUT.format(caller=caller)
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="uac expects {status}">
  <send retrans="500"><![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
{headers}
CSeq: 1 INVITE
Content-Type: application/sdp
Content-Length: [len]

{_sdp(payload_types)}
]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="{status}"/>
  <send><![CDATA[
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch-5]
From: "SIPp" <sip:{caller}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
</scenario>
"""


def uac_answered(hang_up_ms=None, payload_types=(0, 101), caller="5550001"):
    """INVITE; provisional responses allowed; 200 expected and ACKed. Then either SIPp
    hangs up after hang_up_ms (BYE, expects 200), or, with hang_up_ms None, it waits
    for the gateway's BYE and answers it 200."""
    headers = HEADERS_OUT.format(caller=caller)
    from_ = f'From: "SIPp" <sip:{caller}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]'
    if hang_up_ms is None:
        end = """  <recv request="BYE"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>"""
    else:
        end = f"""  <pause milliseconds="{hang_up_ms}"/>
  <send retrans="500"><![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
{from_}
[last_To:]
[routes]
Call-ID: [call_id]
CSeq: 2 BYE
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="200"/>"""
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="uac answered">
  <send retrans="500"><![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
{headers}
CSeq: 1 INVITE
Content-Type: application/sdp
Content-Length: [len]

{_sdp(payload_types)}
]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rrs="true"/>
  <send><![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
{from_}
[last_To:]
[routes]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
{end}
</scenario>
"""


def uas_answer(status=200, hold_ms=0, payload_types=(0, 101)):
    """Answers one INVITE: 180 then `status`. With 200 it waits for the ACK and then for
    the gateway's BYE (or sends BYE itself after hold_ms when hold_ms > 0)."""
    if status != 200:
        return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="uas answers {status}">
  <recv request="INVITE"/>
  <send><![CDATA[
SIP/2.0 {status} Busy Here
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
  <recv request="ACK"/>
</scenario>
"""
    end = """  <recv request="BYE"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>"""
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="uas answers 200">
  <recv request="INVITE" rrs="true"/>
  <send><![CDATA[
SIP/2.0 180 Ringing
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Record-Route:]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:[local_ip]:[local_port];transport=[transport]>
Content-Length: 0

]]></send>
  <send retrans="500"><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Record-Route:]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:[local_ip]:[local_port];transport=[transport]>
Content-Type: application/sdp
Content-Length: [len]

{_sdp(payload_types)}
]]></send>
  <recv request="ACK"/>
{end}
</scenario>
"""


class Sipp:
    """One SIPp process running a generated scenario in the background."""

    def __init__(self, scenario_xml, target=None, service="100", calls=1, extra=(), timeout_s=30, rtp_echo=True,
                 port=None):
        self.dir = tempfile.mkdtemp(prefix="lg-sipp-")
        self.scenario = os.path.join(self.dir, "scenario.xml")
        with open(self.scenario, "w") as f:
            f.write(scenario_xml)
        self.port = port or free_port()
        self.media_port = free_port()
        self.messages = os.path.join(self.dir, "messages.log")
        args = ["sipp", "-sf", self.scenario, "-i", "127.0.0.1", "-p", str(self.port), "-mp", str(self.media_port),
                "-m", str(calls), "-s", service, "-trace_msg", "-message_file", self.messages, "-trace_err",
                "-error_file", os.path.join(self.dir, "errors.log"), "-timeout", f"{timeout_s}s", "-timeout_error",
                "-nostdin", *extra]
        if rtp_echo:
            args.append("-rtp_echo")
        if target:
            args.append(target)
        self.args = args
        self.process = None

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def start(self):
        self.log = open(os.path.join(self.dir, "sipp.out"), "w")
        self.process = subprocess.Popen(self.args, stdout=self.log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, cwd=self.dir)
        return self

    def wait(self, timeout=30):
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return None

    def trace(self):
        out = []
        for name in ("messages.log", "errors.log", "sipp.out"):
            try:
                with open(os.path.join(self.dir, name), errors="replace") as f:
                    out.append(f"--- {name}\n" + f.read()[-6000:])
            except OSError:
                pass
        return "\n".join(out)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self.process:
            self.log.close()
        if os.environ.get("LINEGATE_KEEP_TEST_DIRS") != "1":
            subprocess.run(["rm", "-rf", self.dir], check=False)
