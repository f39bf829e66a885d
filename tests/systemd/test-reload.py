#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`systemctl reload` under a real systemd: an added registry gets its file without a restart; a
broken config is refused (by ExecReload's --check, and by the daemon itself on a bare SIGHUP), the
service stays active on the old config, and StatusText / the journal say why."""

import os
import re
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sdharness as h  # noqa: E402

BROKEN = "interval: 2s\nregistries:\n  - registryId: \"12345\"\n    region: us-west-2\n" \
         "    passwordFile: /var/lib/ecr-token-refresh/broken.pass\n"


def file_is(sd, name, text):
    got = sd.read(h.password_file(name))
    return got is not None and got[0] == text


def check_add_registry(tap, sd, fake):
    pid = sd.prop(h.SERVICE, "MainPID")
    sd.write_config(h.service_config(fake.url, ("a", "b"), interval="2s"))
    r = sd.systemctl("reload", h.SERVICE, timeout=60)
    tap.ok(r.returncode == 0, "systemctl reload succeeds", r.stdout)
    # /bin/kill returns before the daemon has re-read the config, so wait for the outcome.
    ok = sd.wait_for(lambda: file_is(sd, "b", "pw-1"), timeout=15)
    if not tap.ok(ok, "the added registry's file appears after the reload"):
        sd.dump(h.SERVICE)
    p = sd.wait_for(lambda: (lambda q: q if re.search(r"\b2/2\b", q.get("StatusText", "")) else None)(
        sd.show(h.SERVICE, "ActiveState", "StatusText", "MainPID")), timeout=10)
    tap.ok(p and p.get("ActiveState") == "active" and p.get("MainPID") == pid,
           "still active, same process, StatusText counts 2 registries",
           str(p or sd.show(h.SERVICE, "ActiveState", "StatusText", "MainPID")))


def check_refused(tap, sd, fake, how):
    """After a refused reload: active, same PID, old config (both files keep being refreshed)."""
    pid = sd.prop(h.SERVICE, "MainPID")
    cursor = sd.journal_cursor()
    sd.write_config(BROKEN)
    if how == "reload":
        r = sd.systemctl("reload", h.SERVICE, timeout=60)
        tap.ok(r.returncode != 0, "systemctl reload fails for a broken config", r.stdout)
    else:
        sd.run(["kill", "-HUP", pid], check=True)
    time.sleep(1)
    p = sd.wait_for(lambda: (lambda q: q if q.get("ActiveState") == "active" else None)(
        sd.show(h.SERVICE, "ActiveState", "SubState", "MainPID", "StatusText")), timeout=10)
    p = p or sd.show(h.SERVICE, "ActiveState", "SubState", "MainPID", "StatusText")
    if not tap.ok(p.get("ActiveState") == "active" and p.get("MainPID") == pid,
                  "%s: the service stays active, same process" % how, str(p)):
        sd.dump(h.SERVICE)
    new = sd.journal(lines=1000, after=cursor)
    tap.ok("config.yaml:3:" in new and "registryId" in new,
           "%s: the journal says where the config is broken" % how, new[-1500:])
    if how == "SIGHUP":
        tap.ok("registryId" in p.get("StatusText", "") or "config" in p.get("StatusText", "").lower(),
               "%s: StatusText says the reload was refused" % how, "StatusText=%r" % p.get("StatusText"))

    # The old config is still the one in force: both of its files get the next password.
    password = "pw-after-" + how
    fake.set_mode("ok", password=password)
    ok = sd.wait_for(lambda: file_is(sd, "a", password) and file_is(sd, "b", password), timeout=15)
    tap.ok(ok, "%s: the old config keeps refreshing both registries" % how)
    tap.ok(sd.read("/var/lib/ecr-token-refresh/broken.pass") is None, "%s: nothing from the broken config ran" % how)


def body(tap):
    with h.PrivateSystemd(tap) as sd:
        fake = sd.start_fake(mode="ok", password="pw-1")
        sd.setup(fake, names=("a",), interval="2s")
        r = sd.systemctl("start", h.SERVICE, timeout=120)
        if not tap.ok(r.returncode == 0 and file_is(sd, "a", "pw-1"), "the daemon starts with one registry",
                      r.stdout):
            sd.dump(h.SERVICE)
            return
        check_add_registry(tap, sd, fake)
        check_refused(tap, sd, fake, "reload")
        sd.write_config(h.service_config(fake.url, ("a", "b"), interval="2s"))
        check_refused(tap, sd, fake, "SIGHUP")


if __name__ == "__main__":
    h.run_tests(body)
