"""baresip (Debian's baresip 1.0.0) as a real softphone in interop tests: one instance
per test with its own configuration directory, registered to a registrar, driven over
its ctrl_tcp socket (netstring-framed JSON: dial, accept, hangup) and reporting call
events. It sends a sine tone from a WAV file (aufile) and the sndfile filter writes what
it received to dump-*-dec.wav, which measure_received() analyses."""
import glob
import json
import os
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import wave

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import rtp_peer  # noqa: E402
from harness import free_port  # noqa: E402

MODULE_DIR = "/usr/lib/baresip/modules"


def write_tone_wav(path, frequency_hz, level_dbm0, seconds):
    samples = rtp_peer.tone(frequency_hz, level_dbm0, int(seconds * rtp_peer.SAMPLE_RATE))
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rtp_peer.SAMPLE_RATE)
        w.writeframes(b"".join(int(s).to_bytes(2, "little", signed=True) for s in samples))


def _netstring(obj):
    data = json.dumps(obj).encode()
    return str(len(data)).encode() + b":" + data + b","


class Baresip:
    def __init__(self, user, password, domain, registrar_port, tone_hz=440.0, tone_dbm0=-10.0,
                 answer_auto=False, call_seconds=60):
        self.user = user
        self.password = password
        self.domain = domain
        self.registrar_port = registrar_port
        self.tone_hz = tone_hz
        self.tone_dbm0 = tone_dbm0
        self.answer_auto = answer_auto
        self.call_seconds = call_seconds
        self.dir = tempfile.mkdtemp(prefix="lg-baresip-")
        # baresip binds SIP port + 1 for TLS too: take a port whose successor is free.
        self.sip_port = free_port()
        while not _udp_tcp_free(self.sip_port + 1):
            self.sip_port = free_port()
        self.ctrl_port = free_port()
        self.process = None
        self.events = queue.Queue()
        self._sock = None
        self._reader = None
        self._token = 0
        self._responses = queue.Queue()
        self.seen_events = []

    @property
    def uri(self):
        return f"sip:{self.user}@{self.domain}"

    def start(self, timeout=10):
        # The source file must outlast the call: baresip hangs up when it ends.
        write_tone_wav(os.path.join(self.dir, "tone.wav"), self.tone_hz, self.tone_dbm0, self.call_seconds)
        with open(os.path.join(self.dir, "config"), "w") as f:
            f.write(f"""poll_method epoll
sip_listen 127.0.0.1:{self.sip_port}
sip_transports udp
audio_source aufile,{self.dir}/tone.wav
audio_alert aufile,{self.dir}/tone.wav
audio_channels 1
audio_srate 8000
module_path {MODULE_DIR}
module menu.so
module g711.so
module aufile.so
module sndfile.so
module_app account.so
module_app ctrl_tcp.so
ctrl_tcp_listen 127.0.0.1:{self.ctrl_port}
snd_path {self.dir}
net_interface 127.0.0.1
""")
        answer = "auto" if self.answer_auto else "manual"
        with open(os.path.join(self.dir, "accounts"), "w") as f:
            f.write(f"<sip:{self.user}@{self.domain}>;auth_pass={self.password};"
                    f"outbound=\"sip:127.0.0.1:{self.registrar_port}\";regint=300;answermode={answer};"
                    "audio_codecs=PCMU,PCMA\n")
        open(os.path.join(self.dir, "contacts"), "w").close()
        self.log = open(os.path.join(self.dir, "baresip.log"), "w")
        self.process = subprocess.Popen(["baresip", "-f", self.dir], stdout=self.log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, cwd=self.dir)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("baresip exited:\n" + self.read_log()[-3000:])
            try:
                self._sock = socket.create_connection(("127.0.0.1", self.ctrl_port), timeout=0.5)
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("baresip's ctrl_tcp did not come up:\n" + self.read_log()[-3000:])
        self._sock.settimeout(None)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        return self

    def _read(self):
        buffer = b""
        while True:
            try:
                chunk = self._sock.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            buffer += chunk
            while True:
                colon = buffer.find(b":")
                if colon < 0:
                    break
                length = int(buffer[:colon])
                if len(buffer) < colon + 1 + length + 1:
                    break
                message = json.loads(buffer[colon + 1:colon + 1 + length])
                buffer = buffer[colon + 1 + length + 1:]
                if message.get("response"):
                    self._responses.put(message)
                elif message.get("event"):
                    self.events.put(message)

    def command(self, command, params="", timeout=5):
        self._token += 1
        self._sock.sendall(_netstring({"command": command, "params": params, "token": str(self._token)}))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                response = self._responses.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if response.get("token") == str(self._token):
                return response
        raise RuntimeError(f"baresip: no response to {command}")

    def wait_event(self, event_type, timeout=10):
        """The next event of that type (others are kept in seen_events)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                event = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            self.seen_events.append(event)
            if event.get("type") == event_type:
                return event
        return None

    def dial(self, uri):
        return self.command("dial", uri)

    def accept(self):
        return self.command("accept")

    def hangup(self):
        return self.command("hangup")

    def received_wav(self):
        files = sorted(glob.glob(os.path.join(self.dir, "dump-*-dec.wav")), key=os.path.getmtime)
        return files[-1] if files else None

    def received_samples(self):
        """What baresip received in its last call, as 16-bit samples. sndfile writes its
        WAV in large buffered chunks: read it after the call ended."""
        path = self.received_wav()
        if path is None:
            return []
        with open(path, "rb") as f:
            pcm = f.read()[44:]  # canonical 44-byte header of sndfile's WAV
        return [int.from_bytes(pcm[i:i + 2], "little", signed=True) for i in range(0, len(pcm) - 1, 2)]

    def tone_windows(self, window_s=0.25):
        """(start_s, ToneMeasurement) of consecutive windows of the last call's audio."""
        samples = self.received_samples()
        size = int(window_s * rtp_peer.SAMPLE_RATE)
        return [(start / rtp_peer.SAMPLE_RATE, rtp_peer.measure_tone(samples[start:start + size]))
                for start in range(0, len(samples) - size + 1, size)]

    def heard_seconds(self, frequency_hz, level_dbm0=-10.0, hz_tolerance=5.0, db_tolerance=1.5):
        """How long (longest run of windows) the last call carried that tone."""
        best = run = 0.0
        for _, m in self.tone_windows():
            # The tone's own level: a residue of the far end's audio may ride along.
            if abs(m.frequency_hz - frequency_hz) <= hz_tolerance and abs(m.tone_level_dbm0 - level_dbm0) <= db_tolerance:
                run += 0.25
                best = max(best, run)
            else:
                run = 0.0
        return best

    def read_log(self):
        try:
            with open(os.path.join(self.dir, "baresip.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self._sock:
            try:
                self._sock.close()
            except OSError:
                pass
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process:
            self.log.close()
        if os.environ.get("LINEGATE_KEEP_TEST_DIRS") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)


def _udp_tcp_free(port):
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True
