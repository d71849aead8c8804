#!/usr/bin/env python3
"""Call load: SIPp calls linegate's simulated lines with G.711 RTP on every call, and
SIPp's own ceiling (SIPp UAC against SIPp UAS) on this machine, in the same run.

The gateway (`linegate run`, fresh for each repetition) has --lines simulated FXS lines
(default 240, numbers 3001..), two media processes, no registration, and sim
auto_answer_ms (default 100: each phone goes off-hook 100 ms after ringing starts and
on-hook when the gateway signals a disconnect). Calls to 9000 hunt the lines cyclically
(hunt group 'all', busy_status 503).

One call (the SIPp UAC scenario this script generates):
  INVITE (SDP: PCMA pt 8 + telephone-event 101), rtd timer 1 started
  optional 100/180/183, 200 OK (rtd 1 stops: the call setup latency INVITE -> 200), ACK
  play_pcap_audio /usr/share/sip-tester/g711a.pcap (PCMA, 50 packets/s), so every call
  carries G.711 RTP both ways (the gateway's RTP goes to SIPp's media port)
  pause --hold seconds (default 3)
  BYE (rtd timer 2 started), 200 OK (rtd 2 stops: release latency)
The SIPp ceiling runs the same UAC against a generated SIPp UAS (180, 200 with SDP, ACK,
BYE, 200; -rtp_echo), same hold time, no line limit.

Rate search, per side and per repetition: steps of offered calls per second (--rates,
default 10,20,30,40,45,50,60: the 240-line ceiling is near 49; --sipp-rates for the SIPp side), each
step one SIPp UAC run of rate x --step-seconds calls (default 20 s) at -r rate, with
-l --lines for the gateway (the lines bound concurrency) and no limit for SIPp vs SIPp
(--sipp-limit). A step passes when every call completed (successful + failed = attempted),
failed calls are under 0.1 % (--max-failure-percent), and the achieved rate of call
starts (from the per-call rtt records) is at least 95 % of the offered rate (SIPp's -l
throttles the rate silently when the lines are full). The search stops at the first
failing step; the maximum sustained rate is the highest passing step. With L lines the
ceiling is about L / (hold + setup + line release) calls per second: printed beside it,
from the measured setup latency and the line's release cycle: after the BYE, control
signals the disconnect to the phone (800 ms open loop), the auto-answering phone hangs
up when it ends, and an on-hook is recognised once the break outlasts a hook flash
(1000 ms): LINE_RELEASE_S = 1.8 s during which the line cannot take a new call.

Per step: calls attempted/successful/failed, failures by SIPp counter
(Failed*(C) of the -trace_stat CSV) and by SIP status received (from SIPp's error log),
achieved cps, setup latency p50/p99 and release p50 (ms, -trace_rtt -rtt_freq 1), the
highest CurrentCall SIPp saw (1 s samples), CPU per call (gateway: the sum over all its
processes, /proc/PID/stat, from the UAC's start to its exit, divided by the successful
calls; SIPp vs SIPp: UAC + UAS CPU), and for the gateway the CDRs written
(<runtime_dir>/cdr.jsonl) and the calls still listed by `linegatectl calls --json` after
SIPp exits (sampled only between steps: it loads the control process). As evidence that
media flowed: UDP datagrams that arrived on the machine per successful call
(/proc/net/snmp; g711a.pcap has 30 ms packets, so RTP both ways gives about
2 x 33 x hold + 6 SIP messages; other UDP traffic on the machine adds to it).
SIPp's response times have 1 ms resolution (SIPp vs SIPp setup is mostly 0 ms).

Before the gateway search one single call is placed (hold 0.2 s): if the gateway refuses
it (e.g. 480) or does not answer within --recv-timeout, the linegate side is reported as
not measured with what was received, and the script goes on with the SIPp side (exit 1).

The figures reported are medians over the repetitions (--runs, default 3, alternating
which side goes first) that completed; the whole script is bounded by --deadline
(default 12 min: steps that would not fit are skipped and reported). SIPp and the
gateway run in their own process groups and are killed on exit, error or Ctrl-C.
Output: a table per step, then a Markdown summary to paste into docs/PERFORMANCE.md.

    python3 bench/call_load.py --bin-dir build/release/bin
    python3 bench/call_load.py --only sipp --rates 5,10 --step-seconds 5 --runs 1
    python3 bench/call_load.py --rates 40,60,70,80 --hold 3 --runs 3
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ beside the sources it imports
# After a BYE the line is busy for the disconnect signal (calls: 800 ms) and the on-hook
# recognition (a break longer than a hook flash, 1000 ms) before it can ring again.
LINE_RELEASE_S = 1.8

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "integration"))
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "interop"))
from harness import free_port, pids_naming  # noqa: E402
from media_load import cpu_model, cpu_seconds_of, fmt, loadavg, median  # noqa: E402
from sipp_calls import HEADERS_OUT, _sdp, uas_answer  # noqa: E402

LOOPBACK = "127.0.0.1"
PCAP = "/usr/share/sip-tester/g711a.pcap"
CALLED = "9000"
CALLER = "5550001"
PAYLOAD_TYPES = (8, 101)  # PCMA + telephone-event


# --------------------------------------------------------------------------------------
# Scenarios


def uac_scenario(hold_ms):
    headers = HEADERS_OUT.format(caller=CALLER)
    in_dialog = f"""Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "SIPp" <sip:{CALLER}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
