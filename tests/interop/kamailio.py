"""A Kamailio registrar/authenticating proxy for interop tests: its own configuration,
users (db_text) and control socket in a temporary directory, on 127.0.0.1 and a port
the test chooses. Started in the foreground, stopped (and waited for) by the test."""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import free_port as free_udp_port  # noqa: E402,F401  (one free-port helper for all tests)

MODULES = ["kex", "pv", "tm", "sl", "rr", "maxfwd", "textops", "siputils", "xlog", "usrloc", "registrar", "db_text",
           "auth", "auth_db", "ctl"]

MODULE_DIR = "/usr/lib/x86_64-linux-gnu/kamailio/modules"


class Kamailio:
    def __init__(self, users, domain="gw.test", algorithm=None, port=None, min_expires=60, calls=False,
                 static_routes=None):
        """calls: also act as the calls' proxy: INVITEs are challenged (407), then sent
        to the callee's registered contact, or to static_routes[number] ("ip:port")
        for numbers served by peers that do not register (SIPp)."""
        self.min_expires = min_expires
        self.calls = calls
        self.static_routes = static_routes or {}
        self.users = users  # {username: password}
        self.domain = domain
        self.algorithm = algorithm
        self.port = port or free_udp_port()
        self.dir = tempfile.mkdtemp(prefix="lg-kam-")
        self.process = None
        self.log_path = os.path.join(self.dir, "kamailio.log")

    def _write_files(self):
        db = os.path.join(self.dir, "db")
        os.makedirs(db)
        with open(os.path.join(db, "version"), "w") as f:
            f.write("table_name(string) table_version(int)\nsubscriber:7\n")
        with open(os.path.join(db, "subscriber"), "w") as f:
            # ha1/ha1b must be nullable or auth_db refuses every row.
            f.write("id(int,auto) username(string) domain(string) password(string) "
                    "ha1(string,null) ha1b(string,null)\n")
            for i, (user, password) in enumerate(sorted(self.users.items()), start=1):
                f.write(f"{i}:{user}:{self.domain}:{password}::\n")
        algorithm = f'modparam("auth", "algorithm", "{self.algorithm}")\n' if self.algorithm else ""
        modules = "".join(f'loadmodule "{m}.so"\n' for m in MODULES)
        cfg = f"""#!KAMAILIO
debug=2
log_stderror=yes
children=2
tcp_children=1
auto_aliases=no
alias="{self.domain}"
listen=udp:127.0.0.1:{self.port}
listen=tcp:127.0.0.1:{self.port}
mpath="{MODULE_DIR}/"
{modules}
modparam("ctl", "binrpc", "unix:{self.dir}/ctl.sock")
modparam("auth_db", "db_url", "text://{db}")
modparam("auth_db", "calculate_ha1", yes)
modparam("auth_db", "password_column", "password")
modparam("auth_db", "load_credentials", "")
modparam("usrloc", "db_mode", 0)
modparam("registrar", "min_expires", {self.min_expires})
{algorithm}
request_route {{
  if (!mf_process_maxfwd_header("10")) {{ sl_send_reply("483", "Too Many Hops"); exit; }}
{self._call_routing_head()}
  if (is_method("OPTIONS")) {{ sl_send_reply("200", "OK"); exit; }}
  if (is_method("REGISTER")) {{
    if (!auth_check("$fd", "subscriber", "0")) {{ auth_challenge("$fd", "1"); exit; }}
    if (!save("location")) {{ sl_reply_error(); }}
    exit;
  }}
{self._call_routing_tail()}
  sl_send_reply("404", "Not Here");
}}
"""
        self.cfg_path = os.path.join(self.dir, "kamailio.cfg")
        with open(self.cfg_path, "w") as f:
            f.write(cfg)

    def _call_routing_head(self):
        if not self.calls:
            return ""
        # In-dialog requests follow the Record-Route this proxy put in; CANCEL and the
        # ACK of a failed INVITE go to the transaction they belong to.
        return """  if (has_totag()) {
    if (loose_route()) { t_relay(); exit; }
    if (is_method("ACK")) { if (t_check_trans()) { t_relay(); } exit; }
    sl_send_reply("404", "Not here");
    exit;
  }
  if (is_method("CANCEL")) { if (t_check_trans()) { t_relay(); } exit; }"""

    def _call_routing_tail(self):
        if not self.calls:
            return ""
        statics = "".join(
            f'    if ($rU == "{number}") {{ $du = "sip:{target}"; t_relay(); exit; }}\n'
            for number, target in sorted(self.static_routes.items()))
        return f"""  if (is_method("INVITE|MESSAGE|REFER|SUBSCRIBE")) {{
    if (!proxy_authorize("$fd", "subscriber")) {{
      xlog("L_NOTICE", "challenge $rm from $fU\\n");
      proxy_challenge("$fd", "0");
      exit;
    }}
    consume_credentials();
    record_route();
{statics}    if (!lookup("location")) {{ sl_send_reply("404", "Not Found"); exit; }}
    t_relay();
    exit;
  }}"""

    def start(self, timeout=10):
        self._write_files()
        check = subprocess.run(["kamailio", "-c", "-f", self.cfg_path], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError("kamailio configuration rejected:\n" + check.stderr[-3000:])
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(["kamailio", "-f", self.cfg_path, "-DD", "-E", "-Y", self.dir],
                                        stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("kamailio exited:\n" + self.read_log()[-3000:])
            if os.path.exists(os.path.join(self.dir, "ctl.sock")) and self._answers_options():
                return self
            time.sleep(0.1)
        raise RuntimeError("kamailio did not come up:\n" + self.read_log()[-3000:])

    def _answers_options(self):
        msg = (f"OPTIONS sip:{self.domain} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKprobe{time.time_ns()}\r\n"
               f"From: <sip:probe@{self.domain}>;tag=1\r\nTo: <sip:{self.domain}>\r\nCall-ID: probe{time.time_ns()}\r\n"
               "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.3)
            s.bind(("127.0.0.1", 0))
            msg = msg.replace("127.0.0.1:9", f"127.0.0.1:{s.getsockname()[1]}")
            s.sendto(msg.encode(), ("127.0.0.1", self.port))
            try:
                return s.recv(4096).startswith(b"SIP/2.0 200")
            except socket.timeout:
                return False

    def kamcmd(self, *args):
        return subprocess.run(["kamcmd", "-s", f"unix:{self.dir}/ctl.sock", *args], capture_output=True,
                              text=True, timeout=10)

    def registered_aors(self):
        """AORs in the location table (user part), from `kamcmd ul.dump`."""
        out = self.kamcmd("ul.dump").stdout
        aors = set()
        for line in out.splitlines():
            line = line.strip()
            if line.startswith("AoR:"):
                aors.add(line.split(":", 1)[1].strip())
        return aors

    def contacts(self):
        """(aor, contact, expires) rows from `kamcmd ul.dump`."""
        rows = []
        aor = None
        contact = None
        for line in self.kamcmd("ul.dump").stdout.splitlines():
            line = line.strip()
            if line.startswith("AoR:"):
                aor = line.split(":", 1)[1].strip()
            elif line.startswith("Address:"):
                contact = line.split(":", 1)[1].strip()
            elif line.startswith("Expires:") and aor:
                rows.append((aor, contact, line.split(":", 1)[1].strip()))
        return rows

    def cseqs(self):
        """AOR -> highest CSeq of its contacts, from `kamcmd ul.dump`."""
        result = {}
        aor = None
        for line in self.kamcmd("ul.dump").stdout.splitlines():
            line = line.strip()
            if line.startswith("AoR:"):
                aor = line.split(":", 1)[1].strip()
            elif line.startswith("CSeq:") and aor:
                result[aor] = max(result.get(aor, 0), int(line.split(":", 1)[1]))
        return result

    def read_log(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process:
            self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
