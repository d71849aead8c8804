"""Calls end to end with real peers (calls issue, acceptance 1-3): Kamailio as the
proxy/registrar that challenges INVITEs with 407, baresip as real phones on the IP side,
SIPp as scenario peer, and the simulated phones and exchange line of the `sim` card on
the line side, driven with `linegatectl line N ...`. Audio is checked by frequency and
level as in the media tests: the simulated phone's `listen` on the line side, baresip's
recording of what it received on the IP side."""
import json
import os
import re
import sys
import time
import unittest
import wave

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
from harness import GatewayTestCase, config_text, free_port, wait_for  # noqa: E402
from kamailio import Kamailio  # noqa: E402
from baresip import Baresip  # noqa: E402
import sipp_calls  # noqa: E402
from rtp_capture import RtpCapture  # noqa: E402
import rtp_peer  # noqa: E402

LISTEN = re.compile(r"heard (?:([0-9.]+) Hz at (-?[0-9.]+) dBm0.*?|silence.*?); (?:no DTMF|DTMF ([0-9A-D*#]+))")
DOMAIN = "gw.test"
FXS = 8
FXO_LINE = 9
PHONE_NUMBERS = {line: f"{2000 + line}" for line in range(1, FXS + 1)}
FXO_NUMBER = "2009"
SIP_USERS = {"100": "pw-100", "200": "pw-200", "201": "pw-201", "202": "pw-202", "300": "pw-300"}
# US call progress tones: dial 350+440, ringback 440+480, busy/reorder 480+620 Hz.
DIAL_TONE = (350, 440)
BUSY_TONE = (480, 620)


def calls_config(runtime_dir, sip_port, kamailio_port, sipp_routes=""):
    endpoints = "".join(
        f"    - line: {line}\n      phone_number: \"{number}\"\n      password: pw-{number}\n"
        for line, number in PHONE_NUMBERS.items())
    endpoints += (f"    - line: {FXO_LINE}\n      phone_number: \"{FXO_NUMBER}\"\n      password: pw-{FXO_NUMBER}\n"
                  "      fxo_destination: \"300\"\n")
    signaling = f"""  domain: {DOMAIN}
  registration:
    mode: per_endpoint
    proxy_set: kamailio
    expires_s: 300
  proxy_sets:
    - name: kamailio
      keepalive_interval_s: 0
      proxies:
        - address: 127.0.0.1
          port: {kamailio_port}
  endpoints:
{endpoints}"""
    calls = f"""calls:
  codecs: [pcmu, pcma]
  no_answer_timeout_s: 4
  fxo_answer_rings: 2
  dial_plan:
    digit_map: "x.T"
    inter_digit_timeout_s: 2
  hunt_groups:
    - name: pair
      lines: [7, 8]
      mode: sequential
      busy_status: 503
  ip_to_tel_routes:
    - called: "7000$"
      hunt_group: pair
    - called: "8"
      line: {FXO_LINE}
{sipp_routes}"""
    text = config_text(runtime_dir, media_processes=1, fxs=FXS, fxo=1, sip_port=sip_port,
                       signaling_extra=signaling, extra=calls)
    # Registrations and calls of a test need the gateway's numbers only on line 1-9.
    text = text.replace("  log_level: info", "  log_level: debug")
    return text


def read_wav(path):
    with wave.open(path) as w:
        data = w.readframes(w.getnframes())
    return [int.from_bytes(data[i:i + 2], "little", signed=True) for i in range(0, len(data) - 1, 2)]


