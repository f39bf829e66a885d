#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The unit files as systemd sees them: verify, security exposure, the settings that matter,
[Install], and the sysusers.d / tmpfiles.d snippets."""

import datetime
import os
import re
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sdharness as h  # noqa: E402

MAX_EXPOSURE = 1.5


def exposure(sd, unit):
    r = sd.run(["systemd-analyze", "security", "--no-pager", unit], timeout=60)
    m = re.search(r"Overall exposure level for %s: ([0-9.]+)" % re.escape(unit), r.stdout)
    return (float(m.group(1)) if m else None), r.stdout


def check_verify(tap, sd):
    for unit in (h.SERVICE, h.ONESHOT, h.TIMER):
        # --man=no: the man pages are not installed in the test system; man/ has its own checks.
        r = sd.run(["systemd-analyze", "verify", "--man=no", "%s/%s" % (h.UNIT_DIR, unit)], timeout=60)
        tap.ok(r.returncode == 0 and not r.stdout.strip(), "systemd-analyze verify %s is clean" % unit,
               r.stdout)


def check_security(tap, sd):
    for unit in (h.SERVICE, h.ONESHOT):
        level, out = exposure(sd, unit)
        if tap.ok(level is not None and level <= MAX_EXPOSURE,
                  "systemd-analyze security %s: exposure %s <= %s" % (unit, level, MAX_EXPOSURE),
                  "\n".join(l for l in out.splitlines() if not l.startswith("\u2713"))):
            tap.diag("%s exposure %s" % (unit, level))


def check_settings(tap, sd):
    svc = sd.show(h.SERVICE, "Type", "WatchdogUSec", "TimeoutStartUSec", "Restart",
                  "RestartPreventExitStatus", "User", "Group", "DynamicUser", "StateDirectory",
                  "StateDirectoryMode", "UMask", "ProtectSystem", "ReadWritePaths", "Conflicts",
                  "Wants", "After", "ExecReload", "ExecStartPre", "ExecStart")
    tap.is_(svc.get("Type"), "notify", "daemon: Type=notify")
    # WatchdogUSec reads "infinity" until the service runs (test-start checks it there).
    cat = sd.systemctl("cat", h.SERVICE).stdout
    tap.is_((re.findall(r"^WatchdogSec=(.*)$", cat, re.M) or [None])[-1], "30s", "daemon: WatchdogSec=30s")
    # Must exceed the daemon's ~60 s bound on the first refresh cycle before READY=1.
    tap.is_(svc.get("TimeoutStartUSec"), "1min 30s", "daemon: TimeoutStartSec=90s")
    tap.is_(svc.get("Restart"), "on-failure", "daemon: Restart=on-failure")
    tap.ok("78" in svc.get("RestartPreventExitStatus", "").split(), "daemon: RestartPreventExitStatus=78",
           svc.get("RestartPreventExitStatus"))
    tap.ok(svc.get("User") == "ecr-token-refresh" and svc.get("Group") == "ecr-token-refresh"
           and svc.get("DynamicUser") == "no", "daemon: static User=/Group=ecr-token-refresh",
           str(svc))
    tap.ok(svc.get("StateDirectory") == "ecr-token-refresh" and svc.get("StateDirectoryMode") == "0750",
           "daemon: StateDirectory=ecr-token-refresh, mode 0750", str(svc))
    tap.is_(svc.get("UMask"), "0027", "daemon: UMask=0027")
    tap.ok(svc.get("ProtectSystem") == "strict" and svc.get("ReadWritePaths") == "",
           "daemon: ProtectSystem=strict, no extra writable paths", str(svc))
    conflicts = svc.get("Conflicts", "").split()
    tap.ok(h.ONESHOT in conflicts and h.TIMER in conflicts, "daemon conflicts with the oneshot and its timer",
           svc.get("Conflicts"))
    tap.ok("network-online.target" in svc.get("Wants", "").split()
           and "network-online.target" in svc.get("After", "").split(),
           "daemon: Wants= and After=network-online.target", "%s / %s" % (svc.get("Wants"), svc.get("After")))
    reload = re.findall(r"argv\[\]=([^;]*);", svc.get("ExecReload", ""))
    tap.ok(len(reload) == 2 and "--check" in reload[0] and reload[1].strip() == "/bin/kill -HUP $MAINPID"
           and os.access("/bin/kill", os.X_OK),
           "daemon: ExecReload checks the config, then sends SIGHUP with /bin/kill", svc.get("ExecReload"))
    # A failing ExecStartPre= is restarted forever: RestartPreventExitStatus= sees only the main process.
    tap.is_(svc.get("ExecStartPre", ""), "", "daemon: no ExecStartPre (the daemon itself exits 78)")

    one = sd.show(h.ONESHOT, "Type", "ExecStart", "User", "StateDirectory", "Conflicts", "UMask",
                  "ProtectSystem", "TimeoutStartUSec")
    tap.ok(one.get("Type") == "oneshot" and "--oneshot" in one.get("ExecStart", ""),
           "oneshot: Type=oneshot running --oneshot", str(one))
    tap.ok(one.get("User") == "ecr-token-refresh" and one.get("StateDirectory") == "ecr-token-refresh"
           and one.get("UMask") == "0027" and one.get("ProtectSystem") == "strict",
           "oneshot: same user, state directory and sandbox as the daemon", str(one))
    tap.ok(h.SERVICE in one.get("Conflicts", "").split(), "oneshot conflicts with the daemon",
           one.get("Conflicts"))
    # --oneshot against a hung endpoint: 3 attempts x 30 s + back-off, then exit 1.
    tap.is_(one.get("TimeoutStartUSec"), "3min", "oneshot: TimeoutStartSec=3min outlasts its retries")

    tim = sd.show(h.TIMER, "Unit", "TimersMonotonic", "TimersCalendar", "Persistent",
                  "RandomizedDelayUSec", "Conflicts", "NextElapseUSecRealtime")
    tap.is_(tim.get("Unit"), h.ONESHOT, "timer: activates the oneshot service")
    tap.ok("OnBootUSec" in tim.get("TimersMonotonic", "") and "2min" in tim.get("TimersMonotonic", ""),
           "timer: OnBootSec=2min", tim.get("TimersMonotonic"))
    cal = re.search(r"OnCalendar=([^;]+)", tim.get("TimersCalendar", ""))
    tap.ok(cal is not None, "timer: has a calendar schedule (Persistent= applies to it)",
           tim.get("TimersCalendar"))
    if cal:
        # Well under the 12 h token lifetime.
        r = sd.run(["systemd-analyze", "calendar", "--iterations=25", cal.group(1).strip()], timeout=30,
                   env={"TZ": "UTC"})
        tap.ok(r.returncode == 0 and max_gap(r.stdout) <= 3600,
               "timer: calendar %s fires at least hourly" % cal.group(1).strip(), r.stdout)
    tap.is_(tim.get("Persistent"), "yes", "timer: Persistent=yes")
    tap.is_(tim.get("RandomizedDelayUSec"), "5min", "timer: RandomizedDelaySec=5min")
    tap.ok(h.SERVICE in tim.get("Conflicts", "").split(), "timer conflicts with the daemon", tim.get("Conflicts"))


def max_gap(calendar_output):
    """Largest gap in seconds between the elapses `systemd-analyze calendar --iterations` lists
    (infinite when it lists fewer than 20)."""
    stamps = re.findall(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC", calendar_output)
    t = sorted(set(datetime.datetime.strptime(s, "%Y-%m-%d %H:%M:%S") for s in stamps))
    if len(t) < 20:
        return float("inf")
    return max((b - a).total_seconds() for a, b in zip(t, t[1:]))


def check_install(tap, sd):
    """[Install]: enable in a scratch root, as a package's postinst would."""
    root = os.path.join(sd.workdir, "enable-root")
    unitdir = os.path.join(root, "usr/lib/systemd/system")
    os.makedirs(unitdir)
    os.makedirs(os.path.join(root, "etc/systemd/system"))
    for unit in (h.SERVICE, h.ONESHOT, h.TIMER):
        with open(os.path.join(unitdir, unit), "w") as f:
            f.write(h.expanded_unit(unit))
    for unit, wants in ((h.SERVICE, "multi-user.target.wants"), (h.TIMER, "timers.target.wants")):
        r = subprocess.run(["systemctl", "--root=" + root, "enable", unit], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, universal_newlines=True, timeout=30)
        link = os.path.join(root, "etc/systemd/system", wants, unit)
        tap.ok(r.returncode == 0 and os.path.islink(link), "systemctl enable %s links it into %s" % (unit, wants),
               r.stdout)
    shutil.rmtree(root, ignore_errors=True)