[last_To:]
Call-ID: [call_id]
Max-Forwards: 70"""
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="call load uac">
  <send retrans="500" start_rtd="1"><![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
{headers}
CSeq: 1 INVITE
Content-Type: application/sdp
Content-Length: [len]

{_sdp(PAYLOAD_TYPES)}
]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rtd="1"/>
  <send><![CDATA[
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
{in_dialog}
CSeq: 1 ACK
Content-Length: 0

]]></send>
  <nop><action><exec play_pcap_audio="{PCAP}"/></action></nop>
  <pause milliseconds="{hold_ms}"/>
  <send retrans="500" start_rtd="2"><![CDATA[
BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
{in_dialog}
CSeq: 2 BYE
Content-Length: 0

]]></send>
  <recv response="200" rtd="2"/>
</scenario>
"""


# --------------------------------------------------------------------------------------
# Processes


def kill_group(proc, wait=10):
    """SIGTERM, then SIGKILL, to the process group of a process we started in its own
    session (only that group)."""
    if proc is None:
        return
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            pass
        except ProcessLookupError:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        pass


def gateway_yaml(runtime_dir, sip_port, lines, auto_answer_ms, rtp_min, rtp_max, log_level):
    endpoints = "".join(f"    - line: {i}\n      phone_number: \"{3000 + i}\"\n" for i in range(1, lines + 1))
    line_list = ", ".join(str(i) for i in range(1, lines + 1))
    return f"""gateway:
  name: callload
runtime:
  runtime_dir: {runtime_dir}
  log_level: {log_level}
signaling:
  listen_address: {LOOPBACK}
  sip_port: {sip_port}
  registration:
    mode: none
  endpoints:
{endpoints}media:
  process_count: 2
  backend: kernel_sockets
  rtp_address: {LOOPBACK}
  rtp_port_min: {rtp_min}
  rtp_port_max: {rtp_max}
tdm:
  driver: sim
  cards:
    - name: sim0
      fxs_ports: {lines}
      sim:
        auto_answer_ms: {auto_answer_ms}
calls:
  codecs: [pcma, pcmu]
  hunt_groups:
    - name: all
      lines: [{line_list}]
      mode: cyclic
      busy_status: 503
  ip_to_tel_routes:
    - called: "{CALLED}$"
      hunt_group: all
"""


class Gateway:
    def __init__(self, args):
        self.bin_dir = args.bin_dir
        # Short: ipc:// socket paths are limited to ~107 bytes.
        self.dir = tempfile.mkdtemp(prefix="lg-cl-")
        self.runtime_dir = os.path.join(self.dir, "run")
        self.config = os.path.join(self.dir, "gw.yaml")
        self.log_path = os.path.join(self.dir, "gateway.log")
        self.cdr_path = os.path.join(self.runtime_dir, "cdr.jsonl")
        self.sip_port = free_port()
        with open(self.config, "w") as f:
            f.write(gateway_yaml(self.runtime_dir, self.sip_port, args.lines, args.auto_answer_ms,
                                 args.rtp_port_min, args.rtp_port_max, args.log_level))
        self.keep = args.keep
        self.process = None
        self.log = None

    @property
    def target(self):
        return f"{LOOPBACK}:{self.sip_port}"

    def ctl(self, *args, timeout=20):
        return subprocess.run([os.path.join(self.bin_dir, "linegatectl"), "-c", self.config, *args],
                              capture_output=True, text=True, timeout=timeout)

    def start(self, timeout=30):
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen([os.path.join(self.bin_dir, "linegate"), "run", "-c", self.config],
                                        stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"linegate exited {self.process.returncode}: {self.read_log()[-1500:]}")
            try:
                if self.ctl("status", timeout=5).returncode == 0:
                    return self
            except subprocess.TimeoutExpired:
                pass
            time.sleep(0.2)
        raise RuntimeError("gateway not healthy in time: " + self.read_log()[-1500:])

    def read_log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def pids(self):
        return pids_naming(self.runtime_dir, self.config)

    def cpu_seconds(self, pids):
        return sum(cpu_seconds_of(p) or 0.0 for p in pids)

    def active_calls(self):
        """Calls listed by `linegatectl calls --json`, or None if it fails."""
        try:
            r = self.ctl("calls", "--json", timeout=10)
            if r.returncode != 0:
                return None
            return len(json.loads(r.stdout).get("calls", []))
        except (subprocess.TimeoutExpired, ValueError, AttributeError):
            return None

    def cdr_count(self):
        try:
            with open(self.cdr_path, errors="replace") as f:
                return sum(1 for line in f if line.strip())
        except OSError:
            return 0

    def stop(self):
        kill_group(self.process, 15)
        for pid in self.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.log:
            self.log.close()
        prefix = "linegate" + "".join(c if c.isalnum() or c in "-._" else "_" for c in self.runtime_dir)
        try:
            for name in os.listdir("/dev/shm"):
                if name.startswith(prefix):
                    os.unlink(os.path.join("/dev/shm", name))
        except OSError:
            pass
        if self.keep:
            print(f"gateway directory kept: {self.dir}", flush=True)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


