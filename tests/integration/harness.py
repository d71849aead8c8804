"""Shared helpers for linegate's process-level tests.

Each test gets its own runtime directory (and so its own ipc:// bus sockets), so tests
run in parallel under `ctest -j` without clashing. Every wait is bounded.
"""
import os
import signal
import subprocess
import tempfile
import time
import unittest

BIN_DIR = os.environ.get("LINEGATE_BIN_DIR", os.path.join(os.getcwd(), "bin"))
SOURCE_DIR = os.environ.get("LINEGATE_SOURCE_DIR",
                            os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def binary(name):
    return os.path.join(BIN_DIR, name)


def free_port():
    """A port free for UDP and TCP on 127.0.0.1 now, so parallel gateways never share one."""
    import socket
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                try:
                    t.bind(("127.0.0.1", port))
                    return port
                except OSError:
                    continue
    raise RuntimeError("no free port")


_rtp_block_lock = None


def rtp_port_block():
    """A block of 1000 RTP ports in 20000-29999 that no other test process holds: the
    first of ten blocks whose lock file this process can lock (kept until it exits).
    Gateways of tests that ctest runs side by side would otherwise use the same ports:
    call control reserves each line's ports from the top of the range, so line 3 has the
    same port in every gateway."""
    global _rtp_block_lock
    import fcntl
    if _rtp_block_lock is not None:
        return _rtp_block_lock[1]
    for block in range(10):
        f = open(f"/tmp/linegate-test-rtp-block-{block}.lock", "w")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.close()
            continue
        ports = (20000 + 1000 * block, 20000 + 1000 * block + 999)
        _rtp_block_lock = (f, ports)
        return ports
    raise RuntimeError("no free RTP port block: ten test processes hold one each")


def config_text(runtime_dir, media_processes=2, fxs=8, heartbeat_ms=500, extra="", sip_port=None,
                signaling_extra="", fxo=0):
    """A gateway on a private runtime directory and its own SIP port. extra: more top-level
    sections; signaling_extra: more lines (indented) of the signaling section."""
    sip_port = sip_port or free_port()
    rtp_min, rtp_max = rtp_port_block()
    return f"""
gateway:
  name: itest
runtime:
  runtime_dir: {runtime_dir}
  log_level: info
bus:
  heartbeat_interval_ms: {heartbeat_ms}
  heartbeat_miss_limit: 3
signaling:
  listen_address: 127.0.0.1
  sip_port: {sip_port}
{signaling_extra}media:
  process_count: {media_processes}
  backend: kernel_sockets
  rtp_port_min: {rtp_min}
  rtp_port_max: {rtp_max}
tdm:
  driver: sim
  cards:
    - name: sim0
      fxs_ports: {fxs}
      fxo_ports: {fxo}
{extra}"""


def pids_naming(*needles):
    """Pids (other than ours) whose command line holds any of `needles`: the processes of
    one gateway, found by its configuration file or runtime directory. Also used by the
    bench/ load scripts."""
    wanted = [n.encode() for n in needles]
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        if any(n in cmdline for n in wanted):
            pids.append(int(entry))
    return pids


def pid_alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def wait_for(predicate, timeout, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


def parse_status(text):
    """Rows of `linegatectl status` as dicts keyed by process name."""
    lines = text.strip().splitlines()
    rows = {}
    for line in lines[2:]:
        cols = line.split(None, 7)
        rows[cols[0]] = {
            "shard": cols[1], "pid": 0 if cols[2] == "-" else int(cols[2]), "state": cols[3],
            "uptime": cols[4], "restarts": int(cols[5]), "heartbeat": cols[6],
            "detail": cols[7] if len(cols) > 7 else "",
        }
    return rows


class GatewayTestCase(unittest.TestCase):
    """Starts `linegate run -c FILE` on a private runtime directory."""

    media_processes = 2
    fxs = 8
    fxo = 0
    supervision = ""

    def setUp(self):
        # Short path: ipc:// socket paths are limited to ~107 bytes.
        self.dir = tempfile.mkdtemp(prefix="lg-")
        self.runtime_dir = os.path.join(self.dir, "run")
        self.config = os.path.join(self.dir, "gateway.yaml")
        with open(self.config, "w") as f:
            f.write(config_text(self.runtime_dir, media_processes=self.media_processes, fxs=self.fxs, fxo=self.fxo,
                                extra=self.supervision))
        self.log = open(os.path.join(self.dir, "gateway.log"), "w+")
        self.gateway = None

    def tearDown(self):
        if self.gateway and self.gateway.poll() is None:
            self.gateway.send_signal(signal.SIGTERM)
            try:
                self.gateway.wait(10)
            except subprocess.TimeoutExpired:
                self.gateway.kill()
                self.gateway.wait()
        # Whatever a failing test left behind: never leak processes into other tests.
        for pid in self.processes_of_this_gateway():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.log.close()
        # TDM bus regions a killed tdm process left (an orderly stop removes its own).
        prefix = "linegate" + "".join(c if c.isalnum() or c in "-._" else "_" for c in self.runtime_dir)
        for name in os.listdir("/dev/shm"):
            if name.startswith(prefix + ".card"):
                os.unlink(os.path.join("/dev/shm", name))
        subprocess.run(["rm", "-rf", self.dir], check=False)

    def start(self):
        self.gateway = subprocess.Popen([binary("linegate"), "run", "-c", self.config],
                                        stdout=self.log, stderr=subprocess.STDOUT)
        return self.gateway

    def ctl(self, *args, timeout=10):
        return subprocess.run([binary("linegatectl"), "-c", self.config, *args],
                              capture_output=True, text=True, timeout=timeout)

    def status(self):
        result = self.ctl("status")
        if result.returncode not in (0, 1):
            return result.returncode, {}
        return result.returncode, parse_status(result.stdout)

    def wait_healthy(self, timeout):
        def healthy():
            code, rows = self.status()
            return rows if code == 0 else None
        return wait_for(healthy, timeout, step=0.1)

    def processes_of_this_gateway(self):
        """Pids whose command line mentions this test's runtime directory."""
        return [pid for pid in pids_naming(self.runtime_dir, self.config) if pid_alive(pid)]

    def gateway_log(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()