class CallTestCase(GatewayTestCase):
    """A gateway whose eight phone numbers register with a fresh Kamailio that proxies
    calls and challenges every INVITE."""

    def setUp(self):
        super().setUp()
        self.peers = []
        users = {**{n: f"pw-{n}" for n in [*PHONE_NUMBERS.values(), FXO_NUMBER]}, **SIP_USERS}
        self.sipp_uas_port = free_port()
        self.kamailio = Kamailio(users, domain=DOMAIN, calls=True, min_expires=10,
                                 static_routes={"486": f"127.0.0.1:{self.sipp_uas_port}"}).start()
        self.sip_port = free_port()
        with open(self.config, "w") as f:
            f.write(calls_config(self.runtime_dir, self.sip_port, self.kamailio.port))
        self.start()
        self.assertIsNotNone(self.wait_healthy(timeout=8.0), self.gateway_log())
        registered = wait_for(lambda: self.kamailio.registered_aors() >= set(PHONE_NUMBERS.values()), timeout=8.0,
                              step=0.2)
        self.assertTrue(registered, f"registered: {self.kamailio.registered_aors()}\n{self.gateway_log()[-3000:]}")

    def tearDown(self):
        for peer in self.peers:
            peer.stop()
        super().tearDown()
        self.kamailio.stop()

    # --- helpers ---
    def ok(self, *args):
        result = self.ctl(*args)
        self.assertEqual(result.returncode, 0, f"linegatectl {' '.join(args)}: {result.stdout}{result.stderr}")
        return result.stdout

    def phone(self, user, tone_hz, answer_auto=False):
        peer = Baresip(user, SIP_USERS[user], DOMAIN, self.kamailio.port, tone_hz=tone_hz,
                       answer_auto=answer_auto).start()
        self.peers.append(peer)
        self.assertTrue(wait_for(lambda: user in self.kamailio.registered_aors(), timeout=5.0, step=0.1),
                        peer.read_log()[-2000:])
        return peer

    def sipp(self, scenario, **kwargs):
        peer = sipp_calls.Sipp(scenario, **kwargs)
        self.peers.append(peer)
        return peer.start()

    def listen(self, line, ms=500):
        text = self.ok("line", str(line), "listen", str(ms))
        match = LISTEN.search(text)
        self.assertIsNotNone(match, text)
        if match.group(1) is None:
            return None, None
        return float(match.group(1)), float(match.group(2))

    def line_status(self, line):
        return self.ok("line", str(line), "status")

    def calls(self):
        return json.loads(self.ok("calls", "--json")).get("calls", [])

    def wait_call_state(self, line, state, timeout=6.0):
        def found():
            return any(c.get("line") == line and c.get("state") == state for c in self.calls())
        return wait_for(found, timeout=timeout, step=0.1)

    def wait_no_calls(self, timeout=6.0):
        return wait_for(lambda: not self.calls(), timeout=timeout, step=0.1)

    def cdr_rows(self):
        path = os.path.join(self.runtime_dir, "cdr.jsonl")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]

    def wait_cdr(self, count=1, timeout=5.0):
        """The CDR rows of the calls' IP legs (one row per call leg is written)."""
        def ip_rows():
            return [row for row in self.cdr_rows() if row.get("leg") == "ip"]
        wait_for(lambda: len(ip_rows()) >= count, timeout=timeout, step=0.1)
        return ip_rows()

    def assert_tone(self, line, expected_hz, level=-10, what=""):
        """The phone hears the tone: a few listens, since the first RTP of a new call may
        still be on its way when a loaded machine runs the test."""
        heard = []
        for _ in range(5):
            hz, dbm0 = self.listen(line, 500)
            heard.append((hz, dbm0))
            if hz is not None and abs(hz - expected_hz) <= 5:
                if level is not None:
                    self.assertAlmostEqual(dbm0, level, delta=1.5, msg=what)
                return
        self.fail(f"{what}: line {line} heard {heard}, expected {expected_hz} Hz\n{self.gateway_log()[-3000:]}")

    def assert_hears_one_of(self, line, frequencies, what):
        """Busy and reorder tones are cadenced (0.5/0.5 s, 0.25/0.25 s) and quiet (US:
        -24 dBm0 per frequency): short listens until one falls in an on period."""
        heard = []
        for _ in range(8):
            hz, dbm0 = self.listen(line, 200)
            heard.append((hz, dbm0))
            if hz is not None and any(abs(hz - f) < 8 for f in frequencies):
                return
        self.fail(f"{what}: heard {heard}, expected one of {frequencies}\n{self.gateway_log()[-3000:]}")

    def assert_peer_heard(self, peer, expected_hz, what, seconds=0.5):
        """After its call ended: baresip received the tone at -10 dBm0 for `seconds`."""
        wait_for(lambda: peer.received_wav() and os.path.getmtime(peer.received_wav()) < time.time() - 0.3,
                 timeout=3.0, step=0.1)
        heard = peer.heard_seconds(expected_hz)
        windows = [(t, round(m.frequency_hz), round(m.tone_level_dbm0, 1), round(m.level_dbm0, 1))
                   for t, m in peer.tone_windows()]
        self.assertGreaterEqual(heard, seconds, f"{what}: {expected_hz} Hz for {heard} s; windows {windows}")