def check_snippets(tap, sd):
    with open(os.path.join(sd.workdir, "sysroot/etc/passwd")) as f:
        entry = [l.rstrip("\n").split(":") for l in f if l.startswith("ecr-token-refresh:")]
    ok = len(entry) == 1 and int(entry[0][2]) < 1000 and entry[0][5] == h.STATE_DIR \
        and entry[0][6].endswith("nologin")
    tap.ok(ok, "sysusers.d: system user ecr-token-refresh, home %s, no login shell" % h.STATE_DIR, str(entry))
    with open(os.path.join(sd.workdir, "sysroot/etc/group")) as f:
        tap.ok(any(l.startswith("ecr-token-refresh:") for l in f), "sysusers.d: group ecr-token-refresh")

    shutil.copy(os.path.join(h.UNIT_SRCDIR, "ecr-token-refresh.tmpfiles"), sd.workdir)
    r = sd.run(["systemd-tmpfiles", "--create", h.INNER_ROOT + "/ecr-token-refresh.tmpfiles"], timeout=30)
    st = sd.run(["stat", "-c", "%a %U %G %F", h.STATE_DIR], timeout=10).stdout.strip()
    tap.ok(r.returncode == 0 and st == "750 ecr-token-refresh ecr-token-refresh directory",
           "tmpfiles.d: creates %s 0750 ecr-token-refresh:ecr-token-refresh" % h.STATE_DIR, r.stdout + st)


def body(tap):
    with h.PrivateSystemd(tap) as sd:
        binary = h.daemon_binary()
        if os.access(binary, os.X_OK):
            sd.install_daemon(binary)
        else:   # verify only needs an executable at the path
            sd.write(h.INNER_SBINDIR + "/ecr-token-refresh", "#!/bin/sh\nexit 0\n", mode=0o755)
            tap.diag("no built daemon; using a stand-in executable")
        sd.install_units()
        sd.write_config("interval: 30m\nregistries: []\n")
        sd.daemon_reload()
        check_verify(tap, sd)
        check_security(tap, sd)
        check_settings(tap, sd)
        check_install(tap, sd)
        check_snippets(tap, sd)


if __name__ == "__main__":
    h.run_tests(body, binary=False)
