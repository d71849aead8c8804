"""Registration against SIPp playing a scripted registrar: digest qop=auth (MD5), a stale
nonce, a SHA-256 challenge, a wrong password, 423 Min-Expires, 503 Retry-After, and
failover to the second proxy of a set then homing back to the first.

Each test runs its own SIPp UAS instance(s) (tests/interop/sipp/*.xml, helper sipp.py)
on 127.0.0.1 and free ports, and a gateway with one account whose proxy set points at
them. It asserts on what SIPp received (its message trace, and ereg/verifyauth checks
in the scenarios that fail the SIPp call) and on the gateway's view (`linegatectl
registrations --json`, and the "registration state" lines of the gateway log)."""
import hashlib
import json
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import GatewayTestCase, wait_for  # noqa: E402
from sipp import Sipp, free_udp_port  # noqa: E402

USER = "alice"
PASSWORD = "s3cret-Pa55"
REALM = "gw.test"
DOMAIN = "gw.test"
ENTITY = "account-a1"
REQUEST_URI = f"sip:{DOMAIN}"


def gateway_config(runtime_dir, sip_port, proxy_ports, password, expires_s=3600, keepalive_s=0, t1_ms=None):
    proxies = "".join(f"        - address: 127.0.0.1\n          port: {port}\n" for port in proxy_ports)
    timers = f"  timers:\n    t1_ms: {t1_ms}\n" if t1_ms else ""
    return f"""
gateway:
  name: sipptest
runtime:
  runtime_dir: {runtime_dir}
media:
  process_count: 1
tdm:
  driver: sim
  cards:
    - name: sim0
      fxs_ports: 1
signaling:
  listen_address: 127.0.0.1
  sip_port: {sip_port}
  domain: {DOMAIN}
{timers}  proxy_sets:
    - name: registrar
      keepalive_interval_s: {keepalive_s}
      proxies:
{proxies}  accounts:
    - name: a1
      line: 1
      proxy_set: registrar
      username: {USER}
      password: {password}
      expires_s: {expires_s}
"""


def digest_params(header):
    """Parameters of a Digest Authorization / WWW-Authenticate value, unquoted."""
    scheme, _, rest = header.partition(" ")
    if scheme.lower() != "digest":
        raise AssertionError(f"not a Digest header: {header!r}")
    return {m.group(1).lower(): m.group(3) if m.group(3) is not None else m.group(4)
            for m in re.finditer(r'(\w+)\s*=\s*("([^"]*)"|([^,\s]+))', rest)}