# --------------------------------------------------------------------------------------
# SIPp runs and their output


def parse_stat(path):
    """(last row as {column: value}, highest CurrentCall) of a SIPp -trace_stat CSV."""
    try:
        with open(path, errors="replace") as f:
            rows = [r.rstrip(";").split(";") for r in f.read().splitlines() if r.strip()]
    except OSError:
        return {}, None
    if len(rows) < 2:
        return {}, None
    head = rows[0]
    data = [dict(zip(head, r)) for r in rows[1:]]
    current = [int(d["CurrentCall"]) for d in data if d.get("CurrentCall", "").isdigit()]
    return data[-1], (max(current) if current else None)


def parse_rtt(path):
    """{rtd number: [(date_ms, response_ms)]} from a SIPp -trace_rtt CSV
    (Date_ms;response_time_ms;rtd_no)."""
    out = {}
    try:
        with open(path, errors="replace") as f:
            for line in f:
                parts = line.strip().rstrip(";").split(";")
                if len(parts) < 3:
                    continue
                try:
                    date, rt = float(parts[0]), float(parts[1])
                except ValueError:
                    continue  # the header
                out.setdefault(parts[2].strip(), []).append((date, rt))
    except OSError:
        pass
    return out


def udp_in_datagrams():
    """System-wide UDP datagrams that arrived (/proc/net/snmp Udp: InDatagrams + InErrors +
    NoPorts): on loopback, the RTP both ways plus SIP, i.e. evidence that media flowed
    (other traffic on the machine adds noise). InErrors counts what the SIPp UAC drops: it
    does not read its media socket, whose receive buffer fills within seconds."""
    try:
        with open("/proc/net/snmp") as f:
            rows = [line.split() for line in f if line.startswith("Udp:")]
        return sum(int(rows[1][rows[0].index(k)]) for k in ("InDatagrams", "InErrors", "NoPorts"))
    except (OSError, ValueError, IndexError):
        return 0