class IpToTelTest(CallTestCase):
    """Acceptance 1: baresip, registered to Kamailio, calls line 3's number; the phone
    rings with baresip's number as caller ID; off-hook answers; tones pass both ways;
    BYE from either side ends the call; the CDR row is right."""

    def call_line_3(self):
        alice = self.phone("100", tone_hz=697)
        alice.dial(f"sip:{PHONE_NUMBERS[3]}@{DOMAIN}")
        shown = wait_for(lambda: "number=100" in self.line_status(3), timeout=8.0, step=0.2)
        self.assertTrue(shown, f"{self.line_status(3)}\n{self.gateway_log()[-4000:]}")
        self.ok("line", "3", "offhook")
        self.assertIsNotNone(alice.wait_event("CALL_ESTABLISHED", 5), alice.read_log()[-2000:])
        self.ok("line", "3", "tone", "1004", "-10")
        time.sleep(1.0)
        self.assert_tone(3, 697, what="phone hears baresip")
        self.ok("line", "3", "tone", "off")
        return alice

    def test_baresip_calls_line_3_and_hangs_up(self):
        alice = self.call_line_3()
        alice.hangup()
        self.assertTrue(self.wait_no_calls(), self.calls())
        self.assert_peer_heard(alice, 1004, "baresip heard the phone")
        # The far end hung up: an 800 ms open-loop disconnect tells the phone so, then it
        # hears reorder tone until it hangs up.
        time.sleep(1.0)
        self.assertIn("disconnects seen 1", self.line_status(3))
        self.assert_hears_one_of(3, BUSY_TONE, "after remote BYE")
        self.ok("line", "3", "onhook")
        rows = self.wait_cdr(1)
        self.assertEqual(len(rows), 1, rows)
        row = rows[0]
        self.assertEqual(row["direction"], "ip-to-tel")
        self.assertEqual(row["line"], 3)
        self.assertEqual(row["caller"], "100")
        self.assertEqual(row["callee"], PHONE_NUMBERS[3])
        self.assertEqual(row["released_by"], "ip")
        self.assertEqual(row["codec"], "PCMU")
        self.assertGreater(row["rtp_packets_received"], 50)
        self.assertGreater(row["rtp_packets_sent"], 50)
        self.assertIsNotNone(row["connect_ms"])

    def test_phone_hangs_up_first(self):
        alice = self.call_line_3()
        self.ok("line", "3", "onhook")
        self.assertIsNotNone(alice.wait_event("CALL_CLOSED", 5), alice.read_log()[-2000:])
        self.assert_peer_heard(alice, 1004, "baresip heard the phone")
        rows = self.wait_cdr(1)
        self.assertEqual(rows[0]["released_by"], "tel", rows)


