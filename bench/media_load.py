#!/usr/bin/env python3
"""Media-plane load: linegate's media processes under N concurrent RTP sessions driven by
rtp_load (bench/rtp_load.cc), and packets per CPU-second beside rtpengine relaying the
same load, in the same run. Three parts, chosen with --parts (default: all three):

  scale     One gateway, two media processes, S lines (default 240: each process owns
            half), a 20 ms G.711 session on every line whose remote is one rtp_load
            stream; rtp_load sends to each session's local port. After --warmup s, a
            measurement of --scale-seconds (default 60): missed frame deadlines (sum
            of the shards' missed_deadlines), packet loss both ways (the gateway's
            sessions' packets_lost for rtp_load -> gateway, rtp_load's loss by
            sequence for gateway -> rtp_load), CPU seconds of each media process and
            of linegate-tdm (from /proc/PID/stat), CPU % per session. --runs times
            (default 3), each on a fresh gateway.
  ramp      The same with 240, 480, 720, ... sessions (--ramp-steps), --ramp-seconds
            (default 20) each, a fresh gateway with exactly that many lines per step;
            stops at the first step with a missed deadline or a lost packet. Reports the
            largest clean step. --ramp-runs times (default 1).
  pps       N streams (--pps-streams, default 480) through linegate (N sessions) and
            through rtpengine (N/2 calls of two legs, userspace forwarding, --table=-1,
            calls made with offer/answer over its ng control protocol), alternating
            order, --runs times; for each, packets handled (rtp_load's sent + received
            in the interval, i.e. the peer's rx + tx) per CPU-second of the peer
            (linegate: the media processes; also shown with linegate-tdm added;
            rtpengine: its process, all threads), and the ratio.

Each measurement is bounded and so is the whole script (--deadline, default 600 s: a
measurement that would not fit is skipped and reported). Everything listens and sends on
127.0.0.1 only; ports are taken from blocks no socket uses (/proc/net/udp*), below the
ephemeral range. Gateways, rtpengine, rtp_load and temporary directories are removed at
the end, also on error or Ctrl-C.

    python3 bench/media_load.py --build-dir build/release
    python3 bench/media_load.py --parts scale --runs 3
    python3 bench/media_load.py --parts ramp --ramp-steps 240,480,720,960
    python3 bench/media_load.py --parts pps --pps-streams 480
"""
import argparse
import concurrent.futures
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
from harness import pids_naming  # noqa: E402  (one /proc scan for tests and benches)

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.dirname(HERE)
LOOPBACK = "127.0.0.1"


# --------------------------------------------------------------------------------------
# Machine and process helpers


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        m = re.search(r"^Model name:\s*(.+)$", out, re.M)
        if m:
            return m.group(1).strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return "unknown"


def loadavg():
    return "%.2f %.2f %.2f" % os.getloadavg()