def percentile(values, p):
    if not values:
        return None
    values = sorted(values)
    k = (len(values) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def status_counts(error_log):
    """SIP statuses received in place of what the scenario expected, from SIPp's error log."""
    counts = {}
    try:
        with open(error_log, errors="replace") as f:
            text = f.read()
    except OSError:
        return counts
    for code, reason in re.findall(r"received 'SIP/2\.0 (\d{3}) ?([^\r\n']*)", text):
        key = f"{code} {reason.strip()}".strip()
        counts[key] = counts.get(key, 0) + 1
    return counts


def first_lines_matching(path, pattern, n=3):
    try:
        with open(path, errors="replace") as f:
            return [line.strip() for line in f if re.search(pattern, line)][:n]
    except OSError:
        return []


class SippUas:
    def __init__(self, workdir, label):
        self.dir = os.path.join(workdir, f"uas-{label}")
        os.makedirs(self.dir, exist_ok=True)
        self.scenario = os.path.join(self.dir, "uas.xml")
        with open(self.scenario, "w") as f:
            f.write(uas_answer(200, payload_types=PAYLOAD_TYPES))
        self.port = free_port()
        self.process = None

    @property
    def target(self):
        return f"{LOOPBACK}:{self.port}"

    def start(self):
        self.out = open(os.path.join(self.dir, "screen.txt"), "w")
        self.process = subprocess.Popen(
            ["sipp", "-sf", self.scenario, "-i", LOOPBACK, "-p", str(self.port), "-mp", str(free_port()),
             "-rtp_echo", "-nostdin", "-trace_err", "-error_file", os.path.join(self.dir, "errors.log"),
             "-max_recv_loops", "10000", "-max_sched_loops", "10000", "-buff_size", "4194304"],
            stdin=subprocess.DEVNULL, stdout=self.out, stderr=subprocess.STDOUT, cwd=self.dir,
            start_new_session=True)
        time.sleep(0.3)
        if self.process.poll() is not None:
            raise RuntimeError(f"SIPp UAS exited {self.process.returncode}: see {self.dir}/screen.txt")
        return self

    def cpu_seconds(self):
        return cpu_seconds_of(self.process.pid) or 0.0

    def stop(self):
        kill_group(self.process, 5)
        if self.process:
            self.out.close()


def run_uac(args, workdir, label, target, rate, calls, limit, hold_ms, cpu_probe, trace_msg=False):
    """One SIPp UAC run of `calls` calls at `rate`/s against `target`. cpu_probe() returns the
    CPU seconds of the peer (gateway processes or SIPp UAS) so far. Returns a result dict."""
    d = os.path.join(workdir, f"uac-{label}")
    os.makedirs(d, exist_ok=True)
    scenario = os.path.join(d, "uac.xml")
    with open(scenario, "w") as f:
        f.write(uac_scenario(hold_ms))
    stat = os.path.join(d, "stat.csv")
    errors = os.path.join(d, "errors.log")
    # The hard bound of one run: all calls started, plus hold, plus a receive timeout.
    bound = calls / rate + hold_ms / 1000.0 + args.recv_timeout + 15
    cmd = ["sipp", target, "-sf", scenario, "-s", CALLED, "-i", LOOPBACK, "-p", str(free_port()),
           "-mp", str(free_port()), "-m", str(calls), "-r", str(rate), "-rp", "1000",
           "-nostdin", "-trace_stat", "-stf", stat, "-fd", "1", "-trace_rtt", "-rtt_freq", "1",
           "-trace_err", "-error_file", errors, "-recv_timeout", str(int(args.recv_timeout * 1000)),
           "-timeout", f"{int(bound)}s", "-timeout_error",
           "-max_recv_loops", "10000", "-max_sched_loops", "10000", "-buff_size", "4194304"]
    if limit:
        cmd += ["-l", str(limit)]
    if trace_msg:
        cmd += ["-trace_msg", "-message_file", os.path.join(d, "messages.log")]
    load = loadavg()
    peer_before = cpu_probe()
    udp_before = udp_in_datagrams()
    started = time.monotonic()
    sipp_cpu = 0.0
    with open(os.path.join(d, "screen.txt"), "w") as screen:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=screen, stderr=subprocess.STDOUT, cwd=d,
                                start_new_session=True)
        rc = None
        try:
            while True:
                sipp_cpu = cpu_seconds_of(proc.pid) or sipp_cpu  # last sample before it exits
                try:
                    rc = proc.wait(0.5)
                    break
                except subprocess.TimeoutExpired:
                    pass
                if time.monotonic() - started > bound + 10:
                    rc = "killed"
                    break
        finally:
            kill_group(proc, 5)
    wall = time.monotonic() - started
    peer_cpu = cpu_probe() - peer_before
    udp = udp_in_datagrams() - udp_before
    last, max_current = parse_stat(stat)

    def num(name):
        try:
            return int(last.get(name, 0))
        except ValueError:
            return 0

    rtt_files = [os.path.join(d, n) for n in os.listdir(d) if n.endswith("_rtt.csv")]
    rtt = parse_rtt(rtt_files[0]) if rtt_files else {}
    setup = rtt.get("1", [])
    release = [rt for _, rt in rtt.get("2", [])]
    starts = sorted(date - rt for date, rt in setup)
    achieved = (len(starts) - 1) / ((starts[-1] - starts[0]) / 1000.0) if len(starts) > 1 and starts[-1] > starts[0] \
        else None
    successful, failed = num("SuccessfulCall(C)"), num("FailedCall(C)")
    failures = {k[len("Failed"):-len("(C)")]: int(v) for k, v in last.items()
                if k.startswith("Failed") and k.endswith("(C)") and k != "FailedCall(C)" and v.isdigit() and int(v)}
    for k in ("Retransmissions(C)", "OutOfCallMsgs(C)", "DeadCallMsgs(C)"):
        if num(k):
            failures[k[:-3]] = num(k)
    return {
        "label": label, "rate": rate, "attempted": calls, "created": num("TotalCallCreated") or num("OutgoingCall(C)"),
        "successful": successful, "failed": failed, "failures": failures, "statuses": status_counts(errors),
        "achieved_cps": achieved, "setup_ms": [rt for _, rt in setup], "release_ms": release,
        "setup_p50": percentile([rt for _, rt in setup], 50), "setup_p99": percentile([rt for _, rt in setup], 99),
        "release_p50": percentile(release, 50), "max_current": max_current, "rc": rc, "wall_s": wall,
        "load": load, "peer_cpu_s": peer_cpu, "sipp_cpu_s": sipp_cpu, "dir": d,
        "udp_per_call": udp / successful if successful else None,
    }


