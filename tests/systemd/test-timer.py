#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The timer variant under a real systemd: the timer starts the oneshot service, which writes the
password file; a failing refresh leaves the oneshot failed with exit status 1 and the old file
untouched; the timer and the daemon exclude each other (Conflicts=)."""

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sdharness as h  # noqa: E402

# The real schedule is minutes apart; fire 1 s after the timer starts instead.
TIMER_DROP_IN = """[Timer]
OnBootSec=
OnActiveSec=1s
AccuracySec=100ms
RandomizedDelaySec=0
Persistent=false
"""


def file_is(sd, text):
    got = sd.read(h.password_file("a"))
    return got is not None and got[0] == text


def check_timer_runs_oneshot(tap, sd):
    r = sd.systemctl("start", h.TIMER, timeout=30)
    tap.ok(r.returncode == 0, "the timer starts", r.stdout)
    ok = sd.wait_for(lambda: file_is(sd, "pw-timer"), timeout=30, interval=0.2)
    if not tap.ok(ok, "the timer runs the oneshot service, which writes the password file"):
        sd.dump(h.TIMER, h.ONESHOT)
    got = sd.read(h.password_file("a"))
    tap.ok(got and "%04o" % got[1] == "0640" and got[2:] == ("ecr-token-refresh", "ecr-token-refresh"),
           "the file has mode 0640 and owner ecr-token-refresh:ecr-token-refresh", str(got and got[1:]))
    p = sd.wait_for(lambda: (lambda q: q if q.get("ActiveState") == "inactive" else None)(
        sd.show(h.ONESHOT, "ActiveState", "Result", "ExecMainStatus")), timeout=30)
    tap.ok(p and p.get("Result") == "success" and p.get("ExecMainStatus") == "0",
           "the oneshot run finished with exit status 0", str(p))
    t = sd.show(h.TIMER, "LastTriggerUSecMonotonic", "ActiveState")
    tap.ok(t.get("LastTriggerUSecMonotonic", "0") != "0", "the timer records its trigger", str(t))


def check_conflicts(tap, sd):
    sd.systemctl("start", h.TIMER, timeout=30)
    r = sd.systemctl("start", h.SERVICE, timeout=120)
    a = sd.show(h.TIMER, "ActiveState").get("ActiveState")
    tap.ok(r.returncode == 0 and a == "inactive", "starting the daemon stops the timer", "%s timer=%s" % (r.stdout, a))
    r = sd.systemctl("start", h.TIMER, timeout=30)
    a = sd.show(h.SERVICE, "ActiveState").get("ActiveState")
    tap.ok(r.returncode == 0 and a == "inactive", "starting the timer stops the daemon", "%s daemon=%s" % (r.stdout, a))
    sd.systemctl("stop", h.TIMER, h.SERVICE, timeout=60)
    # The restarted timer may have fired the oneshot again; let that run end.
    sd.wait_for(lambda: sd.prop(h.ONESHOT, "ActiveState") in ("inactive", "failed"), timeout=60)


def check_failure(tap, sd, fake):
    fake.set_mode("error")
    requests = fake.stats()["requests"]
    sd.systemctl("reset-failed", h.ONESHOT)
    r = sd.systemctl("start", h.ONESHOT, timeout=120)
    tap.ok(r.returncode != 0, "starting the oneshot with the endpoint failing reports failure", r.stdout)
    p = sd.show(h.ONESHOT, "ActiveState", "Result", "ExecMainStatus", "ExecMainCode")
    if not tap.ok(p.get("ActiveState") == "failed" and p.get("Result") == "exit-code"
                  and p.get("ExecMainStatus") == "1", "the oneshot is failed with ExecMainStatus=1", str(p)):
        sd.dump(h.ONESHOT)
    tap.ok(fake.stats()["requests"] > requests, "it did ask the endpoint")
    tap.ok(file_is(sd, "pw-timer"), "the previous password file is left untouched")
    journal = sd.journal(h.ONESHOT)
    tap.ok("AccessDeniedException" in journal, "the journal carries the AWS error code", journal[-1500:])


def body(tap):
    with h.PrivateSystemd(tap) as sd:
        fake = sd.start_fake(mode="ok", password="pw-timer")
        sd.setup(fake)
        sd.drop_in(h.TIMER, TIMER_DROP_IN)
        sd.daemon_reload()
        check_timer_runs_oneshot(tap, sd)
        check_conflicts(tap, sd)
        check_failure(tap, sd, fake)


if __name__ == "__main__":
    h.run_tests(body)
