#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Starting against an endpoint that never answers: the daemon bounds its first refresh cycle
(about 60 s) and reports READY=1 anyway, so `systemctl start` returns within TimeoutStartSec=
with the unit active and StatusText saying that nothing is fresh, rather than being killed."""

import os
import re
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sdharness as h  # noqa: E402


def body(tap):
    with h.PrivateSystemd(tap) as sd:
        fake = sd.start_fake(mode="hang")
        sd.setup(fake)
        timeout_start = sd.prop(h.SERVICE, "TimeoutStartUSec")
        t0 = time.monotonic()
        r = sd.systemctl("start", h.SERVICE, timeout=150)
        elapsed = time.monotonic() - t0
        p = sd.show(h.SERVICE, "ActiveState", "SubState", "Result", "NRestarts", "StatusText")
        if not tap.ok(r.returncode == 0 and p.get("ActiveState") == "active",
                      "systemctl start returns with the unit active after %.0fs (TimeoutStartSec=%s)"
                      % (elapsed, timeout_start), "%s\n%s" % (r.stdout, p)):
            sd.dump(h.SERVICE)
        tap.ok(elapsed < 75, "the start-up deadline keeps well inside TimeoutStartSec (%.0fs)" % elapsed)
        tap.ok(re.search(r"\b0/1\b", p.get("StatusText", "")), "StatusText says no registry is fresh",
               "StatusText=%r" % p.get("StatusText"))
        tap.diag("StatusText=%s" % p.get("StatusText"))
        tap.is_(p.get("NRestarts"), "0", "no restarts")
        tap.ok(sd.read(h.password_file("a")) is None, "no password file was written")

        # The endpoint recovers: the daemon's retries write the file without a restart.
        fake.set_mode("ok", password="pw-recovered")
        ok = sd.wait_for(lambda: (sd.read(h.password_file("a")) or ("",))[0] == "pw-recovered",
                         timeout=60, interval=0.5)
        tap.ok(ok, "once the endpoint answers, a retry writes the file")

        t0 = time.monotonic()
        r = sd.systemctl("stop", h.SERVICE, timeout=60)
        tap.ok(r.returncode == 0 and time.monotonic() - t0 < 5, "systemctl stop within 5s")


if __name__ == "__main__":
    h.run_tests(body, timeout=170)
