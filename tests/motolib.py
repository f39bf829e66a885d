# SPDX-License-Identifier: MIT
"""What the moto-based integration tests (test-moto.py, test-credentials-moto.py) share: TAP output
and reading the harness's moto.env."""
import subprocess
import sys


class Tap:
    def __init__(self, diag_lines=30):
        self.count = 0
        self.failed = 0
        self.diag_lines = diag_lines

    def ok(self, cond, name, diag=None):
        self.count += 1
        print(("ok" if cond else "not ok") + " %d - %s" % (self.count, name))
        if not cond:
            self.failed += 1
            if diag:
                for line in str(diag).splitlines()[-self.diag_lines:]:
                    print("#   " + line)
        sys.stdout.flush()
        return cond

    def plan(self):
        """Prints the plan; the exit status for the script."""
        print("1..%d" % self.count)
        return 1 if self.failed else 0


def moto_python():
    """A Python that has moto and boto3, or None."""
    for py in (sys.executable, "python3", "/usr/bin/python3"):
        try:
            if subprocess.run([py, "-c", "import moto, boto3"], capture_output=True).returncode == 0:
                return py
        except OSError:
            pass
    return None


def read_env(path):
    """KEY=VALUE lines (optionally with 'export ', values optionally quoted) as a dict."""
    env = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            k, v = line.split("=", 1)
            if k.startswith("export "):
                k = k[len("export "):]
            env[k] = v.strip("'\"")
    return env
