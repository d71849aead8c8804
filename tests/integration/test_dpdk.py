"""Acceptance of the DPDK issue, end to end: a gateway whose media process runs the DPDK
backend (net_af_packet on one end of a veth pair, --no-huge), and a real RTP peer
(tests/tools/rtp_peer.py) in a network namespace on the other end. ARP resolves, ping
answers, 1004 Hz at -10 dBm0 passes both ways, and after kill -9 the restarted media
process (a new EAL) carries the session again within 2 s.

Needs root (network namespaces, packet sockets); skipped otherwise."""
import json
import os
import re
import shutil
import subprocess
import sys
import time
import unittest

from harness import GatewayTestCase, config_text, wait_for

TOOLS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools")
MEDIA_IP = "10.211.0.1"
PEER_IP = "10.211.0.2"

# Runs in the namespace: first only listens (the phone's tone comes back to it), then
# sends its own tone for the phone to measure. One after the other, as in the media
# issue's audio test: the line echo canceller would rightly take one 1004 Hz tone for
# the echo of the other if both played at once.
PEER_SCRIPT = r'''
import json, sys, time
sys.path.insert(0, sys.argv[1])
import rtp_peer
gateway = (sys.argv[2], int(sys.argv[3]))
peer = rtp_peer.RtpPeer(law="ulaw", bind=(sys.argv[4], int(sys.argv[5])), seed=3).start()
time.sleep(float(sys.argv[6]))
measured = peer.measure_received_tone(skip_ms=300)
received = len(peer.packets())
print(json.dumps({"received": received, "hz": measured.frequency_hz, "dbm0": measured.level_dbm0}), flush=True)
peer.send_tone(gateway, 1004, -10, float(sys.argv[6]) + 0.5)
peer.close()
'''


def run(*args, check=True):
    return subprocess.run(list(args), capture_output=True, text=True, check=check)


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("ip") and shutil.which("ethtool"),
                     "needs root, iproute2 and ethtool")