class TelToIpTest(CallTestCase):
    """Acceptance 2: line 5 goes off-hook, hears dial tone, dials 200#; the INVITE goes
    through Kamailio, which challenges it with 407; baresip answers; audio both ways;
    on-hook sends BYE."""

    def test_line_5_dials_200(self):
        bob = self.phone("200", tone_hz=852, answer_auto=True)
        self.ok("line", "5", "offhook")
        time.sleep(0.3)
        self.assert_hears_one_of(5, DIAL_TONE, "dial tone")
        self.ok("line", "5", "dial", "200#")
        self.assertIsNotNone(bob.wait_event("CALL_ESTABLISHED", 8),
                             f"{bob.read_log()[-2000:]}\n{self.gateway_log()[-4000:]}")
        self.assertIn("challenge INVITE from 2005", self.kamailio.read_log())
        self.ok("line", "5", "tone", "1004", "-10")
        time.sleep(1.0)
        self.assert_tone(5, 852, what="phone hears baresip")
        self.ok("line", "5", "onhook")
        self.assertIsNotNone(bob.wait_event("CALL_CLOSED", 5), bob.read_log()[-2000:])
        self.assert_peer_heard(bob, 1004, "baresip heard the phone")
        rows = self.wait_cdr(1)
        self.assertEqual(rows[0]["direction"], "tel-to-ip", rows)
        self.assertEqual(rows[0]["callee"], "200", rows)
        self.assertEqual(rows[0]["caller"], PHONE_NUMBERS[5], rows)


class FailureTest(CallTestCase):
    """Acceptance 3: busy, no answer, CANCEL, unknown number, all busy, codec mismatch."""

    def direct_uac(self, status, service, payload_types=(0, 101)):
        """SIPp calls the gateway directly (no proxy) and expects `status`."""
        peer = self.sipp(sipp_calls.uac_expect_failure(status, payload_types), service=service,
                         target=f"127.0.0.1:{self.sip_port}")
        code = peer.wait(20)
        self.assertEqual(code, 0, f"SIPp expected {status}\n{peer.trace()}\n{self.gateway_log()[-3000:]}")
        return peer

    def test_busy_line_answers_486(self):
        self.ok("line", "4", "offhook")
        time.sleep(0.3)
        self.direct_uac(486, PHONE_NUMBERS[4])

    def test_busy_far_end_gives_local_busy_tone(self):
        uas = self.sipp(sipp_calls.uas_answer(486), port=self.sipp_uas_port)
        self.ok("line", "2", "offhook")
        time.sleep(0.3)
        self.ok("line", "2", "dial", "486#")
        self.assertEqual(uas.wait(15), 0, uas.trace())
        time.sleep(1.2)  # past the 800 ms open-loop disconnect that tells the phone first
        self.assert_hears_one_of(2, BUSY_TONE, "busy tone after 486")

    def test_unknown_number_404(self):
        self.direct_uac(404, "9999")

    def test_all_lines_of_group_busy_503(self):
        self.ok("line", "7", "offhook")
        self.ok("line", "8", "offhook")
        time.sleep(0.3)
        self.direct_uac(503, "7000")

    def test_codec_mismatch_488(self):
        self.direct_uac(488, PHONE_NUMBERS[1], payload_types=(3,))

    def test_no_answer(self):
        alice = self.phone("100", tone_hz=697)
        alice.dial(f"sip:{PHONE_NUMBERS[2]}@{DOMAIN}")
        self.assertTrue(wait_for(lambda: "number=100" in self.line_status(2), timeout=8.0, step=0.2))
        closed = alice.wait_event("CALL_CLOSED", 10)
        self.assertIsNotNone(closed, alice.read_log()[-2000:])
        self.assertIn("480", closed.get("param", ""), closed)
        self.assertNotIn("ring ringing", self.line_status(2))

    def test_cancel_while_ringing(self):
        alice = self.phone("100", tone_hz=697)
        alice.dial(f"sip:{PHONE_NUMBERS[2]}@{DOMAIN}")
        self.assertTrue(wait_for(lambda: "number=100" in self.line_status(2), timeout=8.0, step=0.2))
        alice.hangup()
        self.assertTrue(self.wait_no_calls(), self.calls())
        rows = self.wait_cdr(1)
        self.assertEqual(rows[0]["ip_release"]["sip_code"], 487, rows)
        self.assertIsNone(rows[0]["connect_ms"], rows)


