"""Acceptance of the foundation issue: start-up, status, restarts, kill -9 of control,
orderly shutdown, run-time log level, processes that attach on their own."""
import json
import os
import signal
import subprocess
import time
import unittest

from harness import GatewayTestCase, binary, parse_status, pid_alive, wait_for

EXPECTED = ["control", "signaling", "media-0", "media-1", "tdm"]


class StartupTest(GatewayTestCase):
    def test_every_process_is_up_within_3s_and_status_is_healthy(self):
        started = time.monotonic()
        self.start()
        rows = self.wait_healthy(timeout=3.0)
        elapsed = time.monotonic() - started
        self.assertTrue(rows, f"not healthy within 3 s:\n{self.ctl('status').stdout}\n{self.gateway_log()}")
        self.assertLess(elapsed, 3.0)
        self.assertEqual(sorted(rows), sorted(EXPECTED))
        for name, row in rows.items():
            self.assertEqual(row["state"], "running", name)
            self.assertEqual(row["restarts"], 0, name)
            self.assertTrue(pid_alive(row["pid"]), name)
        self.assertEqual(rows["media-0"]["shard"], "0")
        self.assertEqual(rows["media-1"]["shard"], "1")
        self.assertIn("lines=8 fxs=8 fxo=0", rows["tdm"]["detail"])
        # The JSON form is the REST API's object.
        result = self.ctl("status", "--json")
        self.assertEqual(result.returncode, 0)
        status = json.loads(result.stdout)
        self.assertFalse(status["degraded"])
        self.assertEqual(len(status["processes"]), len(EXPECTED))
        tdm = [p for p in status["processes"] if p["name"] == "tdm"][0]
        self.assertEqual(len(tdm["tdm"]["lines"]), 8)


class RestartTest(GatewayTestCase):
    def test_kill_9_of_each_child_is_back_within_2s_with_restart_count_1(self):
        self.start()
        rows = self.wait_healthy(timeout=3.0)
        self.assertTrue(rows, self.gateway_log())
        for name in ["signaling", "media-0", "media-1", "tdm"]:
            old_pid = rows[name]["pid"]
            os.kill(old_pid, signal.SIGKILL)
            killed = time.monotonic()

            def back():
                code, now = self.status()
                row = now.get(name)
                return row if row and row["state"] == "running" and row["pid"] != old_pid else None
            row = wait_for(back, timeout=2.0, step=0.05)
            self.assertTrue(row, f"{name} not back within 2 s:\n{self.ctl('status').stdout}")
            self.assertLess(time.monotonic() - killed, 2.0)
            self.assertEqual(row["restarts"], 1, name)
        rows = self.wait_healthy(timeout=2.0)
        self.assertTrue(rows)

    def test_kill_9_of_control_takes_every_child_down_within_3s(self):
        self.start()
        rows = self.wait_healthy(timeout=3.0)
        self.assertTrue(rows, self.gateway_log())
        children = [rows[n]["pid"] for n in EXPECTED if n != "control"]
        os.kill(rows["control"]["pid"], signal.SIGKILL)
        killed = time.monotonic()
        gone = wait_for(lambda: not any(pid_alive(p) for p in children), timeout=3.0, step=0.05)
        self.assertTrue(gone, f"children still alive 3 s after control died: "
                              f"{[p for p in children if pid_alive(p)]}")
        self.assertLess(time.monotonic() - killed, 3.0)


class CrashLoopTest(GatewayTestCase):
    """The crash-loop limit end to end, on a short policy so the test takes a second."""

    supervision = "supervision:\n  restart_backoff_initial_ms: 50\n  crash_loop_limit: 3\n  crash_loop_window_s: 60\n"

    def test_process_crashing_too_often_is_left_down_and_status_says_degraded(self):
        self.start()
        rows = self.wait_healthy(timeout=3.0)
        self.assertTrue(rows, self.gateway_log())
        for crash in range(3):
            def running_tdm():
                code, now = self.status()
                row = now.get("tdm")
                return row if row and row["state"] == "running" else None
            row = wait_for(running_tdm, timeout=3.0)
            self.assertTrue(row, f"tdm not running before crash {crash}")
            os.kill(row["pid"], signal.SIGKILL)
        def failed():
            code, now = self.status()
            return (code, now) if now.get("tdm", {}).get("state") == "failed" else None
        result = wait_for(failed, timeout=3.0)
        self.assertTrue(result, self.ctl("status").stdout)
        code, rows = result
        self.assertEqual(code, 1, "linegatectl status exits 1 when degraded")
        self.assertEqual(rows["tdm"]["restarts"], 2)
        self.assertEqual(rows["tdm"]["pid"], 0)
        self.assertIn("DEGRADED", self.ctl("status").stdout.splitlines()[0])
        # The others carry on.
        for name in ["control", "signaling", "media-0", "media-1"]:
            self.assertEqual(rows[name]["state"], "running", name)
        time.sleep(0.5)
        self.assertEqual(self.status()[1]["tdm"]["state"], "failed", "a failed process stays down")