def judge(r, args):
    """Sets r['passed'] and r['why'] (the reasons a step failed)."""
    why = []
    if r["rc"] == "killed":
        why.append("SIPp did not finish in time")
    if r["successful"] + r["failed"] < r["attempted"]:
        why.append(f"{r['attempted'] - r['successful'] - r['failed']} calls not completed")
    if r["failed"] * 100.0 >= args.max_failure_percent * r["attempted"] or r["successful"] == 0:
        why.append(f"{r['failed']} failed")
    if r["achieved_cps"] is None or r["achieved_cps"] < args.min_rate_fraction * r["rate"]:
        why.append(f"achieved {fmt(r['achieved_cps'], '{:.1f}')} cps")
    r["passed"] = not why
    r["why"] = ", ".join(why)
    return r


# --------------------------------------------------------------------------------------
# The two sides


def step_bound(args, rate):
    return args.step_seconds + args.hold + args.recv_timeout + 25


def preflight(args, gw, workdir, label):
    """One call with a short hold; None if it succeeded, else what went wrong."""
    r = run_uac(args, workdir, f"{label}-preflight", gw.target, 1, 1, 1, 200, lambda: 0.0, trace_msg=True)
    if r["successful"] == 1:
        return None
    what = []
    if r["statuses"]:
        what.append("the gateway answered " + ", ".join(r["statuses"]))
    else:
        msgs = os.path.join(r["dir"], "messages.log")
        responses = first_lines_matching(msgs, r"^SIP/2\.0 \d{3}")
        what.append("responses received: " + (", ".join(responses) if responses else
                                               f"none within {args.recv_timeout:.0f} s"))
    if r["failures"]:
        what.append("SIPp failures: " + ", ".join(f"{k} {v}" for k, v in r["failures"].items()))
    errors = first_lines_matching(os.path.join(r["dir"], "errors.log"), r"\S", 2)
    if errors:
        what.append("SIPp: " + " / ".join(errors)[:300])
    return "single test call failed: " + "; ".join(what)


def search_linegate(args, workdir, run, results, skipped, started):
    label = f"{run}-linegate"
    gw = None
    try:
        gw = Gateway(args).start()
        reason = preflight(args, gw, workdir, label)
        if reason:
            log_tail = [line for line in gw.read_log().splitlines() if line.strip()][-2:]
            results.append({"who": "linegate", "run": run,
                            "error": reason + " (is call handling wired? last gateway log lines: "
                            + " / ".join(log_tail)[-300:] + ")"})
            print(f"{label}: not measured: {reason}", flush=True)
            return
        for rate in args.rate_list:
            if time.monotonic() - started + step_bound(args, rate) > args.deadline:
                skipped.append(f"{label} @{rate}")
                continue
            cdr_before = gw.cdr_count()
            pids = gw.pids()  # again each step: a restarted process has a new pid
            r = run_uac(args, workdir, f"{label}-{rate}", gw.target, rate, int(rate * args.step_seconds),
                        args.lines, int(args.hold * 1000), lambda: gw.cpu_seconds(pids))
            r.update(who="linegate", run=run)
            r["cdrs"] = gw.cdr_count() - cdr_before
            r["left_active"] = gw.active_calls()
            judge(r, args)
            results.append(r)
            print_step(r)
            if not r["passed"]:
                break
            # Lines still busy (a late hang-up) would fail the next step for the wrong reason.
            t = time.monotonic()
            while r["left_active"] and time.monotonic() - t < 10:
                time.sleep(1)
                r["left_active"] = gw.active_calls()
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        results.append({"who": "linegate", "run": run, "error": str(e)[-500:]})
        print(f"{label}: failed: {str(e)[-500:]}", flush=True)
    finally:
        if gw:
            gw.stop()


