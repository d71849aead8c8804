#!/usr/bin/env python3
"""Registration load against Kamailio: linegate beside SIPp, in the same run.

One Kamailio registrar (auth_db over db_text, usrloc in memory) holds 2 x N users:
N for linegate (lg00001...) and N for SIPp (sp00001...). Each repetition measures, in
alternating order, on a freshly started Kamailio (empty location table):

  SIPp      a UAC scenario REGISTER -> 401 -> REGISTER with [authentication] -> 200,
            users and passwords from an injection CSV (-auth_uri gw.test), -m N, a
            high -r with -l bounding the calls in flight, -buff_size 4 MB; wall time
            from SIPp's start to its exit.
  linegate  `linegate run` with N accounts in one proxy set pointing at Kamailio
            (max_new_per_second 5000 by default, see --max-new-per-second); time
            from the first REGISTER (the first 'registering' log line: the first
            REGISTER leaves in the same loop turn) until `linegatectl registrations
            --json` shows N registered. The rate is N over the time from the first
            REGISTER to the last 'registered' log line (the last 200 OK processed);
            the rate until linegatectl sees them all (polling a 10,000-entry listing
            adds 0.5-0.7 s) and the time from `linegate run` are reported beside it.

Each side is checked at Kamailio at the end (the linegate side watches its own log
while running, and asks Kamailio only once all are logged: polling Kamailio during a
run would load the CPUs it needs, which the SIPp side does not do), with the
ul.dump RPC (brief: AORs only) counted per user prefix. kamcmd refuses a dump of
10,000 bindings ("ERROR: reply too big"), so the same RPC goes over jsonrpcs' FIFO.
Also recorded: REGISTERs Kamailio received (core:rcv_requests_register; 2 x N without
retransmissions), system-wide UDP receive-buffer drops, CPU time of Kamailio and of
linegate-signaling. Prints a table and a Markdown summary (median of the repetitions,
ratio linegate/SIPp, nproc, CPU model, load average at each measurement).

    python3 bench/registration_load.py --bin-dir build/release/bin

Every measurement is bounded (--run-timeout, default 110 s) and the whole script too
(--deadline, default 14 min: repetitions that would not fit are skipped and reported).
"""
import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "interop"))
from kamailio import Kamailio, free_udp_port  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
from harness import pids_naming  # noqa: E402  (one /proc scan for tests and benches)

DOMAIN = "gw.test"


# --------------------------------------------------------------------------------------
# Kamailio


