"""Registration against a real registrar (Kamailio with digest authentication):
24 endpoints and 4 accounts in one proxy set register, un-register on command, and
refresh before their bindings expire."""
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import GatewayTestCase, wait_for  # noqa: E402
from kamailio import Kamailio, free_udp_port  # noqa: E402

ENDPOINTS = {f"{2000 + line}": f"pw-{2000 + line}" for line in range(1, 25)}
ACCOUNTS = {f"acct{i}": f"secret-acct{i}" for i in range(1, 5)}


def gateway_config(runtime_dir, kamailio_port, sip_port, expires):
    endpoints = "".join(
        f"    - line: {line}\n      phone_number: \"{2000 + line}\"\n      password: pw-{2000 + line}\n"
        for line in range(1, 25))
    accounts = "".join(
        f"    - name: a{i}\n      line: {i}\n      proxy_set: registrar\n      username: acct{i}\n"
        f"      password: secret-acct{i}\n"
        for i in range(1, 5))
    return f"""
gateway:
  name: regtest
runtime:
  runtime_dir: {runtime_dir}
media:
  process_count: 1
tdm:
  driver: sim
  cards:
    - name: sim0
      fxs_ports: 24
signaling:
  listen_address: 127.0.0.1
  sip_port: {sip_port}
  domain: gw.test
  registration:
    mode: per_endpoint
    proxy_set: registrar
    expires_s: {expires}
  proxy_sets:
    - name: registrar
      keepalive_interval_s: 5
      proxies:
        - address: 127.0.0.1
          port: {kamailio_port}
  endpoints:
{endpoints}  accounts:
{accounts}"""


class KamailioCase(GatewayTestCase):
    """A gateway whose 24 endpoints and 4 accounts register with a fresh Kamailio."""
    expires = 3600

    def setUp(self):
        super().setUp()
        self.kamailio = Kamailio({**ENDPOINTS, **ACCOUNTS}, min_expires=5).start()
        with open(self.config, "w") as f:
            f.write(gateway_config(self.runtime_dir, self.kamailio.port, free_udp_port(), self.expires))

    def tearDown(self):
        super().tearDown()
        self.kamailio.stop()

    def expected_aors(self):
        return set(ENDPOINTS) | set(ACCOUNTS)


class KamailioRegistrationTest(KamailioCase):
    def test_all_28_register_within_5s_and_unregister_on_command(self):
        self.start()
        started = time.monotonic()
        registered = wait_for(lambda: self.kamailio.registered_aors() >= self.expected_aors(), timeout=5.0,
                              step=0.1)
        self.assertTrue(registered, f"registered: {sorted(self.kamailio.registered_aors())}\n"
                                    f"{self.ctl('registrations').stdout}\n{self.kamailio.read_log()[-2000:]}")
        self.assertLess(time.monotonic() - started, 5.0)
        self.assertEqual(self.kamailio.registered_aors(), self.expected_aors())
        listing = self.ctl("registrations")
        self.assertEqual(listing.returncode, 0, listing.stderr)
        self.assertEqual(listing.stdout.count(" registered "), 28, listing.stdout)

        result = self.ctl("unregister", "all")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(len(result.stdout.split(":", 1)[1].split()), 28)
        self.assertTrue(wait_for(lambda: not self.kamailio.registered_aors(), timeout=5.0, step=0.1),
                        f"still registered: {sorted(self.kamailio.registered_aors())}")
        listing = self.ctl("registrations").stdout
        self.assertEqual(listing.count(" unregistered "), 28, listing)

        # One entity back on command.
        result = self.ctl("register", "endpoint-3")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue(wait_for(lambda: self.kamailio.registered_aors() == {"2003"}, timeout=5.0, step=0.1))


class KamailioRefreshTest(KamailioCase):
    """Short bindings: every registration is refreshed before it expires (the issue's
    60 s, scaled to 10 s to keep the run short; the refresh policy is relative)."""
    expires = 10

    def test_every_registration_is_refreshed_before_it_expires(self):
        self.start()
        self.assertTrue(wait_for(lambda: self.kamailio.registered_aors() >= self.expected_aors(), timeout=5.0,
                                 step=0.1))
        first = self.kamailio.cseqs()
        # Past one whole binding lifetime: each must have been refreshed in time, never
        # dropped from the location table.
        deadline = time.monotonic() + 13.0
        while time.monotonic() < deadline:
            present = self.kamailio.registered_aors()
            self.assertEqual(present, self.expected_aors(), "a binding expired before its refresh")
            time.sleep(0.5)
        later = self.kamailio.cseqs()
        for aor in self.expected_aors():
            self.assertGreater(later[aor], first[aor], f"{aor} not refreshed")


if __name__ == "__main__":
    unittest.main()