class SupplementaryTest(CallTestCase):
    """Acceptance 3: hold and resume by re-INVITE, blind transfer by REFER, call waiting
    with swap, three-way conference, FXO incoming with polarity-reversal disconnect."""

    def session_directions(self, line):
        listed = json.loads(self.ok("media", "list", "--json"))
        return {s.get("leg", 0): s.get("params", {}).get("direction", "DIRECTION_UNSPECIFIED")
                for s in listed.get("sessions", []) if s["line"] == line}

    def test_hold_and_resume_by_reinvite(self):
        alice = self.phone("100", tone_hz=697)
        alice.dial(f"sip:{PHONE_NUMBERS[3]}@{DOMAIN}")
        self.assertTrue(wait_for(lambda: "number=100" in self.line_status(3), timeout=8.0, step=0.2))
        self.ok("line", "3", "offhook")
        self.assertIsNotNone(alice.wait_event("CALL_ESTABLISHED", 5))
        time.sleep(0.8)
        self.assert_tone(3, 697, what="before hold")
        alice.command("hold")
        held = wait_for(lambda: self.session_directions(3).get(0) in ("DIRECTION_RECVONLY", "DIRECTION_INACTIVE"),
                        timeout=5.0, step=0.1)
        self.assertTrue(held, self.session_directions(3))
        alice.command("resume")
        resumed = wait_for(lambda: self.session_directions(3).get(0) in ("DIRECTION_SENDRECV",
                                                                          "DIRECTION_UNSPECIFIED"),
                           timeout=5.0, step=0.1)
        self.assertTrue(resumed, self.session_directions(3))
        time.sleep(0.8)
        self.assert_tone(3, 697, what="after resume")

    def test_blind_transfer_by_refer(self):
        alice = self.phone("100", tone_hz=697)
        carol = self.phone("202", tone_hz=1209, answer_auto=True)
        alice.dial(f"sip:{PHONE_NUMBERS[3]}@{DOMAIN}")
        self.assertTrue(wait_for(lambda: "number=100" in self.line_status(3), timeout=8.0, step=0.2))
        self.ok("line", "3", "offhook")
        self.assertIsNotNone(alice.wait_event("CALL_ESTABLISHED", 5))
        alice.command("transfer", f"sip:202@{DOMAIN}")
        self.assertIsNotNone(carol.wait_event("CALL_ESTABLISHED", 10),
                             f"{carol.read_log()[-2000:]}\n{self.gateway_log()[-4000:]}")
        self.assertIsNotNone(alice.wait_event("CALL_CLOSED", 10), alice.read_log()[-2000:])
        time.sleep(1.0)
        self.assert_tone(3, 1209, what="phone hears the transfer target")

    def test_call_waiting_and_swap(self):
        alice = self.phone("100", tone_hz=697)
        bob = self.phone("200", tone_hz=852)
        alice.dial(f"sip:{PHONE_NUMBERS[6]}@{DOMAIN}")
        self.assertTrue(wait_for(lambda: "number=100" in self.line_status(6), timeout=8.0, step=0.2))
        self.ok("line", "6", "offhook")
        self.assertIsNotNone(alice.wait_event("CALL_ESTABLISHED", 5))
        bob.dial(f"sip:{PHONE_NUMBERS[6]}@{DOMAIN}")
        # Call waiting: the phone gets the type 2 caller ID of the second caller.
        self.assertTrue(wait_for(lambda: "number=200" in self.line_status(6), timeout=8.0, step=0.2),
                        f"{self.line_status(6)}\n{self.gateway_log()[-4000:]}")
        self.ok("line", "6", "flash")
        self.assertIsNotNone(bob.wait_event("CALL_ESTABLISHED", 5), self.gateway_log()[-4000:])
        time.sleep(1.0)
        self.assert_tone(6, 852, what="after swap the phone hears the second caller")
        self.ok("line", "6", "flash")
        time.sleep(1.5)
        self.assert_tone(6, 697, what="after a second flash, the first caller again")

    def test_three_way_conference(self):
        if not RtpCapture.available():
            self.skipTest("needs tshark and root to capture on lo")
        alice = self.phone("201", tone_hz=697, answer_auto=True)
        bob = self.phone("202", tone_hz=1209, answer_auto=True)
        capture = RtpCapture(20000, 29999).start()
        self.addCleanup(capture.close)
        self.ok("line", "5", "offhook")
        time.sleep(0.3)
        self.ok("line", "5", "dial", "201#")
        self.assertIsNotNone(alice.wait_event("CALL_ESTABLISHED", 8), self.gateway_log()[-4000:])
        time.sleep(0.3)  # the keypad's last tone has ended
        self.ok("line", "5", "flash")
        time.sleep(0.5)
        self.ok("line", "5", "dial", "202#")
        self.assertIsNotNone(bob.wait_event("CALL_ESTABLISHED", 8), self.gateway_log()[-4000:])
        time.sleep(0.3)
        self.ok("line", "5", "flash")  # conference
        self.assertTrue(wait_for(lambda: all(self.session_conference(5)), timeout=5.0, step=0.1))
        legs = {s["leg"] if "leg" in s else 0: s for s in self.sessions(5)}
        self.ok("line", "5", "tone", "1633", "-10")
        time.sleep(1.0)
        # The phone hears both far ends.
        self.ok("line", "5", "record", os.path.join(self.dir, "line5.wav"), "0.5")
        time.sleep(0.8)
        line_samples = read_wav(os.path.join(self.dir, "line5.wav"))
        for hz in (697, 1209):
            self.assertGreater(rtp_peer.tone_level_dbm0(line_samples, hz), -14, f"phone hears {hz} Hz")
        self.ok("line", "5", "tone", "off")
        self.ok("line", "5", "onhook")  # ends both calls
        for peer in (alice, bob):
            self.assertIsNotNone(peer.wait_event("CALL_CLOSED", 5), peer.read_log()[-2000:])
        # Each far end was sent the other two at once: windows of the gateway's RTP to it
        # where both other tones are present near their -10 dBm0.
        streams = capture.streams()
        for leg, others in ((0, (1633, 1209)), (1, (1633, 697))):
            session = legs[leg]
            remote_port = int(session["remote"].rsplit(":", 1)[1])
            samples = streams.get((int(session["local_port"]), remote_port), [])
            both, levels = 0, []
            for start in range(0, len(samples) - 2000, 2000):
                window = samples[start:start + 2000]
                pair = [rtp_peer.tone_level_dbm0(window, hz) for hz in others]
                levels.append([round(v, 1) for v in pair])
                if all(v > -14 for v in pair):
                    both += 1
            self.assertGreaterEqual(both, 3, f"leg {leg} should carry {others}: levels per 0.25 s {levels}; "
                                             f"streams {[(k, len(v)) for k, v in streams.items()]}")

    def sessions(self, line):
        listed = json.loads(self.ok("media", "list", "--json"))
        return [s for s in listed.get("sessions", []) if s["line"] == line]

    def session_conference(self, line):
        listed = json.loads(self.ok("media", "list", "--json"))
        flags = [s.get("params", {}).get("conference", False) for s in listed.get("sessions", []) if s["line"] == line]
        return flags if len(flags) == 2 else [False]

    def test_fxo_incoming_with_polarity_reversal_disconnect(self):
        carol = self.phone("300", tone_hz=941, answer_auto=True)
        self.ok("line", str(FXO_LINE), "ring", "--cid-number", "5550123")
        self.assertIsNotNone(carol.wait_event("CALL_ESTABLISHED", 15),
                             f"{carol.read_log()[-2000:]}\n{self.gateway_log()[-4000:]}")
        self.ok("line", str(FXO_LINE), "reverse")
        self.assertIsNotNone(carol.wait_event("CALL_CLOSED", 5), self.gateway_log()[-4000:])
        rows = self.wait_cdr(1)
        self.assertEqual(rows[0]["line"], FXO_LINE, rows)
        self.assertEqual(rows[0]["released_by"], "tel", rows)


