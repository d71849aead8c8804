"""SIPp 3.6.1 (package sip-tester) as a scripted UAS for interop tests: one instance per
scenario on 127.0.0.1 and a port the test chooses, run in the foreground with its
message, error and <log> traces in a private directory, and a parser for the message
trace so tests can assert on what SIPp received and when.

What SIPp does here (observed with 3.6.1 on Debian 12):
- Every Call-ID is one SIPp call running the scenario from the top. A request whose
  Call-ID belongs to a call that already ended is dropped unanswered ("Dead call ...
  received" in the error file) for -deadcall_wait (33 s by default). Scenarios that
  answer one request per call (keep-alive OPTIONS, refreshes) need -deadcall_wait 0;
  it is always passed here.
- Besides the SIP socket SIPp binds a UDP control socket (8888 upwards, on 0.0.0.0
  unless -ci is given; -ci 127.0.0.1 is always passed) and two media sockets (6000
  upwards, on the -i address); both step to the next free port, so instances run in
  parallel.
- SIGTERM makes it print its statistics and exit (status 0 when no call failed, 1
  otherwise) with its traces flushed.
- Keywords (-key NAME VALUE -> [NAME]) are expanded in messages and in <verifyauth>
  username/password, not in <pause> values ("is not a floating point number") or in
  ereg regular expressions (matched literally as a bracket expression).
- <ereg search_in="hdr" header="Expires:"> sees the value with the space after the
  colon (" 3600"). A failed check_it counts the call as failed (exit status 1) but the
  scenario goes on: the next <send> still goes out. Tests must assert the exit status,
  not only the peer's state.
- <recv> with a timeout and no ontimeout aborts the call as failed when it expires: the
  scenarios use that to fail on purpose.
- An unexpected message aborts the call (failed) and is written to the message trace
  as a block without a timestamp ("Unexpected UDP message received:").
"""
import datetime
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

from kamailio import free_udp_port  # noqa: F401 (re-exported for the tests)

SCENARIO_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sipp")

_SEPARATOR = re.compile(r"^-{47} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)\s*$", re.M)
_DIRECTION = re.compile(r"^(\w+) message (received|sent) (?:\[\d+\] bytes :|\(\d+ bytes\):)\s*$")


class SipMessage:
    """One message from SIPp's -trace_msg file."""

    def __init__(self, when, direction, transport, text):
        self.time = when          # seconds since the epoch (SIPp's local clock)
        self.direction = direction  # "received" or "sent"
        self.transport = transport  # "UDP", ...
        self.text = text

    @property
    def start_line(self):
        return self.text.split("\n", 1)[0].strip()

    @property
    def method(self):
        """Request method, or None for a response."""
        first = self.start_line
        return None if first.startswith("SIP/2.0") else first.split(" ", 1)[0]

    @property
    def status(self):
        """Response status code, or None for a request."""
        first = self.start_line
        return int(first.split(" ", 2)[1]) if first.startswith("SIP/2.0") else None

    def headers(self, name):
        """Every value of header `name` (case-insensitive, no compact forms), in order."""
        values = []
        head = self.text.split("\n\n", 1)[0]
        for line in head.split("\n")[1:]:
            key, sep, value = line.partition(":")
            if sep and key.strip().lower() == name.lower():
                values.append(value.strip())
        return values

    def header(self, name):
        values = self.headers(name)
        return values[0] if values else None

    def __repr__(self):
        return f"<{self.direction} {self.start_line!r} at {self.time:.6f}>"


def parse_messages(text):
    """SipMessage list from the contents of a -message_file."""
    messages = []
    parts = _SEPARATOR.split(text)
    # parts: [preamble, time1, block1, time2, block2, ...]
    for when, block in zip(parts[1::2], parts[2::2]):
        lines = block.lstrip("\n").split("\n", 1)
        match = _DIRECTION.match(lines[0].strip())
        if not match or len(lines) < 2:
            continue
        body = lines[1].replace("\r\n", "\n").lstrip("\n")
        # A trailing "Unexpected ... message received:" block belongs to no timestamp.
        body = body.split("\n-----------------------------------------------\n", 1)[0]
        stamp = datetime.datetime.strptime(when, "%Y-%m-%d %H:%M:%S.%f").timestamp()
        messages.append(SipMessage(stamp, match.group(2), match.group(1), body.rstrip("\n") + "\n"))
    return messages


