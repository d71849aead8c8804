"""What went over the wire, from tshark: a capture of the RTP a test's peers exchange on
loopback, decoded into G.711 samples per stream. Used where the peer's own recording
cannot be trusted (baresip 1.0's sndfile stops writing what it decodes after a
re-INVITE changes the stream)."""
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import rtp_peer  # noqa: E402


class RtpCapture:
    def __init__(self, port_min, port_max):
        """Captures UDP from or to ports port_min..port_max on lo."""
        self.dir = tempfile.mkdtemp(prefix="lg-cap-")
        self.path = os.path.join(self.dir, "rtp.pcap")
        self.filter = f"udp portrange {port_min}-{port_max}"
        self.process = None

    @staticmethod
    def available():
        return shutil.which("tshark") is not None and os.geteuid() == 0

    def start(self, timeout=5.0):
        self.log = open(os.path.join(self.dir, "tshark.log"), "w")
        self.process = subprocess.Popen(["tshark", "-i", "lo", "-w", self.path, "-F", "pcap", "-f", self.filter],
                                        stdout=self.log, stderr=subprocess.STDOUT)
        # tshark says "Capturing on 'Loopback: lo'" once the capture runs.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(os.path.join(self.dir, "tshark.log")) as f:
                if "Capturing on" in f.read():
                    return self
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError("tshark did not start: " + open(os.path.join(self.dir, "tshark.log")).read())

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process:
            self.log.close()
            self.process = None

    def streams(self):
        """{(src_port, dst_port): [samples]} of every G.711 RTP stream captured, in
        packet order (the capture is on loopback: no loss, no reordering)."""
        self.stop()
        out = subprocess.run(["tshark", "-r", self.path, "-o", "rtp.heuristic_rtp:TRUE", "-Y", "rtp",
                              "-T", "fields", "-e", "udp.srcport", "-e", "udp.dstport", "-e", "rtp.p_type",
                              "-e", "rtp.payload"], capture_output=True, text=True, timeout=60).stdout
        streams = {}
        for line in out.splitlines():
            fields = line.split("\t")
            if len(fields) < 4 or not fields[3]:
                continue
            payload_type = int(fields[2])
            if payload_type not in (0, 8):
                continue
            payload = bytes.fromhex(fields[3].replace(":", ""))
            law = "ulaw" if payload_type == 0 else "alaw"
            streams.setdefault((int(fields[0]), int(fields[1])), []).extend(rtp_peer.decode(payload, law))
        return streams

    def close(self):
        self.stop()
        if os.environ.get("LINEGATE_KEEP_TEST_DIRS") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)