def search_sipp(args, workdir, run, results, skipped, started):
    label = f"{run}-sipp"
    for rate in args.sipp_rate_list:
        if time.monotonic() - started + step_bound(args, rate) > args.deadline:
            skipped.append(f"{label} @{rate}")
            continue
        uas = None
        try:
            uas = SippUas(workdir, f"{label}-{rate}").start()
            r = run_uac(args, workdir, f"{label}-{rate}", uas.target, rate, int(rate * args.step_seconds),
                        args.sipp_limit, int(args.hold * 1000), uas.cpu_seconds)
        except (RuntimeError, OSError, subprocess.SubprocessError) as e:
            results.append({"who": "SIPp", "run": run, "error": str(e)[-500:]})
            print(f"{label}: failed: {str(e)[-500:]}", flush=True)
            return
        finally:
            if uas:
                uas.stop()
        r.update(who="SIPp", run=run)
        judge(r, args)
        results.append(r)
        print_step(r)
        if not r["passed"]:
            break


# --------------------------------------------------------------------------------------
# Report


def cpu_per_call_ms(r):
    return 1000.0 * r["peer_cpu_s"] / r["successful"] if r.get("successful") else None


def print_step(r):
    fails = ", ".join(f"{k} {v}" for k, v in {**r["failures"], **r["statuses"]}.items()) or "-"
    extra = ""
    if r["who"] == "linegate":
        extra = f", CDRs {r.get('cdrs')}, active after {r.get('left_active')}"
    print(f"{r['label']}: {'PASS' if r['passed'] else 'FAIL ' + r['why']}: {r['successful']}/{r['attempted']} ok, "
          f"{r['failed']} failed ({fails}), achieved {fmt(r['achieved_cps'], '{:.1f}')} cps, setup p50/p99 "
          f"{fmt(r['setup_p50'], '{:.1f}')}/{fmt(r['setup_p99'], '{:.1f}')} ms, max concurrent {r['max_current']}, "
          f"UDP datagrams/call {fmt(r['udp_per_call'], '{:.0f}')}, peer CPU {fmt(cpu_per_call_ms(r), '{:.2f}')} ms/call{extra}, load {r['load']}", flush=True)


def print_table(results):
    print("\n| step | who | offered cps | achieved cps | attempted | ok | failed | failures | setup p50 ms "
          "| setup p99 ms | release p50 ms | max concurrent | UDP datagrams/call | peer CPU ms/call | SIPp UAC CPU ms/call | CDRs "
          "| active after | load avg | result |")
    print("|" + "---|" * 19)
    for r in results:
        if "error" in r:
            error = " ".join(r["error"].split()).replace("|", "/")
            print(f"| {r['run']}-{r['who']} | {r['who']} | | | | | | | | | | | | | | | | | not measured: "
                  f"{error[:300]} |")
            continue
        fails = ", ".join(f"{k} {v}" for k, v in {**r["failures"], **r["statuses"]}.items()) or "-"
        print(f"| {r['label']} | {r['who']} | {r['rate']} | {fmt(r['achieved_cps'], '{:.1f}')} | {r['attempted']} "
              f"| {r['successful']} | {r['failed']} | {fails} | {fmt(r['setup_p50'], '{:.1f}')} "
              f"| {fmt(r['setup_p99'], '{:.1f}')} | {fmt(r['release_p50'], '{:.1f}')} | {r['max_current']} "
              f"| {fmt(r['udp_per_call'], '{:.0f}')} "
              f"| {fmt(cpu_per_call_ms(r))} "
              f"| {fmt(1000.0 * r['sipp_cpu_s'] / r['successful'] if r['successful'] else None)} "
              f"| {r.get('cdrs', '')} | {'' if r.get('left_active') is None else r['left_active']} | {r['load']} "
              f"| {'pass' if r['passed'] else 'FAIL: ' + r['why']} |")