class ShutdownTest(GatewayTestCase):
    def test_sigterm_stops_everything_within_5s_with_exit_code_0(self):
        gateway = self.start()
        rows = self.wait_healthy(timeout=3.0)
        self.assertTrue(rows, self.gateway_log())
        pids = [row["pid"] for row in rows.values()]
        gateway.send_signal(signal.SIGTERM)
        stopped = time.monotonic()
        code = gateway.wait(timeout=5.0)
        self.assertEqual(code, 0, self.gateway_log())
        self.assertTrue(wait_for(lambda: not any(pid_alive(p) for p in pids), timeout=5.0 - (time.monotonic() - stopped)))
        self.assertLess(time.monotonic() - stopped, 5.0)
        self.assertEqual(self.processes_of_this_gateway(), [])

    def test_sigint_is_an_orderly_stop_too(self):
        gateway = self.start()
        self.assertTrue(self.wait_healthy(timeout=3.0), self.gateway_log())
        gateway.send_signal(signal.SIGINT)
        self.assertEqual(gateway.wait(timeout=5.0), 0)


class ManagementTest(GatewayTestCase):
    def test_log_level_changes_at_run_time_in_every_process(self):
        self.start()
        self.assertTrue(self.wait_healthy(timeout=3.0), self.gateway_log())
        result = self.ctl("log-level", "debug")
        self.assertEqual(result.returncode, 0, result.stderr)
        applied = result.stdout.split(":", 1)[1].split()
        self.assertEqual(sorted(applied), sorted(EXPECTED))
        # One process only.
        result = self.ctl("log-level", "warn", "tdm")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.split(":", 1)[1].split(), ["tdm"])
        result = self.ctl("log-level", "info", "nosuch")
        self.assertNotEqual(result.returncode, 0)
        log = self.gateway_log()
        self.assertIn('process=tdm shard=- level=info msg="log level changed" level=debug', log)

    def test_status_fails_cleanly_when_control_is_not_running(self):
        result = self.ctl("status", timeout=10)
        self.assertEqual(result.returncode, 3)
        self.assertIn("not reachable", result.stderr)

    def test_second_control_on_the_same_runtime_dir_is_refused(self):
        self.start()
        self.assertTrue(self.wait_healthy(timeout=3.0), self.gateway_log())
        second = subprocess.run([binary("linegate"), "run", "-c", self.config], capture_output=True,
                                text=True, timeout=10)
        self.assertEqual(second.returncode, 1)
        self.assertIn("another linegate-control is running", second.stderr)
        code, rows = self.status()
        self.assertEqual(code, 0)


class StandaloneTest(GatewayTestCase):
    """Processes started on their own (systemd on a rack server) attach to control and
    reconnect by themselves when control comes back."""

    def test_attached_media_process_reconnects_after_control_restarts(self):
        control = subprocess.Popen([binary("linegate-control"), "-c", self.config, "--no-supervise"],
                                   stdout=self.log, stderr=subprocess.STDOUT)
        self.gateway = control
        endpoint = f"ipc://{self.runtime_dir}/control.sock"
        events = f"ipc://{self.runtime_dir}/events.sock"
        media = subprocess.Popen([binary("linegate-media"), "--shard", "1", "--control", endpoint,
                                  "--events", events, "--heartbeat-ms", "100"],
                                 stdout=self.log, stderr=subprocess.STDOUT)
        try:
            def attached():
                code, rows = self.status()
                row = rows.get("media-1")
                return row if row and row["state"] == "running" else None
            row = wait_for(attached, timeout=3.0)
            self.assertTrue(row, self.gateway_log())
            self.assertIn("attached", row["detail"])
            control.send_signal(signal.SIGKILL)
            control.wait()
            time.sleep(0.5)  # the media process notices control is gone
            self.assertIsNone(media.poll(), "a process started on its own must outlive control")
            control = subprocess.Popen([binary("linegate-control"), "-c", self.config, "--no-supervise"],
                                       stdout=self.log, stderr=subprocess.STDOUT)
            self.gateway = control
            self.assertTrue(wait_for(attached, timeout=3.0), self.gateway_log())
            self.assertIn('msg="re-synchronised with control"', self.gateway_log())
        finally:
            media.send_signal(signal.SIGTERM)
            self.assertEqual(media.wait(timeout=5), 0)


if __name__ == "__main__":
    unittest.main()
