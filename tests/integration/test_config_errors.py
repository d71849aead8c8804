"""Bad configurations: exit code 2, one message naming file, line and field, and no
process left running."""
import os
import re
import subprocess
import tempfile
import unittest

from harness import binary, config_text

CASES = [
    # name, text transform, expected line, expected field path
    ("unknown_field", lambda t: t.replace("  process_count:", "  procss_count:"), "media.procss_count"),
    ("wrong_type", lambda t: t.replace("heartbeat_interval_ms: 500", "heartbeat_interval_ms: fast"),
     "bus.heartbeat_interval_ms"),
    ("media_process_count_0", lambda t: t.replace("process_count: 2", "process_count: 0"), "media.process_count"),
    ("port_out_of_range", lambda t: re.sub(r"sip_port: \d+", "sip_port: 70000", t), "signaling.sip_port"),
]


class ConfigErrorTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="lg-cfg-")
        self.runtime_dir = os.path.join(self.dir, "run")

    def tearDown(self):
        subprocess.run(["rm", "-rf", self.dir], check=False)

    def run_gateway(self, path):
        return subprocess.run([binary("linegate"), "run", "-c", path], capture_output=True, text=True, timeout=10)

    def assert_nothing_running(self):
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/cmdline", "rb") as f:
                        self.assertNotIn(self.dir.encode(), f.read(), f"pid {entry} left running")
                except OSError:
                    pass
        self.assertFalse(os.path.exists(os.path.join(self.runtime_dir, "control.sock")))

    def test_bad_values(self):
        base = config_text(self.runtime_dir)
        for name, transform, field in CASES:
            with self.subTest(name):
                text = transform(base)
                path = os.path.join(self.dir, f"{name}.yaml")
                with open(path, "w") as f:
                    f.write(text)
                result = self.run_gateway(path)
                self.assertEqual(result.returncode, 2, result.stderr)
                lines = result.stderr.strip().splitlines()
                self.assertEqual(len(lines), 1, result.stderr)
                # file:line:column: field.path: what
                self.assertRegex(lines[0], rf"{path}:\d+:\d+: {field.replace('.', r'[.]')}: ")
                line_no = int(lines[0].split(path + ":", 1)[1].split(":")[0])
                key = field.rsplit(".", 1)[1]
                self.assertIn(key, text.splitlines()[line_no - 1], "the line named holds the field")
                self.assert_nothing_running()

    def test_unreadable_file(self):
        path = os.path.join(self.dir, "missing.yaml")
        result = self.run_gateway(path)
        self.assertEqual(result.returncode, 2)
        self.assertEqual(len(result.stderr.strip().splitlines()), 1)
        self.assertIn(path, result.stderr)
        self.assert_nothing_running()

    def test_check_command_accepts_every_example(self):
        examples = os.path.join(os.environ["LINEGATE_SOURCE_DIR"], "examples")
        names = sorted(n for n in os.listdir(examples) if n.endswith(".yaml"))
        self.assertIn("quickstart.yaml", names)
        for name in names:
            with self.subTest(name):
                result = subprocess.run([binary("linegate"), "check", "-c", os.path.join(examples, name)],
                                        capture_output=True, text=True, timeout=10)
                self.assertEqual(result.returncode, 0, result.stderr)


if __name__ == "__main__":
    unittest.main()