class DpdkGatewayTest(GatewayTestCase):
    media_processes = 1
    fxs = 2

    def setUp(self):
        suffix = str(os.getpid() % 100000)
        self.ns = "lgdp" + suffix
        self.host_if = "lgh" + suffix
        self.peer_if = "lgp" + suffix
        run("ip", "netns", "add", self.ns)
        run("ip", "link", "add", self.host_if, "type", "veth", "peer", "name", self.peer_if)
        run("ip", "link", "set", self.peer_if, "netns", self.ns)
        run("ip", "link", "set", self.host_if, "up")
        run("ip", "netns", "exec", self.ns, "ip", "addr", "add", PEER_IP + "/24", "dev", self.peer_if)
        run("ip", "netns", "exec", self.ns, "ip", "link", "set", self.peer_if, "up")
        run("ip", "netns", "exec", self.ns, "ip", "link", "set", "lo", "up")
        # veth leaves UDP checksums to "hardware"; a packet socket would see them unfinished.
        run("ip", "netns", "exec", self.ns, "ethtool", "-K", self.peer_if, "tx", "off")
        super().setUp()
        self.supervision_extra = ""
        with open(self.config, "w") as f:
            f.write(config_text(self.runtime_dir, media_processes=1, fxs=2).replace(
                "  backend: kernel_sockets\n",
                "  backend: kernel_sockets\n"
                "  shards:\n"
                "    - backend: dpdk\n"
                "      dpdk:\n"
                "        no_huge: true\n"
                "        memory_mb: 256\n"
                f"        vdevs: [\"net_af_packet_lg{self.host_if},iface={self.host_if}\"]\n"
                f"        port: net_af_packet_lg{self.host_if}\n"
                f"        ipv4_address: {MEDIA_IP}\n"
                "        ipv4_prefix: 24\n"))
        self.start()
        self.assertIsNotNone(self.wait_healthy(timeout=15.0), self.gateway_log())

    def tearDown(self):
        super().tearDown()
        run("ip", "link", "del", self.host_if, check=False)
        run("ip", "netns", "del", self.ns, check=False)

    def ok(self, *args):
        result = self.ctl(*args)
        self.assertEqual(result.returncode, 0, f"linegatectl {' '.join(args)}: {result.stdout}{result.stderr}")
        return result.stdout

    def exchange_tone(self, gateway_port, peer_port, seconds=1.5):
        """The phone on line 1 plays 1004 Hz to the peer in the namespace, then the peer
        sends it back; returns what the peer measured and what the phone heard."""
        self.ok("line", "1", "tone", "1004", "-10")
        peer = subprocess.Popen(["ip", "netns", "exec", self.ns, sys.executable, "-c", PEER_SCRIPT, TOOLS,
                                 MEDIA_IP, str(gateway_port), PEER_IP, str(peer_port), str(seconds)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        measured = json.loads(peer.stdout.readline())
        self.ok("line", "1", "tone", "off")
        time.sleep(seconds * 0.8)
        heard = self.ok("line", "1", "listen", "500")
        _, err = peer.communicate(timeout=30)
        self.assertEqual(peer.returncode, 0, err)
        return measured, heard

    def check_audio(self, measured, heard):
        self.assertGreater(measured["received"], 50, measured)
        self.assertAlmostEqual(measured["hz"], 1004, delta=5, msg=measured)
        self.assertAlmostEqual(measured["dbm0"], -10, delta=1, msg=measured)
        match = re.search(r"heard ([0-9.]+) Hz at (-?[0-9.]+) dBm0", heard)
        self.assertIsNotNone(match, heard)
        self.assertAlmostEqual(float(match.group(1)), 1004, delta=5, msg=heard)
        self.assertAlmostEqual(float(match.group(2)), -10, delta=1, msg=heard)

    def test_arp_ping_and_audio_through_the_fast_path_and_a_restart(self):
        # ARP and ICMP echo, answered by the media process's DPDK port.
        ping = run("ip", "netns", "exec", self.ns, "ping", "-c", "3", "-i", "0.2", "-W", "2", MEDIA_IP, check=False)
        self.assertEqual(ping.returncode, 0, ping.stdout + ping.stderr)
        neighbours = run("ip", "netns", "exec", self.ns, "ip", "neigh", "show", MEDIA_IP).stdout
        self.assertRegex(neighbours, r"lladdr [0-9a-f:]{17}")

        peer_port = 40000 + os.getpid() % 1000 * 2
        created = self.ok("media", "create", "1", "--remote", f"{PEER_IP}:{peer_port}")
        gateway_port = int(re.search(r":(\d+) \(media-0\)", created).group(1))
        self.ok("line", "1", "offhook")
        measured, heard = self.exchange_tone(gateway_port, peer_port)
        self.check_audio(measured, heard)
        # The port's statistics reach the bus: packets, and drops by reason.
        shard = json.loads(self.ok("media", "list", "--json"))["shards"][0]
        self.assertEqual(shard["packet_io"], "dpdk")
        counters = shard["packet_io_counters"]
        self.assertGreater(int(counters["rx_packets"]), 50, counters)
        self.assertIn("drop_udp_bad_checksum", counters)

        # kill -9 of the DPDK media process: a new process, a new EAL, the same session.
        pid = self.status()[1]["media-0"]["pid"]
        os.kill(pid, 9)
        killed = time.monotonic()

        def session_back():
            # Ask media only once the new process runs: a request to the dead one would
            # wait for its timeout.
            row = self.status()[1].get("media-0", {})
            if row.get("state") != "running" or row.get("pid") == pid:
                return None
            listed = self.ctl("--timeout-ms", "300", "media", "list", "--json")
            if listed.returncode != 0:
                return None
            sessions = json.loads(listed.stdout).get("sessions", [])
            return sessions or None
        self.assertIsNotNone(wait_for(session_back, timeout=10.0, step=0.05), self.gateway_log())
        back_after = time.monotonic() - killed
        print(f"DPDK media process restarted with its session {back_after:.2f} s after kill -9", file=sys.stderr)
        self.assertLess(back_after, 2.0)
        measured, heard = self.exchange_tone(gateway_port, peer_port)
        self.check_audio(measured, heard)


if __name__ == "__main__":
    unittest.main()
