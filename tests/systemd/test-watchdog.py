#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The watchdog under a real systemd: a hung ECR endpoint must not stop the pings (no watchdog
kill for 3 x WatchdogSec) nor a prompt `systemctl stop`; a process that really stops pinging
(SIGSTOP) is killed with Result=watchdog and restarted (Restart=on-failure)."""

import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sdharness as h  # noqa: E402

WATCHDOG_SEC = 3
RESTART_SEC = 2
PROPS = ("ActiveState", "SubState", "MainPID", "NRestarts", "Result", "WatchdogTimestampMonotonic")


def check_hang_keeps_pinging(tap, sd, fake):
    r = sd.systemctl("start", h.SERVICE, timeout=120)
    if not tap.ok(r.returncode == 0, "the daemon starts (endpoint answering)", r.stdout):
        sd.dump(h.SERVICE)
        return False
    before = sd.show(h.SERVICE, *PROPS)
    fake.set_mode("hang")
    requests_at_hang = fake.stats()["requests"]

    # The config's 1 s interval keeps requests going out, each of them hanging.
    window = 3 * WATCHDOG_SEC
    deadline = time.monotonic() + window
    pings, bad = set(), None
    while time.monotonic() < deadline:
        p = sd.show(h.SERVICE, *PROPS)
        pings.add(p.get("WatchdogTimestampMonotonic"))
        if p.get("MainPID") != before.get("MainPID") or p.get("ActiveState") != "active" \
                or p.get("NRestarts") != "0" or p.get("Result") != "success":
            bad = p
            break
        time.sleep(0.25)
    hung = fake.stats()["requests"] - requests_at_hang
    tap.ok(hung >= 1, "requests went out to the hung endpoint during the window (%d)" % hung)
    if not tap.ok(bad is None, "not killed by the watchdog for %ds (3 x WatchdogSec) while requests hang"
                  % window, str(bad)):
        sd.dump(h.SERVICE)
    tap.ok(len(pings) >= 3, "watchdog pings kept arriving (%d distinct timestamps)" % len(pings), str(sorted(pings)))

    t0 = time.monotonic()
    r = sd.systemctl("stop", h.SERVICE, timeout=60)
    elapsed = time.monotonic() - t0
    p = sd.show(h.SERVICE, "ActiveState", "Result", "ExecMainStatus", "ExecMainCode")
    tap.ok(r.returncode == 0 and elapsed < 5, "systemctl stop mid-request finishes within 5s (%.1fs)" % elapsed,
           r.stdout)
    if not tap.ok(p.get("ActiveState") == "inactive" and p.get("Result") == "success"
                  and p.get("ExecMainStatus") == "0", "stopped mid-request with exit status 0", str(p)):
        sd.dump(h.SERVICE)
    return True


def check_sigstop_is_killed(tap, sd, fake):
    fake.set_mode("ok")
    sd.systemctl("reset-failed", h.SERVICE)
    r = sd.systemctl("start", h.SERVICE, timeout=120)
    pid = sd.prop(h.SERVICE, "MainPID")
    if not tap.ok(r.returncode == 0 and pid not in ("", "0"), "the daemon starts again", r.stdout):
        return
    sd.run(["kill", "-STOP", pid], check=True)
    t0 = time.monotonic()
    # Catch Result=watchdog before the restart (RestartSec=) resets it.
    p = sd.wait_for(lambda: (lambda q: q if q.get("Result") == "watchdog" else None)(
        sd.show(h.SERVICE, *PROPS)), timeout=3 * WATCHDOG_SEC, interval=0.1)
    elapsed = time.monotonic() - t0
    if not tap.ok(p, "a stopped (SIGSTOP) daemon is killed with Result=watchdog (after %.1fs)" % elapsed):
        sd.dump(h.SERVICE)
        return
    tap.ok(elapsed >= WATCHDOG_SEC - 1, "no earlier than WatchdogSec", "%.1fs" % elapsed)
    tap.ok("Watchdog timeout" in sd.journal(h.SERVICE), "the journal records the watchdog timeout")
    q = sd.wait_for(lambda: (lambda q: q if q.get("ActiveState") == "active" and q.get("MainPID") not in
                             ("0", pid) else None)(sd.show(h.SERVICE, *PROPS)),
                    timeout=RESTART_SEC + 30, interval=0.2)
    if not tap.ok(q and q.get("NRestarts") == "1", "Restart=on-failure brings it back with a new process",
                  str(q or sd.show(h.SERVICE, *PROPS))):
        sd.dump(h.SERVICE)


def body(tap):
    with h.PrivateSystemd(tap) as sd:
        fake = sd.start_fake(mode="ok", password="pw-watchdog")
        sd.setup(fake, interval="1s")
        sd.drop_in(h.SERVICE, "[Service]\nWatchdogSec=%ds\nRestartSec=%ds\n" % (WATCHDOG_SEC, RESTART_SEC))
        sd.daemon_reload()
        if check_hang_keeps_pinging(tap, sd, fake):
            check_sigstop_is_killed(tap, sd, fake)


if __name__ == "__main__":
    h.run_tests(body)