def side_summary(results, who, rates):
    """Per complete run: the highest passing step (or None when the first failed)."""
    runs = sorted({r["run"] for r in results if r["who"] == who})
    per_run = []
    for run in runs:
        steps = [r for r in results if r["who"] == who and r["run"] == run]
        if any("error" in r for r in steps):
            continue
        passed = [r for r in steps if r["passed"]]
        failed = [r for r in steps if not r["passed"]]
        if not failed and (not steps or steps[-1]["rate"] != rates[-1]):
            continue  # cut off by the deadline: no ceiling known
        best = max(passed, key=lambda r: r["rate"]) if passed else None
        per_run.append({"run": run, "best": best, "ceiling_hit": bool(failed), "steps": steps})
    return per_run


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin-dir", default=os.path.join(SOURCE_DIR, "build", "release", "bin"))
    parser.add_argument("--lines", type=int, default=240, help="simulated FXS lines (default 240)")
    parser.add_argument("--auto-answer-ms", type=int, default=100, help="sim auto_answer_ms (default 100)")
    parser.add_argument("--hold", type=float, default=3.0, help="seconds between ACK and BYE (default 3)")
    parser.add_argument("--rates", default="10,20,30,40,45,50,60",
                        help="offered calls per second, ascending (gateway side)")
    parser.add_argument("--sipp-rates", default="50,100,200,300,400",
                        help="the same for SIPp vs SIPp (default 50,100,200,300,400: it has no line limit)")
    parser.add_argument("--step-seconds", type=float, default=20.0,
                        help="length of one step: rate x this many calls (default 20)")
    parser.add_argument("--sipp-limit", type=int, default=0,
                        help="SIPp -l for SIPp vs SIPp (default 0: no limit; the gateway side uses --lines)")
    parser.add_argument("--max-failure-percent", type=float, default=0.1,
                        help="a step passes with fewer failed calls than this (default 0.1 %%)")
    parser.add_argument("--min-rate-fraction", type=float, default=0.95,
                        help="a step passes when calls started at this fraction of the offered rate (default 0.95)")
    parser.add_argument("--recv-timeout", type=float, default=10.0,
                        help="SIPp -recv_timeout, s: a call waiting longer for a message fails (default 10)")
    parser.add_argument("--runs", type=int, default=3, help="repetitions, median reported (default 3)")
    parser.add_argument("--only", choices=["sipp", "linegate"], help="measure one side only")
    parser.add_argument("--rtp-port-min", type=int, default=20000,
                        help="gateway media.rtp_port_min (default 20000: below the ephemeral range SIPp's ports come from)")
    parser.add_argument("--rtp-port-max", type=int, default=29999)
    parser.add_argument("--log-level", default="warn", help="linegate runtime.log_level (default warn)")
    parser.add_argument("--deadline", type=float, default=12 * 60.0,
                        help="bound of the whole script, s (default 720): steps that would not fit are skipped")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (SIPp stats, rtt, logs)")
    args = parser.parse_args()
    started = time.monotonic()
    args.bin_dir = os.path.abspath(args.bin_dir)
    args.rate_list = [int(x) for x in args.rates.split(",") if x.strip()]
    args.sipp_rate_list = [int(x) for x in (args.sipp_rates or args.rates).split(",") if x.strip()]
    if not shutil.which("sipp"):
        sys.exit("sipp not found (apt-get install sip-tester)")
    if not os.path.exists(PCAP):
        sys.exit(f"{PCAP} not found (package sip-tester)")
    if args.only != "sipp" and not os.access(os.path.join(args.bin_dir, "linegate"), os.X_OK):
        sys.exit(f"no linegate in {args.bin_dir}; build the release binaries first (or --only sipp)")

    workdir = tempfile.mkdtemp(prefix="lg-callload-")
    nproc = os.cpu_count()
    command = "python3 bench/call_load.py " + " ".join(sys.argv[1:])
    print(f"# call load: {args.lines} lines, hold {args.hold:g} s, steps {args.step_seconds:g} s, rates "
          f"{args.rate_list} (SIPp {args.sipp_rate_list}), {args.runs} runs, nproc={nproc}, CPU {cpu_model()!r}, "
          f"load average {loadavg()}; work directory {workdir}", flush=True)
    results, skipped = [], []
    try:
        for run in range(1, args.runs + 1):
            order = ["sipp", "linegate"] if run % 2 == 1 else ["linegate", "sipp"]
            for who in [args.only] if args.only else order:
                if who == "sipp":
                    search_sipp(args, workdir, run, results, skipped, started)
                else:
                    search_linegate(args, workdir, run, results, skipped, started)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    print_table(results)

    lg = side_summary(results, "linegate", args.rate_list)
    sp = side_summary(results, "SIPp", args.sipp_rate_list)

    def best_rates(per_run):
        return [p["best"]["rate"] if p["best"] else 0 for p in per_run]

    def at_best(per_run, key):
        return median([p["best"][key] for p in per_run if p["best"]])

    print(f"\n## Call load: SIPp -> linegate, {args.lines} simulated lines, G.711 RTP on every call\n")
    print(f"- command: `{command}`")
    print(f"- machine: nproc={nproc}, CPU {cpu_model()}, load average at the end {loadavg()} "
          f"(per step in the table above)")
    print(f"- call: INVITE (PCMA + telephone-event) -> 200 -> ACK, g711a.pcap played, hold {args.hold:g} s, BYE -> 200; "
          f"sim auto_answer_ms {args.auto_answer_ms}; steps {args.step_seconds:g} s at {args.rates} cps; pass: "
          f"all calls completed, < {args.max_failure_percent:g} % failed, >= {args.min_rate_fraction:.0%} of the "
          f"offered rate achieved")
    lg_errors = [r for r in results if r["who"] == "linegate" and "error" in r]
    if lg:
        rates = best_rates(lg)
        p50, p99, rel = at_best(lg, "setup_p50"), at_best(lg, "setup_p99"), at_best(lg, "release_p50")
        cpu = median([cpu_per_call_ms(p["best"]) for p in lg if p["best"]])
        conc = median([max((s["max_current"] or 0) for s in p["steps"]) for p in lg])
        fails = {}
        for p in lg:
            for s in p["steps"]:
                for k, v in {**s["failures"], **s["statuses"]}.items():
                    fails[k] = fails.get(k, 0) + v
        capped = "" if all(p["ceiling_hit"] for p in lg) else " (some runs passed the highest step tried)"
        print(f"- linegate max sustained: {median(rates):g} calls/s{capped} (runs: {', '.join(map(str, rates))}), "
              f"median of {len(lg)} runs")
        print(f"- linegate call setup INVITE -> 200 at that rate: p50 {fmt(p50, '{:.1f}')} ms, "
              f"p99 {fmt(p99, '{:.1f}')} ms (includes auto_answer_ms {args.auto_answer_ms}); release BYE -> 200 "
              f"p50 {fmt(rel, '{:.1f}')} ms")
        print(f"- linegate max concurrent calls (SIPp CurrentCall, any step): {fmt(conc, '{:.0f}')} "
              f"(lines: {args.lines})")
        if p50 is not None and rel is not None:
            cycle = args.hold + p50 / 1000 + rel / 1000 + LINE_RELEASE_S
            print(f"- line-bound ceiling: {args.lines} / ({args.hold:g} s hold + {p50 / 1000:.3f} s setup + "
                  f"{rel / 1000:.3f} s BYE + {LINE_RELEASE_S} s line release) = {args.lines / cycle:.1f} calls/s")
        print(f"- linegate CPU per call (all gateway processes, at the max sustained rate): {fmt(cpu)} ms")
        cdrs = [(p["best"].get("cdrs"), p["best"]["successful"]) for p in lg if p["best"]]
        left = [s.get("left_active") for p in lg for s in p["steps"] if s.get("left_active")]
        print(f"- cross-check at that rate: CDRs written / calls successful per run: "
              f"{', '.join(f'{c}/{n}' for c, n in cdrs)}; calls still listed after a step: "
              f"{', '.join(map(str, left)) if left else 'none'}")
        print(f"- failures by type (all steps): "
              f"{', '.join(f'{k} {v}' for k, v in fails.items()) if fails else 'none'}")
    elif args.only != "sipp":
        print("- linegate: not measured" + (": " + " ".join(lg_errors[0]["error"].split())[:500] if lg_errors else
                                            " (no complete run within the deadline)"))
    if sp:
        rates = best_rates(sp)
        capped = all(not p["ceiling_hit"] for p in sp)
        print(f"- SIPp UAC -> SIPp UAS (-rtp_echo), same scenario: "
              f"{'passed the highest step tried, ' if capped else ''}{median(rates):g} calls/s "
              f"(runs: {', '.join(map(str, rates))}); setup p50/p99 {fmt(at_best(sp, 'setup_p50'), '{:.1f}')}/"
              f"{fmt(at_best(sp, 'setup_p99'), '{:.1f}')} ms; UAC + UAS CPU per call "
              f"{fmt(median([cpu_per_call_ms(p['best']) + 1000.0 * p['best']['sipp_cpu_s'] / p['best']['successful'] for p in sp if p['best']]))} ms")
        if lg:
            print(f"- ratio linegate/SIPp max sustained calls/s: "
                  f"{median(best_rates(lg)) / median(rates):.2f}" if median(rates) else "")
    elif args.only != "linegate":
        print("- SIPp vs SIPp: no complete run within the deadline")
    if skipped:
        print(f"- skipped to stay within {args.deadline:.0f} s: {', '.join(skipped)}")
    print(f"- total time {time.monotonic() - started:.0f} s")
    if args.only == "sipp":
        return 0 if sp else 1
    return 0 if lg and (sp or args.only) else 1


if __name__ == "__main__":
    sys.exit(main())