class FxoTest(CallTestCase):
    """FXO line 9 and its simulated exchange: IP-to-Tel calls dial the called number to
    the exchange before they connect (route "8" prefix -> line 9), and an exchange that
    signals the far end's hang-up with busy tone only (`line 9 busy`: no polarity
    reversal) ends the call, incoming or outgoing."""

    EXCHANGE_NUMBER = "85551234"

    def test_ip_to_tel_over_fxo_dials_the_exchange(self):
        peer = self.sipp(sipp_calls.uac_answered(hang_up_ms=4000), service=self.EXCHANGE_NUMBER,
                         target=f"127.0.0.1:{self.sip_port}")
        # Seized, dial tone, then the number (8 digits of 160 ms after the 1 s delay).
        self.assertTrue(wait_for(lambda: f"number {self.EXCHANGE_NUMBER}" in self.line_status(FXO_LINE),
                                 timeout=6.0, step=0.1),
                        f"{self.line_status(FXO_LINE)}\n{self.gateway_log()[-3000:]}")
        self.assertTrue(self.wait_call_state(FXO_LINE, "connected", timeout=3.0), self.calls())
        self.assertEqual(peer.wait(20), 0, f"{peer.trace()}\n{self.gateway_log()[-3000:]}")
        self.assertTrue(self.wait_no_calls(), self.calls())
        rows = self.wait_cdr(1)
        self.assertEqual(rows[0]["line"], FXO_LINE, rows)
        self.assertEqual(rows[0]["callee"], self.EXCHANGE_NUMBER, rows)
        self.assertIsNotNone(rows[0]["connect_ms"], rows)
        self.assertIn("fxo exchange line: idle", self.line_status(FXO_LINE))

    def test_busy_tone_from_the_exchange_ends_an_incoming_call(self):
        carol = self.phone("300", tone_hz=941, answer_auto=True)
        self.ok("line", str(FXO_LINE), "ring", "--cid-number", "5550123")
        self.assertIsNotNone(carol.wait_event("CALL_ESTABLISHED", 15),
                             f"{carol.read_log()[-2000:]}\n{self.gateway_log()[-4000:]}")
        time.sleep(0.5)
        self.ok("line", str(FXO_LINE), "busy")
        # No polarity reversal: only the tone says the far end is gone (3 on periods of
        # the US busy tone, 0.5 s on / 0.5 s off: 2.5 s).
        self.assertIn("polarity normal", self.line_status(FXO_LINE))
        self.assertIsNotNone(carol.wait_event("CALL_CLOSED", 8), self.gateway_log()[-4000:])
        rows = self.wait_cdr(1)
        self.assertEqual(rows[0]["line"], FXO_LINE, rows)
        self.assertEqual(rows[0]["released_by"], "tel", rows)
        self.assertIn("busy tone from the exchange", self.gateway_log())
        self.assertTrue(wait_for(lambda: "fxo exchange line: idle" in self.line_status(FXO_LINE), timeout=3.0),
                        self.line_status(FXO_LINE))

    def test_busy_tone_from_the_exchange_ends_an_ip_to_tel_call(self):
        peer = self.sipp(sipp_calls.uac_answered(hang_up_ms=None), service=self.EXCHANGE_NUMBER,
                         target=f"127.0.0.1:{self.sip_port}")
        self.assertTrue(self.wait_call_state(FXO_LINE, "connected", timeout=8.0),
                        f"{self.calls()}\n{self.gateway_log()[-3000:]}")
        # The exchange takes the number as complete 4 s after its last digit (ringback).
        self.assertTrue(wait_for(lambda: "fxo exchange line: ringback" in self.line_status(FXO_LINE),
                                 timeout=8.0, step=0.2), self.line_status(FXO_LINE))
        self.ok("line", str(FXO_LINE), "busy")
        # SIPp gets the gateway's BYE and answers it.
        self.assertEqual(peer.wait(20), 0, f"{peer.trace()}\n{self.gateway_log()[-3000:]}")
        rows = self.wait_cdr(1)
        self.assertEqual(rows[0]["released_by"], "tel", rows)


if __name__ == "__main__":
    unittest.main()
