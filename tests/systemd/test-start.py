#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Starting and stopping the daemon under a real systemd: `systemctl start` returns only once the
password file is there (Type=notify, READY=1 after the first refresh), with the right content,
mode and owner; a broken config fails the start without a restart loop; no config, no start."""

import os
import re
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sdharness as h  # noqa: E402

PASSWORD = "pw-start-%d" % os.getpid()


def check_start(tap, sd, fake):
    t0 = time.monotonic()
    r = sd.systemctl("start", h.SERVICE, timeout=120)
    elapsed = time.monotonic() - t0
    # Read the file before anything else: it must already be there when start returns.
    got = sd.read(h.password_file("a"))
    if not tap.ok(r.returncode == 0, "systemctl start succeeds (%.1fs)" % elapsed, r.stdout):
        sd.dump(h.SERVICE)
    tap.ok(got is not None, "the password file exists when systemctl start returns")
    if got:
        text, mode, owner, group = got
        tap.is_(text, PASSWORD, "the password file holds the bare password")
        tap.is_("%04o" % mode, "0640", "the password file has mode 0640")
        tap.is_((owner, group), ("ecr-token-refresh", "ecr-token-refresh"),
                "the password file belongs to ecr-token-refresh:ecr-token-refresh")
    st = sd.run(["stat", "-c", "%a %U %G", h.STATE_DIR], timeout=10).stdout.strip()
    tap.is_(st, "750 ecr-token-refresh ecr-token-refresh", "the state directory is 0750 ecr-token-refresh")

    p = sd.show(h.SERVICE, "ActiveState", "SubState", "StatusText", "NRestarts", "WatchdogUSec",
                "ExecMainPID", "MainPID", "User")
    tap.is_((p.get("ActiveState"), p.get("SubState")), ("active", "running"), "the service is active (running)")
    tap.ok(re.search(r"\b1/1\b", p.get("StatusText", "")), "StatusText shows the registry counts",
           "StatusText=%r" % p.get("StatusText"))
    tap.ok(PASSWORD not in p.get("StatusText", ""), "StatusText does not show the password")
    tap.is_(p.get("WatchdogUSec"), "30s", "the watchdog is armed with 30s")
    tap.is_(p.get("NRestarts"), "0", "no restarts")
    stats = fake.stats()
    tap.ok(stats["requests"] >= 1 and stats["last"]["signed"], "the daemon sent a signed request to the endpoint",
           str(stats))
    tap.diag("StatusText=%s" % p.get("StatusText"))

    journal = sd.journal(h.SERVICE)
    tap.ok(PASSWORD not in journal and h.FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"] not in journal,
           "the journal holds neither the password nor the secret key")

    t0 = time.monotonic()
    r = sd.systemctl("stop", h.SERVICE, timeout=30)
    elapsed = time.monotonic() - t0
    p = sd.show(h.SERVICE, "ActiveState", "Result", "ExecMainCode", "ExecMainStatus")
    tap.ok(r.returncode == 0 and elapsed < 5, "systemctl stop finishes within 5s (%.1fs)" % elapsed, r.stdout)
    tap.ok(p.get("ActiveState") == "inactive" and p.get("Result") == "success"
           and p.get("ExecMainStatus") == "0", "stopped cleanly: inactive, Result=success, exit status 0",
           str(p))
    got = sd.read(h.password_file("a"))
    tap.ok(got is not None and got[0] == PASSWORD, "the password file stays after stop")


def check_legacy_path(tap, sd, fake):
    """ProtectSystem=strict: a password file outside the state directory needs the documented
    ReadWritePaths= drop-in (here /var/cache/ecr-legacy stands in for the old /opt/passwords)."""
    legacy = "/var/cache/ecr-legacy"
    sd.run(["sh", "-c", "mkdir -p %s && chgrp ecr-token-refresh %s && chmod 2770 %s" % ((legacy,) * 3)],
           check=True)
    sd.write_config(h.config_yaml([{"registryId": h.REGISTRY_IDS[0], "region": "us-west-2",
                                    "passwordFile": legacy + "/a.pass", "endpoint": fake.url}]))
    sd.systemctl("start", h.SERVICE, timeout=120)
    status = sd.prop(h.SERVICE, "StatusText")
    tap.ok(sd.read(legacy + "/a.pass") is None and re.search(r"\b0/1\b", status),
           "without ReadWritePaths= a file outside the state directory cannot be written",
           "StatusText=%r" % status)
    sd.systemctl("stop", h.SERVICE, timeout=30)
    sd.drop_in(h.SERVICE, "[Service]\nReadWritePaths=%s\n" % legacy, name="60-legacy-path.conf")
    sd.daemon_reload()
    r = sd.systemctl("start", h.SERVICE, timeout=120)
    got = sd.read(legacy + "/a.pass")
    tap.ok(r.returncode == 0 and got is not None and got[0] == PASSWORD and "%04o" % got[1] == "0640",
           "with the ReadWritePaths= drop-in it is written, mode 0640", "%s %s" % (r.stdout, got and got[1:]))
    sd.systemctl("stop", h.SERVICE, timeout=30)
    os.unlink(sd.host_path("%s/%s.d/60-legacy-path.conf" % (h.UNIT_DIR, h.SERVICE)))
    sd.daemon_reload()


def check_broken_config(tap, sd):
    sd.write_config("interval: 30m\nregistries:\n  - registryId: \"1234\"\n    region: us-west-2\n"
                    "    passwordFile: /var/lib/ecr-token-refresh/x.pass\n")
    sd.systemctl("reset-failed", h.SERVICE)
    r = sd.systemctl("start", h.SERVICE, timeout=120)
    tap.ok(r.returncode != 0, "systemctl start fails with a broken config", r.stdout)
    # The daemon exits 78; RestartPreventExitStatus=78 must stop Restart=on-failure from looping.
    time.sleep(1)
    p = sd.show(h.SERVICE, "ActiveState", "SubState", "Result", "NRestarts", "StatusText",
                "ExecMainStatus", "StatusErrno")
    if not tap.ok(p.get("ActiveState") == "failed" and p.get("NRestarts") == "0",
                  "a broken config leaves the unit failed, not restarting", str(p)):
        sd.dump(h.SERVICE)
    tap.is_(p.get("ExecMainStatus"), "78", "the daemon exits 78 (EX_CONFIG)")
    tap.ok("registryId" in p.get("StatusText", "") and p.get("StatusErrno", "0") != "0",
           "StatusText and StatusErrno say why", str(p))
    journal = sd.journal(h.SERVICE)
    tap.ok("config.yaml:" in journal and "registryId" in journal,
           "the journal names the file, position and key of the problem", journal[-2000:])


def check_no_config(tap, sd):
    os.unlink(sd.host_path(h.INNER_SYSCONFDIR + "/ecr-token-refresh/config.yaml"))
    sd.systemctl("reset-failed", h.SERVICE)
    r = sd.systemctl("start", h.SERVICE, timeout=60)
    p = sd.show(h.SERVICE, "ActiveState", "ConditionResult")
    tap.ok(r.returncode == 0 and p.get("ActiveState") == "inactive" and p.get("ConditionResult") == "no",
           "without a config file the start is skipped (ConditionPathExists=)", "%s %s" % (r.stdout, p))


def body(tap):
    with h.PrivateSystemd(tap) as sd:
        fake = sd.start_fake(mode="ok", password=PASSWORD)
        sd.setup(fake)
        check_start(tap, sd, fake)
        check_legacy_path(tap, sd, fake)
        check_broken_config(tap, sd)
        check_no_config(tap, sd)


if __name__ == "__main__":
    h.run_tests(body)