def _port_bound(port):
    """True when a UDP socket is bound to 127.0.0.1:port (from /proc/net/udp)."""
    wanted = f"0100007F:{port:04X}"
    try:
        with open("/proc/net/udp") as f:
            return any(line.split()[1] == wanted for line in f.readlines()[1:])
    except OSError:
        return False


class Sipp:
    """One SIPp UAS: `Sipp("auth_qop.xml", keys={...}, calls=1, timeout=20).start()`.

    calls: -m (SIPp exits after that many calls; None: until stopped).
    timeout: -timeout in seconds, a bound on the whole run; with calls set it is an
    error (-timeout_error) so a scenario that never completes exits non-zero.
    """

    def __init__(self, scenario, port=None, keys=None, calls=None, timeout=60, name="sipp"):
        self.scenario = scenario if os.path.isabs(scenario) else os.path.join(SCENARIO_DIR, scenario)
        self.port = port or free_udp_port()
        self.keys = dict(keys or {})
        self.calls = calls
        self.timeout = timeout
        self.name = name
        self.dir = tempfile.mkdtemp(prefix=f"lg-sipp-{name}-")
        self.message_file = os.path.join(self.dir, "messages.log")
        self.error_file = os.path.join(self.dir, "errors.log")
        self.log_file = os.path.join(self.dir, "actions.log")
        self.output_file = os.path.join(self.dir, "stdout.log")
        self.process = None
        self.returncode = None

    def command(self):
        cmd = ["sipp", "-sf", self.scenario, "-i", "127.0.0.1", "-p", str(self.port),
               "-ci", "127.0.0.1", "-mi", "127.0.0.1", "-t", "u1",
               "-nostdin", "-deadcall_wait", "0", "-timeout", f"{self.timeout}s",
               "-trace_msg", "-message_file", self.message_file,
               "-trace_err", "-error_file", self.error_file,
               "-trace_logs", "-log_file", self.log_file]
        if self.calls is not None:
            cmd += ["-m", str(self.calls), "-timeout_error"]
        for key, value in self.keys.items():
            cmd += ["-key", key, str(value)]
        return cmd

    def start(self, ready_timeout=5.0):
        self._out = open(self.output_file, "w")
        self.process = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=self._out,
                                        stderr=subprocess.STDOUT)
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"sipp {self.name} exited with {self.process.returncode}:\n{self.report()}")
            if _port_bound(self.port):
                return self
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"sipp {self.name} did not bind 127.0.0.1:{self.port}:\n{self.report()}")

    def wait(self, timeout):
        """Exit status once SIPp ends by itself; kills it and raises after timeout."""
        try:
            self.returncode = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise AssertionError(f"sipp {self.name} still running after {timeout} s:\n{self.report()}")
        self._out.close()
        return self.returncode

    def running(self):
        return self.process is not None and self.process.poll() is None

    def stop(self):
        """SIGTERM (SIPp flushes its traces and exits), SIGKILL if it lingers."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.returncode = self.process.returncode
        if not self._out.closed:
            self._out.close()
        return self.returncode

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    # What SIPp saw.

    def _read(self, path):
        try:
            with open(path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def messages(self):
        return parse_messages(self._read(self.message_file))

    def received(self, method=None):
        """Requests (and responses) SIPp received, in order; method filters requests."""
        return [m for m in self.messages()
                if m.direction == "received" and (method is None or m.method == method)]

    def sent(self):
        return [m for m in self.messages() if m.direction == "sent"]

    def errors(self):
        return self._read(self.error_file)

    def action_log(self):
        return self._read(self.log_file)

    def report(self, tail=6000):
        """Everything useful in an assertion message: exit status, errors, messages."""
        return (f"--- sipp {self.name} (port {self.port}, exit {self.returncode}) errors:\n"
                f"{self.errors()[-2000:]}\n--- messages:\n{self._read(self.message_file)[-tail:]}\n"
                f"--- output:\n{self._read(self.output_file)[-1500:]}")