class LoadKamailio(Kamailio):
    """The interop harness's registrar, tuned for load: more UDP children, a larger
    usrloc hash table, shared memory for 20,000 contacts, and a cheap counter of the
    location table (usrloc statistics) for polling."""

    def __init__(self, users, port, children, shm_mb):
        super().__init__(users, domain=DOMAIN, port=port, min_expires=60)
        self.children = children
        self.shm_mb = shm_mb

    def _write_files(self):
        super()._write_files()
        with open(self.cfg_path) as f:
            cfg = f.read()
        # UDP children; a receive buffer up to net.core.rmem_max (default probe stops at 256 KB).
        cfg = cfg.replace("children=2\n", f"children={self.children}\nmaxbuffer=4194304\n", 1)
        # `kamcmd ul.dump` of 20,000 bindings exceeds the default RPC reply buffer (KB).
        # ul.dump of 10,000 bindings is too big for kamcmd ("ERROR: reply too big"): the
        # same RPC over jsonrpcs' FIFO has no such limit.
        cfg = cfg.replace('loadmodule "ctl.so"\n', 'loadmodule "ctl.so"\nloadmodule "jsonrpcs.so"\n'
                          'modparam("jsonrpcs", "transport", 2)\n'
                          f'modparam("jsonrpcs", "fifo_name", "{self.dir}/rpc.fifo")\n'
                          f'modparam("jsonrpcs", "fifo_reply_dir", "{self.dir}/")\n', 1)
        cfg = cfg.replace('modparam("ctl", "binrpc",', 'modparam("ctl", "binrpc_max_body_size", 65536)\n'
                          'modparam("ctl", "binrpc_struct_max_body_size", 65536)\nmodparam("ctl", "binrpc",', 1)
        cfg = cfg.replace('modparam("usrloc", "db_mode", 0)\n',
                          'modparam("usrloc", "db_mode", 0)\nmodparam("usrloc", "hash_size", 14)\n', 1)
        with open(self.cfg_path, "w") as f:
            f.write(cfg)

    def start(self, timeout=20):
        # As Kamailio.start, with -m (shared memory, MB).
        self._write_files()
        check = subprocess.run(["kamailio", "-c", "-f", self.cfg_path], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError("kamailio configuration rejected:\n" + check.stderr[-3000:])
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(["kamailio", "-f", self.cfg_path, "-DD", "-E", "-Y", self.dir,
                                         "-m", str(self.shm_mb)],
                                        stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("kamailio exited:\n" + self.read_log()[-3000:])
            if os.path.exists(os.path.join(self.dir, "ctl.sock")) and self._answers_options():
                return self
            time.sleep(0.1)
        raise RuntimeError("kamailio did not come up:\n" + self.read_log()[-3000:])

    def stats(self, *names):
        """Kamailio counters by name (e.g. core:rcv_requests_register), -1 if missing."""
        try:
            out = self.kamcmd("stats.get_statistics", "all").stdout
        except subprocess.TimeoutExpired:
            out = ""
        values = dict(re.findall(r"^(\S+)\s*=\s*(\d+)", out, re.M))
        return {n: int(values.get(n, -1)) for n in names}

    def registered_count(self):
        """Records in the location table (usrloc:registered_users), or -1."""
        try:
            out = self.kamcmd("stats.get_statistics", "usrloc:").stdout
        except subprocess.TimeoutExpired:
            return -1
        m = re.search(r"registered_users\s*=\s*(\d+)", out)
        return int(m.group(1)) if m else -1

    def rpc_fifo(self, method, *params, timeout=20):
        """One RPC over jsonrpcs' FIFO; the decoded reply, or None."""
        name = f"reply{time.time_ns()}"  # jsonrpcs refuses names with a dot
        reply_path = os.path.join(self.dir, name)
        os.mkfifo(reply_path)
        try:
            request = json.dumps({"jsonrpc": "2.0", "method": method, "params": list(params),
                                  "reply_name": name, "id": 1})
            fd = os.open(os.path.join(self.dir, "rpc.fifo"), os.O_WRONLY | os.O_NONBLOCK)
            try:
                os.write(fd, (request + "\n").encode())
            finally:
                os.close(fd)
            # Non-blocking open of the read end, then read until Kamailio closes it.
            fd = os.open(reply_path, os.O_RDONLY | os.O_NONBLOCK)
            chunks = []
            deadline = time.monotonic() + timeout
            writer_seen = False
            try:
                while time.monotonic() < deadline:
                    try:
                        data = os.read(fd, 1 << 20)
                    except BlockingIOError:
                        data = None
                    if data:
                        chunks.append(data)
                        writer_seen = True
                        continue
                    if data == b"" and writer_seen:
                        break
                    time.sleep(0.01)
            finally:
                os.close(fd)
            return json.loads(b"".join(chunks).decode())
        except (OSError, ValueError):
            return None
        finally:
            os.unlink(reply_path)

    def aor_counts(self, prefixes):
        """AORs in the location table (RPC ul.dump brief) per user prefix, or -1 each."""
        reply = self.rpc_fifo("ul.dump", "brief")
        if not reply or "result" not in reply:
            return {p: -1 for p in prefixes}
        aors = set()
        for domain in reply["result"].get("Domains", []):
            for aor in domain.get("Domain", {}).get("AoRs", []):
                aors.add(aor.get("AoR", ""))
        return {p: sum(1 for a in aors if a.startswith(p)) for p in prefixes}

    def cpu_seconds(self):
        """User+system CPU time of every Kamailio process so far."""
        return sum(cpu_seconds_of(pid) for pid in [self.process.pid, *children_of(self.process.pid)])


# --------------------------------------------------------------------------------------
# Helpers


def children_of(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def cpu_seconds_of(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def udp_rcvbuf_errors():
    """System-wide UDP receive-buffer drops (/proc/net/snmp Udp: RcvbufErrors)."""
    try:
        with open("/proc/net/snmp") as f:
            rows = [line.split() for line in f if line.startswith("Udp:")]
        return int(rows[1][rows[0].index("RcvbufErrors")])
    except (OSError, ValueError, IndexError):
        return -1


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def loadavg():
    return "%.2f %.2f %.2f" % os.getloadavg()


def log_time(line):
    """Seconds since the epoch of a linegate log line (UTC ISO timestamp first)."""
    stamp = line.split(" ", 1)[0].rstrip("Z")
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=timezone.utc).timestamp()


# --------------------------------------------------------------------------------------
# SIPp

SIPP_SCENARIO = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="register with digest authentication">
  <send retrans="500">
    <![CDATA[

      REGISTER sip:{domain} SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: <sip:[field0]@{domain}>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[field0]@{domain}>
      Call-ID: [call_id]
      CSeq: 1 REGISTER
      Contact: <sip:[field0]@[local_ip]:[local_port]>
      Max-Forwards: 70
      Expires: 3600
      User-Agent: SIPp
      Content-Length: 0

    ]]>
  </send>

  <recv response="401" auth="true"/>

  <send retrans="500">
    <![CDATA[

      REGISTER sip:{domain} SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: <sip:[field0]@{domain}>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[field0]@{domain}>
      Call-ID: [call_id]
      CSeq: 2 REGISTER
      Contact: <sip:[field0]@[local_ip]:[local_port]>
      [field2]
      Max-Forwards: 70
      Expires: 3600
      User-Agent: SIPp
      Content-Length: 0

    ]]>
  </send>

  <recv response="200"/>
</scenario>
"""


def run_sipp(args, kam, users, workdir, label):
    scenario = os.path.join(workdir, "register_auth.xml")
    with open(scenario, "w") as f:
        f.write(SIPP_SCENARIO.format(domain=DOMAIN))
    csv = os.path.join(workdir, "sipp_users.csv")
    with open(csv, "w") as f:
        f.write("SEQUENTIAL\n")
        for user, password in users:
            # SIPp 3.6.1 does not expand [field0] inside [authentication username=...]
            # (it emits the field before the keyword and an empty username); a whole
            # [authentication] keyword as a CSV field is expanded.
            f.write(f"{user};{password};[authentication username={user} password={password}];\n")
    stat = os.path.join(workdir, f"sipp_stat_{label}.csv")
    errors = os.path.join(workdir, f"sipp_errors_{label}.log")
    cmd = ["sipp", f"127.0.0.1:{kam.port}", "-sf", scenario, "-inf", csv, "-m", str(len(users)),
           "-r", str(args.sipp_rate), "-rp", "1000", "-l", str(args.sipp_limit),
           "-i", "127.0.0.1", "-p", str(free_udp_port()), "-auth_uri", DOMAIN,
           "-nostdin", "-trace_stat", "-stf", stat, "-fd", "1",
           "-trace_err", "-error_file", errors,
           "-timeout", f"{int(args.run_timeout)}s", "-timeout_error",
           "-max_recv_loops", "10000", "-max_sched_loops", "10000", "-buff_size", "4194304"]
    before = kam.registered_count()
    cpu_before = kam.cpu_seconds()
    drops_before = udp_rcvbuf_errors()
    load = loadavg()
    started = time.monotonic()
    with open(os.path.join(workdir, f"sipp_screen_{label}.txt"), "w") as screen:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=screen, stderr=subprocess.STDOUT)
        try:
            rc = proc.wait(args.run_timeout + 10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            rc = "killed"
    wall = time.monotonic() - started
    kam_cpu = kam.cpu_seconds() - cpu_before
    drops = udp_rcvbuf_errors() - drops_before
    successful, failed, elapsed = parse_sipp_stat(stat)
    counts = kam.aor_counts(["sp", "lg"])
    kstats = kam.stats("core:rcv_requests_register", "registrar:accepted_regs")
    return {
        "udp_drops": drops, "kam_registers": kstats["core:rcv_requests_register"],
        "kam_accepted": kstats["registrar:accepted_regs"],
        "who": "SIPp", "label": label, "load": load, "rc": rc, "wall_s": wall,
        "successful": successful, "failed": failed, "sipp_elapsed_s": elapsed,
        "kamailio_before": before, "ul_dump": counts["sp"], "ul_dump_other": counts["lg"],
        "kamailio_cpu_s": kam_cpu,
        "rate": (successful or 0) / wall if wall > 0 else 0.0,
    }


def parse_sipp_stat(path):
    """(SuccessfulCall(C), FailedCall(C), ElapsedTime(C) in s) of the last row."""
    try:
        with open(path) as f:
            rows = [r for r in f.read().splitlines() if r.strip()]
    except OSError:
        return None, None, None
    if len(rows) < 2:
        return None, None, None
    head = rows[0].split(";")
    last = rows[-1].split(";")
    col = {name: i for i, name in enumerate(head)}

    def value(name):
        i = col.get(name)
        return last[i] if i is not None and i < len(last) else None

    elapsed = value("ElapsedTime(C)")
    seconds = None
    if elapsed:
        m = re.match(r"(\d+):(\d+):(\d+)(?::(\d+))?", elapsed)
        if m:
            h, mi, s, ms = m.groups()
            seconds = int(h) * 3600 + int(mi) * 60 + int(s) + (int(ms) / 1e6 if ms else 0)
    return int(value("SuccessfulCall(C)") or 0), int(value("FailedCall(C)") or 0), seconds


# --------------------------------------------------------------------------------------
# linegate


def gateway_yaml(runtime_dir, kam_port, sip_port, users, max_new, log_level):
    # Flow style, one line per account: the block style of 10,000 accounts passes the
    # loader's 1 MiB limit on a configuration file.
    accounts = "".join(
        f"    - {{name: {user}, line: 0, proxy_set: registrar, username: {user}, password: {password}}}\n"
        for user, password in users)
    return f"""gateway:
  name: regload
runtime:
  runtime_dir: {runtime_dir}
  log_level: {log_level}
media:
  process_count: 1
tdm:
  driver: sim
  cards:
    - name: sim0
      fxs_ports: 8
signaling:
  listen_address: 127.0.0.1
  sip_port: {sip_port}
  domain: {DOMAIN}
  registration:
    mode: none
    expires_s: 3600
    max_new_per_second: {max_new}
  proxy_sets:
    - name: registrar
      proxies:
        - address: 127.0.0.1
          port: {kam_port}
  accounts:
{accounts}"""


class Gateway:
    def __init__(self, bin_dir, workdir, label):
        self.bin_dir = bin_dir
        # Short path: ipc:// socket paths are limited to ~107 bytes.
        self.dir = tempfile.mkdtemp(prefix="lgrl-")
        self.runtime_dir = os.path.join(self.dir, "run")
        self.config = os.path.join(self.dir, "gateway.yaml")
        self.log_path = os.path.join(workdir, f"linegate_{label}.log")
        self.process = None

    def start(self, yaml_text):
        with open(self.config, "w") as f:
            f.write(yaml_text)
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen([os.path.join(self.bin_dir, "linegate"), "run", "-c", self.config],
                                        stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def ctl(self, *args, timeout=20):
        return subprocess.run([os.path.join(self.bin_dir, "linegatectl"), "-c", self.config, *args],
                              capture_output=True, text=True, timeout=timeout)

    def registered(self):
        """Entities linegatectl reports registered, or -1 when it does not answer."""
        try:
            r = self.ctl("registrations", "--json")
        except subprocess.TimeoutExpired:
            return -1
        if r.returncode != 0:
            return -1
        try:
            data = json.loads(r.stdout)
        except ValueError:
            return -1
        return sum(1 for e in data.get("registrations", []) if e.get("state") == "REGISTRATION_STATE_REGISTERED")

    def pids(self):
        """Our gateway's processes: command lines naming this run's config or runtime dir."""
        return pids_naming(self.config, self.runtime_dir)

    def signaling_pid(self):
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/comm") as f:
                    if f.read().strip().startswith("linegate-signal"):
                        return pid
            except OSError:
                pass
        return None

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for pid in self.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.process:
            self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class LogWatcher:
    """Counts the accounts whose registration the gateway logged as registered, reading
    only what was appended since the last call."""

    def __init__(self, path):
        self.path = path
        self.offset = 0
        self.partial = ""
        self.ids = set()

    def registered(self):
        try:
            with open(self.path, errors="replace") as f:
                f.seek(self.offset)
                chunk = f.read()
                self.offset = f.tell()
        except OSError:
            return len(self.ids)
        lines = (self.partial + chunk).split("\n")
        self.partial = lines.pop()
        for line in lines:
            if "state=registered" in line and "kind=account" in line:
                m = re.search(r"\bid=(\S+)", line)
                if m:
                    self.ids.add(m.group(1))
        return len(self.ids)


def log_marks(path, n):
    """(first 'registering', last 'registered', count registered) from the registration
    client's info lines."""
    first = last = None
    registered = set()
    try:
        with open(path, errors="replace") as f:
            for line in f:
                if "registration state" not in line or "kind=account" not in line:
                    continue
                if "state=registering" in line and first is None:
                    first = log_time(line)
                elif "state=registered" in line:
                    m = re.search(r"\bid=(\S+)", line)
                    if m:
                        registered.add(m.group(1))
                    last = log_time(line)
    except OSError:
        pass
    return first, last, len(registered)


def run_linegate(args, kam, users, workdir, label):
    n = len(users)
    gw = Gateway(args.bin_dir, workdir, label)
    before = kam.registered_count()
    cpu_before = kam.cpu_seconds()
    drops_before = udp_rcvbuf_errors()
    load = loadavg()
    result = {"who": "linegate", "label": label, "load": load, "kamailio_before": before}
    perf = None
    try:
        gw.start(gateway_yaml(gw.runtime_dir, kam.port, free_udp_port(), users, args.max_new_per_second,
                              args.log_level))
        started_wall = time.time()
        started = time.monotonic()
        deadline = started + args.run_timeout
        kam_done = None
        ctl_done = None
        watcher = LogWatcher(gw.log_path)
        signaling_cpu = 0.0
        sig_pid = None
        while time.monotonic() < deadline:
            if gw.process.poll() is not None:
                raise RuntimeError(f"linegate exited with {gw.process.returncode}")
            if sig_pid is None:
                sig_pid = gw.signaling_pid()
                if sig_pid and args.perf and perf is None:
                    perf = subprocess.Popen(["perf", "record", "-F", "999", "-g", "-p", str(sig_pid), "-o",
                                             os.path.join(workdir, f"perf_{label}.data")],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if sig_pid:
                signaling_cpu = max(signaling_cpu, cpu_seconds_of(sig_pid))
            if kam_done is None:
                # Watch the gateway's own log (a read of new bytes, in this process)
                # until every account says registered, and only then ask Kamailio: a
                # kamcmd every 50 ms (a process start and an RPC) would load the two
                # CPUs Kamailio needs, which the SIPp side, waiting for SIPp's exit, does
                # not do.
                logged_now = watcher.registered()
                if logged_now >= n and kam.registered_count() - max(before, 0) >= n:
                    kam_done = time.monotonic()
                else:
                    time.sleep(0.05)
                    continue
            # Kamailio holds them all: linegatectl must now say so too.
            if gw.registered() >= n:
                ctl_done = time.monotonic()
                break
            time.sleep(0.1)
        if sig_pid:
            signaling_cpu = max(signaling_cpu, cpu_seconds_of(sig_pid))
        if perf:
            perf.send_signal(signal.SIGINT)
            try:
                perf.wait(30)
            except subprocess.TimeoutExpired:
                perf.kill()
                perf.wait()
        first, last, logged = log_marks(gw.log_path, n)
        drops = udp_rcvbuf_errors() - drops_before
        counts = kam.aor_counts(["lg", "sp"])
        kstats = kam.stats("core:rcv_requests_register", "registrar:accepted_regs")
        result.update({"udp_drops": drops, "kam_registers": kstats["core:rcv_requests_register"],
                       "kam_accepted": kstats["registrar:accepted_regs"]})
        end = ctl_done if ctl_done is not None else time.monotonic()
        from_run = end - started
        # The first REGISTER in the monotonic frame: wall-clock log stamp - wall-clock start.
        first_mono = started + (first - started_wall) if first else None
        from_first = end - first_mono if first_mono else None
        to_last_logged = (last - first) if first and last else None
        result.update({
            "complete": ctl_done is not None, "from_run_s": from_run, "from_first_s": from_first,
            "startup_s": (first - started_wall) if first else None,
            "first_to_last_logged_s": to_last_logged, "logged_registered": logged,
            "kamailio_done_s": (kam_done - first_mono) if kam_done and first_mono else None,
            "ul_dump": counts["lg"], "ul_dump_other": counts["sp"],
            "kamailio_cpu_s": kam.cpu_seconds() - cpu_before, "signaling_cpu_s": signaling_cpu,
            "successful": n if ctl_done is not None else max(gw.registered(), 0),
            "log_lines": sum(1 for _ in open(gw.log_path, errors="replace")),
        })
        # The rate: from the first REGISTER to the last registration confirmed (the last
        # 'registered' log line, written when its 200 OK is processed), the analogue of
        # SIPp's start-to-exit. The time until `linegatectl registrations` shows them all
        # adds the polling of a 10,000-entry listing (0.5 to 0.7 s) and is reported
        # beside it. Without info logs (--log-level warn) there are no marks: from the run.
        if to_last_logged and logged == n:
            result["rate"] = n / to_last_logged
        else:
            result["rate"] = result["successful"] / (from_first or from_run) if (from_first or from_run) else 0.0
        result["rate_polled"] = result["successful"] / from_first if from_first else 0.0
        result["rate_from_run"] = result["successful"] / from_run if from_run else 0.0
    finally:
        if perf and perf.poll() is None:
            perf.kill()
            perf.wait()
        gw.stop()
    return result


# --------------------------------------------------------------------------------------
# Report


def fmt(v, spec="{:.2f}"):
    return "-" if v is None else spec.format(v)


def print_table(results):
    print("\n| run | who | load avg (1/5/15) | registered | ul.dump | wall s | registrations/s "
          "| REGISTERs at Kamailio | UDP drops | notes |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        if r["who"] == "SIPp":
            wall = r["wall_s"]
            notes = (f"SIPp exit {r['rc']}, failed {r['failed']}, SIPp elapsed {fmt(r['sipp_elapsed_s'])} s, "
                     f"Kamailio CPU {r['kamailio_cpu_s']:.2f} s")
            reg = r["successful"]
        else:
            wall = r.get("first_to_last_logged_s") or r.get("from_first_s")
            notes = (f"until linegatectl shows all {fmt(r.get('from_first_s'))} s "
                     f"({fmt(r.get('rate_polled'), '{:.0f}')}/s), "
                     f"from `linegate run` {fmt(r.get('from_run_s'))} s "
                     f"({fmt(r.get('rate_from_run'), '{:.0f}')}/s), startup {fmt(r.get('startup_s'))} s, "
                     f"last 'registered' log line at {fmt(r.get('first_to_last_logged_s'))} s, "
                     f"signaling CPU {fmt(r.get('signaling_cpu_s'))} s, Kamailio CPU {r['kamailio_cpu_s']:.2f} s, "
                     f"{r.get('log_lines')} log lines")
            reg = r.get("successful")
        if "error" in r:
            notes = "failed: " + r["error"].replace("\n", " ").replace("|", "/")[:200]
        print(f"| {r['label']} | {r['who']} | {r['load']} | {reg} | {r['ul_dump']} | {fmt(wall)} | "
              f"{r['rate']:.0f} | {r.get('kam_registers')} | {r.get('udp_drops')} | {notes} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin-dir", default=os.path.join(SOURCE_DIR, "build", "release", "bin"))
    parser.add_argument("--users", type=int, default=10000, help="users per side (default 10000)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--kamailio-children", type=int, default=4)
    parser.add_argument("--kamailio-shm-mb", type=int, default=256)
    parser.add_argument("--sipp-rate", type=int, default=20000, help="SIPp -r, calls per second")
    parser.add_argument("--sipp-limit", type=int, default=200,
                        help="SIPp -l, calls in flight (default 200: with 1000 a stalled SIPp on a loaded "
                             "machine retransmitted in bulk and failed 2048 calls once)")
    parser.add_argument("--max-new-per-second", type=int, default=5000,
                        help="signaling.registration.max_new_per_second of linegate (default 5000: above "
                             "what this Kamailio takes, ~2,300/s, below the open-loop burst that "
                             "overflows the UDP receive buffers; 100000 sends all 10,000 in ~0.5 s)")
    parser.add_argument("--log-level", default="info", help="linegate runtime.log_level (default info)")
    parser.add_argument("--only", choices=["sipp", "linegate"], help="measure one side only")
    parser.add_argument("--perf", action="store_true", help="perf record the signaling process")
    parser.add_argument("--run-timeout", type=float, default=110.0)
    parser.add_argument("--deadline", type=float, default=14 * 60.0)
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, SIPp stats)")
    args = parser.parse_args()
    script_started = time.monotonic()
    args.bin_dir = os.path.abspath(args.bin_dir)
    for tool in ("kamailio", "kamcmd", "sipp"):
        if not shutil.which(tool):
            sys.exit(f"{tool} not found (apt-get install kamailio sip-tester)")
    if not args.only == "sipp" and not os.access(os.path.join(args.bin_dir, "linegate"), os.X_OK):
        sys.exit(f"no linegate in {args.bin_dir}; build the release binaries first")

    n = args.users
    lg_users = [(f"lg{i:05d}", f"pw-lg-{i}") for i in range(1, n + 1)]
    sp_users = [(f"sp{i:05d}", f"pw-sp-{i}") for i in range(1, n + 1)]
    all_users = dict(lg_users + sp_users)
    workdir = tempfile.mkdtemp(prefix="lg-regload-")
    port = free_udp_port()
    nproc = os.cpu_count()
    print(f"# registration load: {n} users per side, {args.runs} runs, nproc={nproc}, CPU {cpu_model()!r}, "
          f"load average {loadavg()}; work directory {workdir}", flush=True)

    results = []
    skipped = []
    try:
        for run in range(1, args.runs + 1):
            order = ["sipp", "linegate"] if run % 2 == 1 else ["linegate", "sipp"]
            if args.only:
                order = [args.only]
            for who in order:
                label = f"{run}-{who}"
                # A measurement may take run_timeout plus Kamailio's restart.
                if time.monotonic() - script_started + args.run_timeout + 30 > args.deadline:
                    skipped.append(label)
                    continue
                kam = None
                try:
                    kam = LoadKamailio(all_users, port, args.kamailio_children, args.kamailio_shm_mb).start()
                    if who == "sipp":
                        r = run_sipp(args, kam, sp_users, workdir, label)
                    else:
                        r = run_linegate(args, kam, lg_users, workdir, label)
                except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                    # One failed measurement is reported, the others still run.
                    r = {"who": "SIPp" if who == "sipp" else "linegate", "label": label, "load": loadavg(),
                         "rate": 0.0, "successful": 0, "ul_dump": -1, "kamailio_cpu_s": 0.0,
                         "failed": None, "rc": "error", "wall_s": None, "sipp_elapsed_s": None,
                         "error": str(e)[-500:]}
                    print(f"{label}: failed: {r['error']}", flush=True)
                finally:
                    if kam:
                        kam.stop()
                results.append(r)
                print(f"{label}: {r['rate']:.0f} registrations/s, {r.get('successful')} registered, "
                      f"ul.dump {r['ul_dump']}, load {r['load']}", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    print_table(results)
    sipp = [r["rate"] for r in results if r["who"] == "SIPp" and r["successful"] == n]
    lg = [r["rate"] for r in results if r["who"] == "linegate" and r.get("complete")]
    print(f"\n## Registration load against Kamailio ({n} users per side)\n")
    print(f"- machine: nproc={nproc}, CPU {cpu_model()}, Debian {open('/etc/debian_version').read().strip()}")
    print(f"- Kamailio: children={args.kamailio_children}, auth_db over db_text with {2 * n} users, usrloc "
          f"in memory; restarted before each measurement")
    print(f"- SIPp: -r {args.sipp_rate} -rp 1000 -l {args.sipp_limit} -m {n}, digest from -inf CSV")
    print(f"- linegate: {n} accounts, one proxy set, max_new_per_second {args.max_new_per_second}, "
          f"log_level {args.log_level}")
    if sipp:
        print(f"- SIPp median: {statistics.median(sipp):.0f} registrations/s over {len(sipp)} complete runs "
              f"({', '.join(f'{x:.0f}' for x in sipp)})")
    if lg:
        print(f"- linegate median: {statistics.median(lg):.0f} registrations/s over {len(lg)} complete runs "
              f"({', '.join(f'{x:.0f}' for x in lg)})")
    if sipp and lg:
        print(f"- ratio linegate/SIPp: {statistics.median(lg) / statistics.median(sipp):.2f}")
    incomplete = [r["label"] for r in results if (r["who"] == "SIPp" and r["successful"] != n)
                  or (r["who"] == "linegate" and not r.get("complete"))]
    if incomplete:
        print(f"- incomplete (excluded from medians): {', '.join(incomplete)}")
    if skipped:
        print(f"- skipped to stay within {args.deadline:.0f} s: {', '.join(skipped)}")
    print(f"- total time {time.monotonic() - script_started:.0f} s")
    return 0 if sipp and lg or args.only else 1


if __name__ == "__main__":
    sys.exit(main())