def digest_response(hash_name, user, realm, password, method, uri, nonce, nc, cnonce, qop):
    """RFC 7616 3.4.1 response for qop=auth."""
    h = lambda text: hashlib.new(hash_name, text.encode()).hexdigest()  # noqa: E731
    ha1 = h(f"{user}:{realm}:{password}")
    ha2 = h(f"{method}:{uri}")
    return h(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")


class SippRegistrarCase(GatewayTestCase):
    """A gateway with one account (account-a1, user alice) and SIPp registrars."""
    media_processes = 1

    def setUp(self):
        super().setUp()
        self.sip_port = free_udp_port()
        self.sipps = []

    def tearDown(self):
        try:
            super().tearDown()
        finally:
            for sipp in self.sipps:
                sipp.cleanup()

    def sipp(self, scenario, name, **kwargs):
        sipp = Sipp(scenario, name=name, **kwargs)
        self.sipps.append(sipp)
        return sipp.start()

    def configure(self, proxy_ports, password=PASSWORD, **kwargs):
        with open(self.config, "w") as f:
            f.write(gateway_config(self.runtime_dir, self.sip_port, proxy_ports, password, **kwargs))

    # The gateway's view.

    def registration(self):
        """This account's row of `linegatectl registrations --json` (None if unavailable)."""
        result = self.ctl("registrations", "--json")
        if result.returncode != 0:
            return None
        for row in json.loads(result.stdout).get("registrations", []):
            if row.get("id") == ENTITY:
                return row
        return None

    def wait_registration(self, predicate, timeout):
        def check():
            row = self.registration()
            return row if row and predicate(row) else None
        return wait_for(check, timeout, step=0.1)

    def state_events(self):
        """(state, status) of every "registration state" log line of the account."""
        pattern = re.compile(r'msg="registration state" id=' + re.escape(ENTITY) + r' .*?state=(\w+) status=(\d+)')
        return [(m.group(1), int(m.group(2))) for m in pattern.finditer(self.gateway_log())]

    def diagnostics(self):
        listing = self.ctl("registrations")
        return (f"\n--- linegatectl registrations (exit {listing.returncode}):\n{listing.stdout}{listing.stderr}"
                + "".join("\n" + s.report() for s in self.sipps)
                + f"\n--- gateway log:\n{self.gateway_log()[-3000:]}")

    def assert_registered(self, proxy_port, expires_max, expires_min):
        row = self.wait_registration(lambda r: r.get("state") == "REGISTRATION_STATE_REGISTERED", timeout=5.0)
        self.assertTrue(row, "not registered" + self.diagnostics())
        self.assertEqual(row["last_status"], 200, self.diagnostics())
        self.assertEqual(row["registrar"], f"udp:127.0.0.1:{proxy_port}", self.diagnostics())
        self.assertLessEqual(int(row["expires_in_s"]), expires_max, row)
        self.assertGreaterEqual(int(row["expires_in_s"]), expires_min, row)
        return row

    def assert_sipp_passed(self, sipp, timeout):
        code = sipp.wait(timeout)
        self.assertEqual(code, 0, f"SIPp {sipp.name} reports a failed call" + self.diagnostics())

    def register_with_qop_auth(self):
        """SIPp auth_qop.xml (401 qop=auth MD5, then 200 granting 1800 s), passed."""
        sipp = self.sipp("auth_qop.xml", "registrar", calls=1, timeout=20,
                         keys={"reg_user": USER, "reg_password": PASSWORD, "grant_s": 1800})
        self.configure([sipp.port])
        self.start()
        self.assert_sipp_passed(sipp, 25)
        return sipp

    def assert_same_dialog(self, registers):
        """One Call-ID, one From tag, CSeq +1 per REGISTER (RFC 3261 10.2)."""
        self.assertEqual(len({r.header("Call-ID") for r in registers}), 1, registers)
        self.assertEqual(len({r.header("From") for r in registers}), 1, registers)
        cseqs = [int(r.header("CSeq").split()[0]) for r in registers]
        self.assertEqual(cseqs, list(range(cseqs[0], cseqs[0] + len(cseqs))), cseqs)

    def assert_digest(self, register, challenge, hash_name, algorithm, password=PASSWORD):
        """The Authorization of `register` answers `challenge` (a sent 401) with qop=auth."""
        asked = digest_params(challenge.header("WWW-Authenticate"))
        header = register.header("Authorization")
        self.assertIsNotNone(header, register.text)
        got = digest_params(header)
        self.assertEqual(got.get("username"), USER, header)
        self.assertEqual(got.get("realm"), asked["realm"], header)
        self.assertEqual(got.get("nonce"), asked["nonce"], header)
        self.assertEqual(got.get("uri"), REQUEST_URI, header)
        self.assertEqual(register.start_line.split()[1], REQUEST_URI, register.start_line)
        self.assertEqual(got.get("algorithm", "MD5").upper(), algorithm, header)
        self.assertEqual(got.get("qop"), "auth", header)
        self.assertEqual(got.get("nc"), "00000001", header)  # first use of this nonce
        self.assertTrue(got.get("cnonce"), header)
        expected = digest_response(hash_name, USER, asked["realm"], password, "REGISTER", got["uri"],
                                   asked["nonce"], got["nc"], got["cnonce"], got["qop"])
        self.assertEqual(got.get("response"), expected, header)
        return got


class DigestQopAuthTest(SippRegistrarCase):
    """401 with qop="auth", MD5: SIPp's <verifyauth> checks the answer; 200 grants 1800 s."""

    def test_challenge_answered_and_registered(self):
        sipp = self.register_with_qop_auth()
        registers = sipp.received("REGISTER")
        self.assertEqual(len(registers), 2, sipp.report())
        self.assert_same_dialog(registers)
        self.assertIsNone(registers[0].header("Authorization"), registers[0].text)
        challenge = [m for m in sipp.sent() if m.status == 401][0]
        self.assert_digest(registers[1], challenge, "md5", "MD5")
        # Contact and Expires as asked (account expires_s 3600); the grant (1800) wins.
        self.assertEqual(registers[1].header("Expires"), "3600", registers[1].text)
        self.assertRegex(registers[1].header("Contact"),
                         rf"^<sip:{USER}@127\.0\.0\.1:{self.sip_port}(;transport=udp)?>;expires=3600$")
        self.assert_registered(sipp.port, expires_max=1800, expires_min=1790)
        self.assertEqual([s for s, _ in self.state_events() if s == "failed"], [], self.diagnostics())


class ListingAorTest(SippRegistrarCase):
    """The AOR column of `linegatectl registrations` (RegistrationStatus.aor) names the
    registered AOR, after the same exchange as DigestQopAuthTest."""

    def test_listing_names_the_aor(self):
        sipp = self.register_with_qop_auth()
        row = self.assert_registered(sipp.port, expires_max=1800, expires_min=1790)
        self.assertEqual(row.get("aor"), f"{USER}@{DOMAIN}", f"aor not reported: {row}" + self.diagnostics())


class StaleNonceTest(SippRegistrarCase):
    """401, then 401 stale=true with a new nonce to correct credentials, then 200."""

    def test_stale_nonce_answered_without_failure(self):
        sipp = self.sipp("stale_nonce.xml", "registrar", calls=1, timeout=20,
                         keys={"reg_user": USER, "reg_password": PASSWORD, "grant_s": 1800})
        self.configure([sipp.port])
        self.start()
        self.assert_sipp_passed(sipp, 25)
        registers = sipp.received("REGISTER")
        self.assertEqual(len(registers), 3, sipp.report())
        self.assert_same_dialog(registers)
        challenges = [m for m in sipp.sent() if m.status == 401]
        self.assertEqual(len(challenges), 2, sipp.report())
        self.assertIn("stale=true", challenges[1].header("WWW-Authenticate"))
        self.assert_digest(registers[1], challenges[0], "md5", "MD5")
        self.assert_digest(registers[2], challenges[1], "md5", "MD5")
        self.assert_registered(sipp.port, expires_max=1800, expires_min=1790)
        events = self.state_events()
        self.assertIn(("registered", 200), events, self.diagnostics())
        self.assertEqual([e for e in events if e[0] == "failed"], [], self.diagnostics())


class Sha256ChallengeTest(SippRegistrarCase):
    """401 algorithm=SHA-256 qop=auth: SIPp cannot verify it, the test recomputes it."""

    def test_sha256_response_recomputed(self):
        sipp = self.sipp("sha256.xml", "registrar", calls=1, timeout=20, keys={"grant_s": 1800})
        self.configure([sipp.port])
        self.start()
        self.assert_sipp_passed(sipp, 25)
        registers = sipp.received("REGISTER")
        self.assertEqual(len(registers), 2, sipp.report())
        challenge = [m for m in sipp.sent() if m.status == 401][0]
        self.assertIn("algorithm=SHA-256", challenge.header("WWW-Authenticate"))
        # What the scenario captured with <ereg> is what the message trace shows.
        logged = re.findall(r"^AUTHORIZATION (.*)$", sipp.action_log(), re.M)
        self.assertEqual(len(logged), 1, sipp.action_log())
        self.assertEqual(digest_params(logged[0].strip()), digest_params(registers[1].header("Authorization")))
        got = self.assert_digest(registers[1], challenge, "sha256", "SHA-256")
        self.assertEqual(len(got["response"]), 64, got)
        self.assert_registered(sipp.port, expires_max=1800, expires_min=1790)


class WrongPasswordTest(SippRegistrarCase):
    """Credentials refused (a second, non-stale 401): failed, no REGISTER loop."""

    def test_failed_with_401_and_no_loop(self):
        sipp = self.sipp("wrong_password.xml", "registrar", calls=1, timeout=20,
                         keys={"reg_user": USER, "reg_password": PASSWORD})
        self.configure([sipp.port], password="not-the-password")
        self.start()
        row = self.wait_registration(lambda r: r.get("state") == "REGISTRATION_STATE_FAILED", timeout=5.0)
        self.assertTrue(row, "never failed" + self.diagnostics())
        self.assertEqual(row["last_status"], 401, self.diagnostics())
        # SIPp listens 4 s after its second 401; any REGISTER then fails its call.
        self.assert_sipp_passed(sipp, 15)
        registers = sipp.received("REGISTER")
        self.assertEqual(len(registers), 2, sipp.report())
        challenge = [m for m in sipp.sent() if m.status == 401][0]
        self.assert_digest(registers[1], challenge, "md5", "MD5", password="not-the-password")
        row = self.registration()
        self.assertEqual(row["state"], "REGISTRATION_STATE_FAILED", row)
        self.assertEqual(row["last_status"], 401, row)
        self.assertNotIn(("registered", 200), self.state_events(), self.diagnostics())


class IntervalTooBriefTest(SippRegistrarCase):
    """423 with Min-Expires: 3600 to a REGISTER asking 60 s: the next one asks 3600."""

    def test_min_expires_adopted(self):
        sipp = self.sipp("interval_too_brief.xml", "registrar", calls=1, timeout=20)
        self.configure([sipp.port], expires_s=60)
        self.start()
        self.assert_sipp_passed(sipp, 25)
        registers = sipp.received("REGISTER")
        self.assertEqual(len(registers), 2, sipp.report())
        self.assert_same_dialog(registers)
        self.assertEqual(registers[0].header("Expires"), "60", registers[0].text)
        self.assertRegex(registers[0].header("Contact"), r";expires=60$")
        self.assertEqual(registers[1].header("Expires"), "3600", registers[1].text)
        self.assertRegex(registers[1].header("Contact"), r";expires=3600$")
        self.assert_registered(sipp.port, expires_max=3600, expires_min=3590)


class RetryAfterTest(SippRegistrarCase):
    """503 with Retry-After: 2: the retry comes 2..7 s later (value + 0..5 s jitter)."""

    RETRY_AFTER = 2
    JITTER = 5
    SLACK = 0.25  # timer and loop latency

    def test_retry_after_honoured(self):
        sipp = self.sipp("retry_after.xml", "registrar", calls=1, timeout=25,
                         keys={"retry_after_s": self.RETRY_AFTER, "grant_s": 1800})
        self.configure([sipp.port])
        self.start()
        # While it waits: still registering (not failed), the 503 as its last status.
        self.assertTrue(wait_for(lambda: any(m.status == 503 for m in sipp.sent()), 10.0),
                        "no REGISTER answered 503" + self.diagnostics())
        row = self.wait_registration(lambda r: r.get("last_status") == 503, timeout=1.5)
        self.assertTrue(row, "503 not reported" + self.diagnostics())
        self.assertEqual(row["state"], "REGISTRATION_STATE_REGISTERING", row)
        self.assert_sipp_passed(sipp, 25)
        registers = sipp.received("REGISTER")
        self.assertEqual(len(registers), 2, sipp.report())
        self.assert_same_dialog(registers)
        answered = [m for m in sipp.sent() if m.status == 503][0]
        gap = registers[1].time - answered.time
        self.assertGreaterEqual(gap, self.RETRY_AFTER, sipp.report())
        self.assertLessEqual(gap, self.RETRY_AFTER + self.JITTER + self.SLACK, sipp.report())
        self.assert_registered(sipp.port, expires_max=1800, expires_min=1790)
        self.assertEqual([e for e in self.state_events() if e[0] == "failed"], [], self.diagnostics())


class FailoverHomingTest(SippRegistrarCase):
    """Proxy set [A, B]: A takes requests but never answers, so the REGISTER times out
    (timer F = 64*T1 = 3.2 s with T1 = 50 ms) and goes to B. Then A answers again (a new
    SIPp on its port): its OPTIONS keep-alive (every 1 s) succeeds, and the binding moves
    back to A at its next refresh (grant 10 s: refresh 5-8.5 s after the 200)."""

    T1 = 0.05
    GRANT = 10

    def test_failover_to_second_then_home_to_first(self):
        a_down = self.sipp("silent.xml", "a-down", timeout=60)
        b = self.sipp("answer_all.xml", "b", timeout=60, keys={"grant_s": self.GRANT})
        self.configure([a_down.port, b.port], expires_s=self.GRANT, keepalive_s=1, t1_ms=50)
        self.start()

        row = self.wait_registration(lambda r: r.get("state") == "REGISTRATION_STATE_REGISTERED", timeout=10.0)
        self.assertTrue(row, "not registered with B" + self.diagnostics())
        self.assertEqual(row["registrar"], f"udp:127.0.0.1:{b.port}", self.diagnostics())
        at_a = a_down.received("REGISTER")
        at_b = b.received("REGISTER")
        self.assertTrue(at_a, "A never got the REGISTER" + self.diagnostics())
        self.assertTrue(at_b, self.diagnostics())
        self.assertEqual(a_down.sent(), [])
        self.assertEqual(at_a[0].header("Call-ID"), at_b[0].header("Call-ID"))
        # Failover after the transaction timed out (timer F), not before, not much later.
        failover = at_b[0].time - at_a[0].time
        self.assertGreaterEqual(failover, 64 * self.T1 - 0.1, self.diagnostics())
        self.assertLessEqual(failover, 64 * self.T1 + 1.5, self.diagnostics())

        # A comes back: same port, answering everything.
        a_down.stop()
        a_up = self.sipp("answer_all.xml", "a-up", port=a_down.port, timeout=60, keys={"grant_s": self.GRANT})
        self.assertTrue(wait_for(lambda: a_up.received("REGISTER"), timeout=2 * self.GRANT, step=0.1),
                        "no REGISTER came back to A" + self.diagnostics())
        row = self.wait_registration(
            lambda r: r.get("state") == "REGISTRATION_STATE_REGISTERED"
            and r.get("registrar") == f"udp:127.0.0.1:{a_up.port}", timeout=3.0)
        self.assertTrue(row, "registrar column does not show A" + self.diagnostics())
        self.assertEqual(row["last_status"], 200, row)

        back = a_up.received("REGISTER")[0]
        # Homing follows a successful keep-alive of A...
        options_ok = [m for m in a_up.sent() if m.header("CSeq") and m.header("CSeq").endswith("OPTIONS")]
        self.assertTrue(options_ok and options_ok[0].time < back.time, self.diagnostics())
        # ...and comes with the next refresh: timed from the last 200 at B (50-85% of the
        # grant, at most grant - 5 s), not immediately when A answered.
        b_ok = [m for m in b.sent() if m.status == 200 and m.header("CSeq").endswith("REGISTER")
                and m.time < back.time]
        self.assertTrue(b_ok, self.diagnostics())
        since_grant = back.time - b_ok[-1].time
        self.assertGreaterEqual(since_grant, 0.5 * self.GRANT - 0.3, self.diagnostics())
        self.assertLessEqual(since_grant, 0.85 * self.GRANT + 0.5, self.diagnostics())
        # Once A answered its keep-alive, no refresh went to B any more.
        late_at_b = [m for m in b.received("REGISTER") if m.time > options_ok[0].time + 0.1]
        self.assertEqual(late_at_b, [], self.diagnostics())
        self.assert_same_dialog(at_b + [back])


if __name__ == "__main__":
    unittest.main()