def cpu_seconds_of(pid):
    """User + system CPU seconds of a process, all its threads (/proc/PID/stat)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def run_delay_seconds(pid):
    """Seconds the threads of a process spent runnable but waiting for a CPU
    (/proc/PID/task/*/schedstat, second field): what other load costs it."""
    total = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[1])
        except (OSError, IndexError, ValueError):
            pass
    return total / 1e9


def udp_counters():
    """System-wide UDP counters (/proc/net/snmp): InErrors, RcvbufErrors, NoPorts."""
    try:
        with open("/proc/net/snmp") as f:
            rows = [line.split() for line in f if line.startswith("Udp:")]
        head, values = rows[0], rows[1]
        return {k: int(values[head.index(k)]) for k in ("InErrors", "RcvbufErrors", "NoPorts")}
    except (OSError, ValueError, IndexError):
        return {"InErrors": -1, "RcvbufErrors": -1, "NoPorts": -1}


def used_udp_ports():
    used = set()
    for path in ("/proc/net/udp", "/proc/net/udp6", "/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                next(f)
                for line in f:
                    local = line.split()[1]
                    used.add(int(local.rsplit(":", 1)[1], 16))
        except (OSError, StopIteration, ValueError, IndexError):
            pass
    return used


class PortPlanner:
    """Blocks of consecutive ports that no socket uses now, below the ephemeral range
    (so that no connect() of another program lands in them), never overlapping each
    other within this run."""

    def __init__(self):
        try:
            with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
                self.ceiling = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            self.ceiling = 32768
        self.floor = 10000
        self.taken = []  # (first, last) handed out in this run
        self.rng = random.Random()

    def block(self, count):
        """First port of `count` consecutive free ports (the first one even)."""
        used = used_udp_ports()
        span = self.ceiling - self.floor - count
        if span <= 0:
            raise RuntimeError(f"no room for {count} ports below {self.ceiling}")
        start = self.rng.randrange(0, span) & ~1
        for offset in range(0, span, 2):
            first = self.floor + (start + offset) % span
            first &= ~1
            last = first + count - 1
            if last >= self.ceiling:
                continue
            if any(not (last < a or first > b) for a, b in self.taken):
                continue
            if any(p in used for p in range(first, last + 1)):
                continue
            self.taken.append((first, last))
            return first
        raise RuntimeError(f"no block of {count} free ports")

    def release(self, first):
        self.taken = [(a, b) for a, b in self.taken if a != first]


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


SCHED_PREFIX = []  # ["chrt", "-f", N] with --fifo-priority N


def kill_group(proc, sig=signal.SIGTERM, wait=10):
    """Stops a process we started (and only it)."""
    if proc is None or proc.poll() is not None:
        return
    try:
        proc.send_signal(sig)
        proc.wait(wait)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    except ProcessLookupError:
        pass


# --------------------------------------------------------------------------------------
# rtp_load


class RtpLoad:
    """One rtp_load run; snapshot() sends SIGUSR1 and returns the JSON line it prints."""

    def __init__(self, binary, streams, duration, workdir, label, pairs=False, extra=()):
        self.streams_path = os.path.join(workdir, f"streams_{label}.txt")
        with open(self.streams_path, "w") as f:
            for local, dest in streams:
                f.write(f"{local} {dest}\n")
        self.cmd = [binary, "--duration", f"{duration:.1f}", "--streams-file", self.streams_path,
                    "--address", LOOPBACK, *(["--pairs"] if pairs else []), *extra]
        self.stderr_path = os.path.join(workdir, f"rtp_load_{label}.err")
        self.lines = []
        self.cond = threading.Condition()
        self.proc = None
        self.thread = None

    def start(self):
        self.stderr = open(self.stderr_path, "w")
        self.proc = subprocess.Popen(SCHED_PREFIX + self.cmd, stdout=subprocess.PIPE, stderr=self.stderr, text=True)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        return self

    def _read(self):
        for line in self.proc.stdout:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                value = json.loads(line)
            except ValueError:
                continue
            with self.cond:
                self.lines.append(value)
                self.cond.notify_all()

    def snapshot(self, timeout=10.0):
        with self.cond:
            before = sum(1 for v in self.lines if v.get("event") == "snapshot")
        self.proc.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                snaps = [v for v in self.lines if v.get("event") == "snapshot"]
                if len(snaps) > before:
                    return snaps[-1]
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise RuntimeError("rtp_load gave no snapshot")
                self.cond.wait(left)

    def finish(self, timeout=15):
        """Stops the sending (SIGINT: rtp_load drains for a moment and prints its summary)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            kill_group(self.proc, signal.SIGKILL, 5)
        self.thread.join(5)
        self.stderr.close()
        for v in self.lines:
            if v.get("event") == "summary":
                return v
        with open(self.stderr_path) as f:
            raise RuntimeError(f"rtp_load exited {self.proc.returncode} without a summary: {f.read()[-500:]}")

    def stop(self):
        kill_group(self.proc, signal.SIGTERM, 5)
        if self.thread:
            self.thread.join(5)


# --------------------------------------------------------------------------------------
# linegate


def gateway_yaml(runtime_dir, lines, processes, rtp_min, rtp_max, log_level):
    cards = []
    left, index = lines, 0
    while left > 0:
        n = min(left, 1024)
        cards.append(f"    - name: sim{index}\n      fxs_ports: {n}\n      fxo_ports: 0\n")
        left -= n
        index += 1
    return f"""gateway:
  name: mediaload
runtime:
  runtime_dir: {runtime_dir}
  log_level: {log_level}
bus:
  heartbeat_interval_ms: 500
  heartbeat_miss_limit: 6
signaling:
  listen_address: {LOOPBACK}
  sip_port: {free_port()}
media:
  process_count: {processes}
  backend: kernel_sockets
  rtp_address: {LOOPBACK}
  rtp_port_min: {rtp_min}
  rtp_port_max: {rtp_max}
tdm:
  driver: sim
  frame_ms: 10
  cards:
{''.join(cards)}"""


class Gateway:
    def __init__(self, bin_dir, ports, lines, processes, log_level):
        self.bin_dir = bin_dir
        self.ports = ports
        # Short: ipc:// socket paths are limited to ~107 bytes.
        self.dir = tempfile.mkdtemp(prefix="lg-ml-")
        self.runtime_dir = os.path.join(self.dir, "run")
        self.config = os.path.join(self.dir, "gw.yaml")
        self.log_path = os.path.join(self.dir, "gateway.log")
        # Two ports per session (RTP, RTCP), split over the shards, with room to spare.
        self.rtp_count = max(4 * lines, 64)
        self.rtp_min = ports.block(self.rtp_count)
        with open(self.config, "w") as f:
            f.write(gateway_yaml(self.runtime_dir, lines, processes, self.rtp_min,
                                 self.rtp_min + self.rtp_count - 1, log_level))
        self.lines = lines
        self.processes = processes
        self.process = None
        self.log = None
        self.tdm_late_ticks = None

    def ctl(self, *args, timeout=30):
        return subprocess.run([os.path.join(self.bin_dir, "linegatectl"), "-c", self.config, *args],
                              capture_output=True, text=True, timeout=timeout)

    def start(self, timeout=30):
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(SCHED_PREFIX + [os.path.join(self.bin_dir, "linegate"), "run", "-c", self.config],
                                        stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"linegate exited {self.process.returncode}: {self.read_log()[-1500:]}")
            try:
                r = self.ctl("status", "--json", timeout=5)
            except subprocess.TimeoutExpired:
                continue
            if r.returncode == 0:
                status = json.loads(r.stdout)
                media = [p for p in status.get("processes", []) if p.get("name", "").startswith("media-")]
                if len(media) == self.processes and all(p.get("pid") for p in media):
                    # The media processes answer once configured.
                    if self.ctl("media", "list", "--json", timeout=5).returncode == 0:
                        return self
            time.sleep(0.2)
        raise RuntimeError("gateway not healthy in time: " + self.read_log()[-1500:])

    def read_log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def status(self):
        r = self.ctl("status", "--json", timeout=10)
        if r.returncode not in (0, 1):
            raise RuntimeError(f"linegatectl status: {r.stderr.strip()}")
        return json.loads(r.stdout)

    def pids(self):
        """{process name: pid} from linegatectl status (media-0, media-1, tdm, ...)."""
        return {p["name"]: int(p.get("pid") or 0) for p in self.status().get("processes", [])}

    def restarts(self):
        return {p["name"]: int(p.get("restart_count") or 0) for p in self.status().get("processes", [])}

    def media_list(self):
        r = self.ctl("media", "list", "--json", timeout=20)
        if r.returncode != 0:
            raise RuntimeError(f"linegatectl media list: {r.stderr.strip()}")
        return json.loads(r.stdout)

    def create_sessions(self, remotes, workers=4):
        """remotes: {line: rtp_load port}; returns {line: gateway port}."""
        pattern = re.compile(r"session on [0-9.]+:(\d+)")

        def create(item):
            line, remote = item
            r = self.ctl("media", "create", str(line), "--remote", f"{LOOPBACK}:{remote}", "--codec", "pcmu",
                         "--ptime", "20")
            m = pattern.search(r.stdout)
            if r.returncode != 0 or not m:
                raise RuntimeError(f"media create {line}: {r.stdout.strip()} {r.stderr.strip()}")
            return line, int(m.group(1))

        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            return dict(pool.map(create, sorted(remotes.items())))

    def processes_of_this_gateway(self):
        return pids_naming(self.runtime_dir, self.config)

    def stop(self):
        if self.process:
            kill_group(self.process, signal.SIGTERM, 15)
        for pid in self.processes_of_this_gateway():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.log:
            self.log.close()
        # The tdm process logs at exit how many ticks its clock ran late and caught up.
        m = re.search(r'msg="clock was late".*?ticks_caught_up=(\d+)', self.read_log())
        self.tdm_late_ticks = int(m.group(1)) if m else 0
        # TDM bus regions a killed tdm process leaves (an orderly stop removes its own).
        prefix = "linegate" + "".join(c if c.isalnum() or c in "-._" else "_" for c in self.runtime_dir)
        try:
            for name in os.listdir("/dev/shm"):
                if name.startswith(prefix + ".card"):
                    os.unlink(os.path.join("/dev/shm", name))
        except OSError:
            pass
        self.ports.release(self.rtp_min)
        shutil.rmtree(self.dir, ignore_errors=True)


def sum_sessions(listing, field):
    return sum(int(s.get(field, 0) or 0) for s in listing.get("sessions", []))


def shard_value(listing, field):
    return sum(int(s.get(field, 0) or 0) for s in listing.get("shards", []))


def measure_linegate(args, ports, sessions, warmup, seconds, workdir, label):
    """One fresh gateway with `sessions` lines and a session on each, loaded by rtp_load."""
    r = {"who": "linegate", "label": label, "sessions": sessions, "load_before": loadavg()}
    gw = Gateway(args.bin_dir, ports, sessions, args.media_processes, args.log_level)
    load = None
    load_first = None
    try:
        t_setup = time.monotonic()
        gw.start()
        load_first = ports.block(2 * sessions)  # rtp_load: even ports, RTCP's odd port left free
        remotes = {line: load_first + 2 * (line - 1) for line in range(1, sessions + 1)}
        local = gw.create_sessions(remotes, workers=args.ctl_workers)
        r["setup_s"] = time.monotonic() - t_setup
        pids = gw.pids()
        media_names = sorted(n for n in pids if n.startswith("media-"))
        watched = media_names + [n for n in ("tdm", "signaling", "control") if n in pids]
        restarts_before = gw.restarts()
        streams = [(remotes[line], local[line]) for line in range(1, sessions + 1)]
        load = RtpLoad(args.rtp_load, streams, warmup + seconds + 120.0, workdir, label, extra=args.rtp_load_args)
        load.start()
        time.sleep(warmup)
        s0 = snapshot_linegate(gw, load, pids, watched)
        time.sleep(seconds)
        s1 = snapshot_linegate(gw, load, pids, watched)
        summary = load.finish()
        final = gw.media_list()
        restarts_after = gw.restarts()
        interval = s1["t"] - s0["t"]
        r.update({
            "interval_s": interval, "load_avg": s1["loadavg"],
            "missed": s1["missed"] - s0["missed"], "missed_total": shard_value(final, "missed_deadlines"),
            "ticks": {n: s1["ticks"].get(n, 0) - s0["ticks"].get(n, 0) for n in s1["ticks"]},
            "gw_received": s1["gw_received"] - s0["gw_received"],
            "gw_sent": s1["gw_sent"] - s0["gw_sent"],
            "gw_lost": s1["gw_lost"] - s0["gw_lost"],
            "gw_jitter_ms_max": max((float(s.get("jitter_ms", 0)) for s in final.get("sessions", [])), default=0),
            "load_sent": s1["load"]["sent"] - s0["load"]["sent"],
            "load_received": s1["load"]["received"] - s0["load"]["received"],
            "load_lost": s1["load"]["lost"] - s0["load"]["lost"],
            "load_cpu_s": s1["load"]["cpu_s"] - s0["load"]["cpu_s"],
            "cpu": {n: s1["cpu"][n] - s0["cpu"][n] for n in watched
                    if s1["cpu"].get(n) is not None and s0["cpu"].get(n) is not None},
            "wait": {n: s1["wait"][n] - s0["wait"][n] for n in s1["wait"]
                     if s1["wait"].get(n) is not None and s0["wait"].get(n) is not None},
            "udp": {k: s1["udp"][k] - s0["udp"][k] for k in s1["udp"]},
            "restarts": sum(restarts_after.values()) - sum(restarts_before.values()),
            "summary": summary, "media": media_names,
        })
        media_cpu = sum(r["cpu"].get(n, 0) for n in media_names)
        r["media_cpu_s"] = media_cpu
        r["media_cpu_pct_per_session"] = 100.0 * media_cpu / interval / sessions
        r["tdm_cpu_s"] = r["cpu"].get("tdm", 0)
        # Frames due on lines with a session: 100 per second per session at 10 ms frames.
        r["missed_percent"] = 100.0 * r["missed"] / (sessions * interval * 100)
        r["media_wait_ms_per_s"] = 1000.0 * sum(r["wait"].get(n, 0) for n in media_names) / interval / len(
            media_names)
        r["tdm_wait_ms_per_s"] = 1000.0 * r["wait"].get("tdm", 0) / interval
        r["handled"] = r["load_sent"] + r["load_received"]
        r["pps"] = r["handled"] / interval
        r["pps_per_cpu_s"] = r["handled"] / media_cpu if media_cpu > 0 else None
        r["pps_per_cpu_s_with_tdm"] = r["handled"] / (media_cpu + r["tdm_cpu_s"]) if media_cpu > 0 else None
        r["clean"] = (r["missed"] == 0 and r["gw_lost"] <= 0 and r["load_lost"] <= 0 and r["restarts"] == 0
                      and r["load_received"] > 0 and r["gw_received"] > 0)
    except (RuntimeError, OSError, ValueError, subprocess.SubprocessError) as e:
        r["error"] = str(e)[-600:]
        r["clean"] = False
    finally:
        if load:
            load.stop()
        gw.stop()
        if load_first is not None:
            ports.release(load_first)
    r["tdm_late_ticks"] = gw.tdm_late_ticks
    return r


def snapshot_linegate(gw, load, pids, watched):
    t = time.monotonic()
    cpu = {n: cpu_seconds_of(pids[n]) for n in watched}
    wait = {n: run_delay_seconds(pids[n]) for n in watched}
    wait["rtp_load"] = run_delay_seconds(load.proc.pid)
    snap = load.snapshot()
    udp = udp_counters()
    listing = gw.media_list()
    return {
        "t": t, "cpu": cpu, "wait": wait, "load": snap, "udp": udp, "loadavg": loadavg(),
        "missed": shard_value(listing, "missed_deadlines"),
        "ticks": {s.get("process"): int(s.get("ticks", 0)) for s in listing.get("shards", [])},
        "gw_received": sum_sessions(listing, "packets_received"),
        "gw_sent": sum_sessions(listing, "packets_sent"),
        "gw_lost": sum_sessions(listing, "packets_lost"),
    }


# --------------------------------------------------------------------------------------
# rtpengine over its ng protocol (bencode over UDP)


def bencode(value):
    if isinstance(value, bool):
        raise TypeError("bencode has no booleans")
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, (list, tuple)):
        return b"l" + b"".join(bencode(v) for v in value) + b"e"
    if isinstance(value, dict):
        items = sorted((k.encode() if isinstance(k, str) else k, v) for k, v in value.items())
        return b"d" + b"".join(bencode(k) + bencode(v) for k, v in items) + b"e"
    raise TypeError(f"cannot bencode {type(value).__name__}")


def bdecode(data):
    """Decodes one bencoded value; strings come back as str (UTF-8, replacement on error)."""

    def parse(i):
        c = data[i:i + 1]
        if c == b"i":
            end = data.index(b"e", i)
            return int(data[i + 1:end]), end + 1
        if c == b"l":
            i += 1
            out = []
            while data[i:i + 1] != b"e":
                v, i = parse(i)
                out.append(v)
            return out, i + 1
        if c == b"d":
            i += 1
            out = {}
            while data[i:i + 1] != b"e":
                k, i = parse(i)
                v, i = parse(i)
                out[k] = v
            return out, i + 1
        if c.isdigit():
            colon = data.index(b":", i)
            n = int(data[i:colon])
            start = colon + 1
            if start + n > len(data):
                raise ValueError("bencode string runs past the end")
            return data[start:start + n].decode("utf-8", "replace"), start + n
        raise ValueError(f"bad bencode at {i}")

    value, end = parse(0)
    if end != len(data):
        raise ValueError("trailing data after bencode value")
    return value


class NgClient:
    def __init__(self, port):
        self.address = (LOOPBACK, port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((LOOPBACK, 0))
        self.sock.settimeout(2.0)
        self.counter = 0

    def call(self, message, retries=3):
        self.counter += 1
        cookie = f"{os.getpid()}_{self.counter}".encode()
        payload = cookie + b" " + bencode(message)
        for _ in range(retries):
            self.sock.sendto(payload, self.address)
            try:
                while True:
                    data, _ = self.sock.recvfrom(65536)
                    got_cookie, _, body = data.partition(b" ")
                    if got_cookie == cookie:
                        reply = bdecode(body)
                        if reply.get("result") not in ("ok", "pong"):
                            raise RuntimeError(f"rtpengine {message.get('command')}: {reply}")
                        return reply
            except socket.timeout:
                continue
        raise RuntimeError(f"rtpengine did not answer {message.get('command')}")

    def close(self):
        self.sock.close()


def sdp(port, session):
    return "\r\n".join([
        "v=0", f"o=- {session} 1 IN IP4 {LOOPBACK}", "s=rtp_load", f"c=IN IP4 {LOOPBACK}", "t=0 0",
        f"m=audio {port} RTP/AVP 0", "a=rtpmap:0 PCMU/8000", "a=ptime:20", "a=sendrecv", ""])


def sdp_audio_port(text):
    m = re.search(r"^m=audio (\d+) ", text, re.M)
    if not m:
        raise RuntimeError(f"no m=audio in rtpengine's SDP: {text[:300]}")
    return int(m.group(1))


class Rtpengine:
    def __init__(self, ports, calls, workdir, label, threads):
        self.ports = ports
        self.workdir = workdir
        self.ng_port = free_port()
        # Each call: two legs of RTP + RTCP; twice that for room.
        self.count = max(8 * calls, 64)
        self.first = ports.block(self.count)
        self.log_path = os.path.join(workdir, f"rtpengine_{label}.log")
        self.cmd = ["rtpengine", "--config-file=none", "--table=-1", "--foreground", "--log-stderr",
                    "--no-log-timestamps", f"--interface={LOOPBACK}", f"--listen-ng={LOOPBACK}:{self.ng_port}",
                    f"--port-min={self.first}", f"--port-max={self.first + self.count - 1}",
                    "--log-level=4", "--delete-delay=0", "--timeout=120"]
        if threads:
            self.cmd.append(f"--num-threads={threads}")
        self.process = None
        self.ng = None

    def start(self, timeout=15):
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(SCHED_PREFIX + self.cmd, stdout=self.log, stderr=subprocess.STDOUT)
        self.ng = NgClient(self.ng_port)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"rtpengine exited {self.process.returncode}: {self.read_log()[-1500:]}")
            try:
                self.ng.call({"command": "ping"}, retries=1)
                return self
            except RuntimeError:
                time.sleep(0.2)
        raise RuntimeError("rtpengine did not answer ping: " + self.read_log()[-1500:])

    def read_log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def create_call(self, index, port_a, port_b):
        """Offer with A's SDP, answer with B's; returns (port A sends to, port B sends to)."""
        call_id = f"mediaload-{os.getpid()}-{index}"
        flags = {"replace": ["origin", "session-connection"], "ICE": "remove"}
        offer = self.ng.call({"command": "offer", "call-id": call_id, "from-tag": f"a{index}",
                              "sdp": sdp(port_a, 1000 + index), **flags})
        to_b = sdp_audio_port(offer["sdp"])   # B sends here; rtpengine relays to A
        answer = self.ng.call({"command": "answer", "call-id": call_id, "from-tag": f"a{index}",
                               "to-tag": f"b{index}", "sdp": sdp(port_b, 5000 + index), **flags})
        to_a = sdp_audio_port(answer["sdp"])  # A sends here; rtpengine relays to B
        return to_a, to_b

    def stop(self):
        if self.ng:
            self.ng.close()
        kill_group(self.process, signal.SIGTERM, 10)
        if self.process:
            self.log.close()
        self.ports.release(self.first)


def measure_rtpengine(args, ports, streams, warmup, seconds, workdir, label):
    calls = streams // 2
    r = {"who": "rtpengine", "label": label, "sessions": calls, "streams": 2 * calls, "load_before": loadavg()}
    engine = Rtpengine(ports, calls, workdir, label, args.rtpengine_threads)
    load = None
    load_first = None
    try:
        t_setup = time.monotonic()
        engine.start()
        load_first = ports.block(4 * calls)
        pairs = []
        for k in range(calls):
            a, b = load_first + 4 * k, load_first + 4 * k + 2
            to_a, to_b = engine.create_call(k, a, b)
            pairs += [(a, to_a), (b, to_b)]
        r["setup_s"] = time.monotonic() - t_setup
        pid = engine.process.pid
        load = RtpLoad(args.rtp_load, pairs, warmup + seconds + 120.0, workdir, label, pairs=True,
                       extra=args.rtp_load_args)
        load.start()
        time.sleep(warmup)
        s0 = {"t": time.monotonic(), "cpu": cpu_seconds_of(pid), "wait": run_delay_seconds(pid),
              "load": load.snapshot(), "udp": udp_counters()}
        time.sleep(seconds)
        s1 = {"t": time.monotonic(), "cpu": cpu_seconds_of(pid), "wait": run_delay_seconds(pid),
              "load": load.snapshot(), "udp": udp_counters(), "loadavg": loadavg()}
        summary = load.finish()
        if engine.process.poll() is not None:
            raise RuntimeError(f"rtpengine exited {engine.process.returncode}: {engine.read_log()[-800:]}")
        interval = s1["t"] - s0["t"]
        cpu = s1["cpu"] - s0["cpu"]
        r.update({
            "interval_s": interval, "load_avg": s1["loadavg"], "cpu_s": cpu,
            "wait_ms_per_s": 1000.0 * (s1["wait"] - s0["wait"]) / interval,
            "load_sent": s1["load"]["sent"] - s0["load"]["sent"],
            "load_received": s1["load"]["received"] - s0["load"]["received"],
            "load_lost": s1["load"]["lost"] - s0["load"]["lost"],
            "load_cpu_s": s1["load"]["cpu_s"] - s0["load"]["cpu_s"],
            "udp": {k: s1["udp"][k] - s0["udp"][k] for k in s1["udp"]},
            "summary": summary,
        })
        r["handled"] = r["load_sent"] + r["load_received"]
        r["pps"] = r["handled"] / interval
        r["pps_per_cpu_s"] = r["handled"] / cpu if cpu > 0 else None
        r["clean"] = r["load_lost"] <= 0 and summary["foreign"] == 0 and r["load_received"] > 0
    except (RuntimeError, OSError, ValueError, subprocess.SubprocessError) as e:
        r["error"] = str(e)[-600:]
        r["clean"] = False
    finally:
        if load:
            load.stop()
        engine.stop()
        if load_first is not None:
            ports.release(load_first)
    return r


# --------------------------------------------------------------------------------------
# Report


def fmt(v, spec="{:.2f}"):
    return "-" if v is None else spec.format(v)


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def scale_row(r):
    if "error" in r:
        return f"| {r['label']} | {r['sessions']} | failed: {r['error'][:300]!r} |"
    cpu = r["cpu"]
    media = " / ".join(fmt(cpu.get(n)) for n in r["media"])
    s = r["summary"]
    return (f"| {r['label']} | {r['sessions']} | {r['interval_s']:.1f} | {r['missed']} ({r['missed_percent']:.3f}%) | "
            f"{r['gw_lost']} of {r['load_sent']} | {r['load_lost']} of {r['gw_sent']} | "
            f"{r['gw_jitter_ms_max']:.2f} / {s['jitter_ms_max']:.2f} | {media} | "
            f"{r['media_cpu_pct_per_session']:.3f} | {fmt(r['tdm_cpu_s'])} | {r['load_cpu_s']:.2f} | "
            f"{r['media_wait_ms_per_s']:.1f} / {r['tdm_wait_ms_per_s']:.1f} | {fmt(r.get('tdm_late_ticks'), '{}')} | "
            f"{r['udp']['RcvbufErrors']} | {r['load_avg']} | "
            f"{'yes' if r['clean'] else 'NO'} |")


SCALE_HEAD = ("| run | sessions | interval s | missed deadlines (% of frames) | lost to gateway | "
              "lost from gateway | jitter ms gw / rtp_load (max) | CPU s media-0 / media-1 | "
              "media CPU % per session | tdm CPU s | rtp_load CPU s | wait for CPU ms/s: media (each) / tdm | "
              "tdm clock late (ticks, gateway lifetime) | UDP rcvbuf drops | load avg | clean |\n"
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")


def print_scale(results, title, summary=True):
    print(f"\n### {title}\n")
    print(SCALE_HEAD)
    for r in results:
        print(scale_row(r))
    ok = [r for r in results if "error" not in r]
    if ok and summary:
        print(f"\nmedian of {len(ok)}: missed deadlines {median([r['missed'] for r in ok])} "
              f"({fmt(median([r['missed_percent'] for r in ok]), '{:.3f}')}% of frames), "
              f"lost to gateway {median([r['gw_lost'] for r in ok])}, "
              f"lost from gateway {median([r['load_lost'] for r in ok])}, "
              f"media CPU {fmt(median([r['media_cpu_s'] / r['interval_s'] * 100 for r in ok]), '{:.1f}')}% of a core "
              f"({fmt(median([r['media_cpu_pct_per_session'] for r in ok]), '{:.3f}')}% per session), "
              f"tdm {fmt(median([r['tdm_cpu_s'] / r['interval_s'] * 100 for r in ok]), '{:.1f}')}% of a core, "
              f"rtp_load {fmt(median([r['load_cpu_s'] / r['interval_s'] * 100 for r in ok]), '{:.1f}')}% of a core")


def print_pps(results):
    print("\n### Packets per CPU-second: linegate media beside rtpengine\n")
    print("| run | peer | streams | interval s | packets handled (rx+tx) | packets/s | peer CPU s | "
          "packets per CPU-second | with tdm | lost (rtp_load) | rtp_load CPU s | peer wait for CPU ms/s | load avg | "
          "clean |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        if "error" in r:
            print(f"| {r['label']} | {r['who']} | - | failed: {r['error'][:300]!r} |")
            continue
        if r["who"] == "linegate":
            cpu, extra = r["media_cpu_s"], fmt(r["pps_per_cpu_s_with_tdm"], "{:.0f}")
            lost = f"{r['load_lost']} / gw {r['gw_lost']}, missed {r['missed']}"
            streams = r["sessions"]
            wait = r["media_wait_ms_per_s"] * len(r["media"])
        else:
            cpu, extra = r["cpu_s"], "-"
            lost = f"{r['load_lost']} (foreign {r['summary']['foreign']})"
            streams = r["streams"]
            wait = r["wait_ms_per_s"]
        print(f"| {r['label']} | {r['who']} | {streams} | {r['interval_s']:.1f} | {r['handled']} | {r['pps']:.0f} | "
              f"{cpu:.2f} | {fmt(r['pps_per_cpu_s'], '{:.0f}')} | {extra} | {lost} | {r['load_cpu_s']:.2f} | "
              f"{wait:.1f} | {r['load_avg']} | {'yes' if r['clean'] else 'NO'} |")
    lg = median([r["pps_per_cpu_s"] for r in results if r["who"] == "linegate" and "error" not in r])
    lg_tdm = median([r["pps_per_cpu_s_with_tdm"] for r in results if r["who"] == "linegate" and "error" not in r])
    rte = median([r["pps_per_cpu_s"] for r in results if r["who"] == "rtpengine" and "error" not in r])
    print(f"\nmedian packets per CPU-second: linegate media {fmt(lg, '{:.0f}')} (with tdm {fmt(lg_tdm, '{:.0f}')}), "
          f"rtpengine {fmt(rte, '{:.0f}')}; ratio linegate/rtpengine "
          f"{fmt(lg / rte if lg and rte else None)} (with tdm {fmt(lg_tdm / rte if lg_tdm and rte else None)})")


def broken(r, percent):
    sent = max(r["load_sent"], 1)
    lost = max(r["gw_lost"], 0) + max(r["load_lost"], 0)
    return r["missed_percent"] > percent or 100.0 * lost / (2 * sent) > percent or r["restarts"] > 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-dir", default=os.path.join(SOURCE_DIR, "build", "release"))
    parser.add_argument("--parts", default="scale,ramp,pps", help="comma-separated: scale, ramp, pps")
    parser.add_argument("--runs", type=int, default=3, help="repetitions of scale and of pps (default 3)")
    parser.add_argument("--media-processes", type=int, default=2)
    parser.add_argument("--scale-sessions", type=int, default=240)
    parser.add_argument("--scale-seconds", type=float, default=60.0)
    parser.add_argument("--ramp-steps", default="240,480,720,960,1200,1440,1680,1920")
    parser.add_argument("--ramp-seconds", type=float, default=20.0)
    parser.add_argument("--ramp-runs", type=int, default=1)
    parser.add_argument("--ramp-stop-percent", type=float, default=1.0,
                        help="stop the ramp after a step with more than this %% of frames missed or packets lost")
    parser.add_argument("--pps-streams", type=int, default=480)
    parser.add_argument("--pps-seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of load before measuring")
    parser.add_argument("--rtpengine-threads", type=int, default=0, help="--num-threads (default: rtpengine's)")
    parser.add_argument("--ctl-workers", type=int, default=4, help="linegatectl calls in parallel at setup")
    parser.add_argument("--log-level", default="warn", help="gateway runtime.log_level (default warn)")
    parser.add_argument("--rtp-load-arg", action="append", default=[], dest="rtp_load_args",
                        help="extra argument for rtp_load (repeatable), e.g. --rtp-load-arg=--groups=4")
    parser.add_argument("--deadline", type=float, default=600.0, help="seconds for the whole script")
    parser.add_argument("--fifo-priority", type=int, default=0,
                        help="run the gateway, rtpengine and rtp_load under chrt -f N (SCHED_FIFO; default: "
                             "ordinary scheduling)")
    parser.add_argument("--json-out", help="write every result as JSON here")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    started = time.monotonic()
    args.bin_dir = os.path.join(os.path.abspath(args.build_dir), "bin")
    args.rtp_load = os.path.join(os.path.abspath(args.build_dir), "bench", "rtp_load")
    args.rtp_load_args = [a for arg in args.rtp_load_args for a in arg.split("=", 1)]
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    for p in parts:
        if p not in ("scale", "ramp", "pps"):
            sys.exit(f"unknown part {p!r}")
    for tool in [os.path.join(args.bin_dir, "linegate"), os.path.join(args.bin_dir, "linegatectl"), args.rtp_load]:
        if not os.access(tool, os.X_OK):
            sys.exit(f"{tool} missing: build linegate linegate-control linegate-media linegate-tdm "
                     f"linegate-signaling linegatectl rtp_load first")
    if "pps" in parts and not shutil.which("rtpengine"):
        sys.exit("rtpengine not found (apt-get install rtpengine-daemon)")
    steps = [int(x) for x in args.ramp_steps.split(",") if x.strip()]
    if args.fifo_priority:
        if not 1 <= args.fifo_priority <= 99:
            sys.exit("--fifo-priority is 1..99")
        SCHED_PREFIX[:] = ["chrt", "-f", str(args.fifo_priority)]

    workdir = tempfile.mkdtemp(prefix="lg-mediaload-")
    ports = PortPlanner()
    results = {"scale": [], "ramp": [], "pps": [], "skipped": []}
    try:
        commit = subprocess.run(["git", "-C", SOURCE_DIR, "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True).stdout.strip()
    except OSError:
        commit = "?"
    print(f"# media load: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, commit {commit}, nproc={os.cpu_count()}, "
          f"CPU {cpu_model()!r}, load average {loadavg()}, parts {','.join(parts)}, "
          f"scheduling {' '.join(SCHED_PREFIX) or 'default'}; work directory {workdir}",
          flush=True)

    def fits(label, seconds, sessions):
        # Setup: gateway start plus one linegatectl per session (about 10 ms each here).
        estimate = seconds + args.warmup + 15 + sessions * 0.02
        if time.monotonic() - started + estimate > args.deadline:
            results["skipped"].append(label)
            print(f"{label}: skipped (would pass the {args.deadline:.0f} s deadline)", flush=True)
            return False
        return True

    def progress(r):
        if "error" in r:
            print(f"{r['label']}: failed: {r['error']}", flush=True)
            return
        extra = ""
        if r["who"] == "linegate":
            extra = (f"missed {r['missed']}, lost to gw {r['gw_lost']}, lost from gw {r['load_lost']}, "
                     f"media CPU {r['media_cpu_s']:.2f} s, tdm {r['tdm_cpu_s']:.2f} s, ")
        else:
            extra = f"lost {r['load_lost']}, foreign {r['summary']['foreign']}, CPU {r['cpu_s']:.2f} s, "
        print(f"{r['label']}: {r['who']} {r['sessions']} sessions: {extra}{r['pps']:.0f} packets/s, "
              f"{fmt(r['pps_per_cpu_s'], '{:.0f}')} per CPU-second, rtp_load CPU {r['load_cpu_s']:.2f} s, "
              f"load {r['load_avg']}, setup {r['setup_s']:.1f} s", flush=True)

    interrupted = False
    try:
        if "scale" in parts:
            for run in range(1, args.runs + 1):
                label = f"scale-{run}"
                if fits(label, args.scale_seconds, args.scale_sessions):
                    r = measure_linegate(args, ports, args.scale_sessions, args.warmup, args.scale_seconds, workdir,
                                         label)
                    results["scale"].append(r)
                    progress(r)
        if "ramp" in parts:
            for run in range(1, args.ramp_runs + 1):
                for n in steps:
                    label = f"ramp{run}-{n}"
                    if not fits(label, args.ramp_seconds, n):
                        break
                    r = measure_linegate(args, ports, n, args.warmup, args.ramp_seconds, workdir, label)
                    r["ramp_run"] = run
                    results["ramp"].append(r)
                    progress(r)
                    # A step with a few missed frames (other load on a shared machine) is
                    # reported and the ramp goes on; it stops where the gateway no longer
                    # keeps up (--ramp-stop-percent of frames missed or packets lost).
                    if "error" in r or broken(r, args.ramp_stop_percent):
                        break
        if "pps" in parts:
            for run in range(1, args.runs + 1):
                order = ["linegate", "rtpengine"] if run % 2 else ["rtpengine", "linegate"]
                for who in order:
                    label = f"pps-{run}-{who}"
                    if not fits(label, args.pps_seconds, args.pps_streams if who == "linegate" else 0):
                        continue
                    if who == "linegate":
                        r = measure_linegate(args, ports, args.pps_streams, args.warmup, args.pps_seconds, workdir,
                                             label)
                    else:
                        r = measure_rtpengine(args, ports, args.pps_streams, args.warmup, args.pps_seconds,
                                              workdir, label)
                    results["pps"].append(r)
                    progress(r)
    except KeyboardInterrupt:
        interrupted = True
        print("interrupted: reporting what was measured", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    print(f"\n## Media load ({datetime.now(timezone.utc):%Y-%m-%d}, commit {commit}, nproc={os.cpu_count()}, "
          f"CPU {cpu_model()}, {args.media_processes} media processes)")
    if results["scale"]:
        print_scale(results["scale"], f"Scale: {args.scale_sessions} sessions, {args.scale_seconds:.0f} s")
    if results["ramp"]:
        print_scale(results["ramp"], f"Ramp: {args.ramp_seconds:.0f} s per step", summary=False)
        for run in range(1, args.ramp_runs + 1):
            steps_run = [r for r in results["ramp"] if r.get("ramp_run") == run]
            clean = [r["sessions"] for r in steps_run if r["clean"]]
            kept_up = [r["sessions"] for r in steps_run if "error" not in r and not broken(r, args.ramp_stop_percent)]
            print(f"\nramp run {run}: largest step with no missed deadline and no loss: "
                  f"{max(clean) if clean else 'none'}; largest with at most {args.ramp_stop_percent}% of frames "
                  f"missed or packets lost: {max(kept_up) if kept_up else 'none'}")
    if results["pps"]:
        print_pps(results["pps"])
    if results["skipped"]:
        print(f"\nskipped to stay within {args.deadline:.0f} s: {', '.join(results['skipped'])}")
    print(f"\ntotal time {time.monotonic() - started:.0f} s")
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(results, f, indent=1, default=str)
    failed = [r for part in ("scale", "ramp", "pps") for r in results[part] if "error" in r]
    return 1 if interrupted or failed else 0


if __name__ == "__main__":
    sys.exit(main())
