#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The daemon under valgrind for many cycles: about 20 s at a 1 s interval against tests/fakeaws.py,
with transient and permanent faults, a hung request, a clock-skew correction, reloads (good, broken,
then good again) and SIGTERM. Asserts no memory error and no definite or indirect leak, from valgrind's
exit status (--error-exitcode) and its summary. TAP; needs no root. Skips without valgrind, and for a
sanitizer build (ASan and valgrind exclude each other). VALGRIND_SECONDS changes the run time.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fakeaws  # noqa: E402

BINARY = os.environ.get("ECR_TOKEN_REFRESH") or os.path.join(os.environ.get("top_builddir") or
                                                             os.path.dirname(HERE), "ecr-token-refresh")
SECONDS = float(os.environ.get("VALGRIND_SECONDS", "20"))
SECRET = "vAlGrInDsEcReT/%d/K7MDENGbPxRfiCYEXAMPLEKEY" % os.getpid()
IDS = ["111111111111", "222222222222", "333333333333", "444444444444"]

count = failed = 0


def ok(cond, name, diag=None):
    global count, failed
    count += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", count, name), flush=True)
    if not cond:
        failed += 1
        for line in str(diag or "").splitlines()[-60:]:
            print("# " + line, flush=True)
    return cond


def write_config(path, d, url, ids, broken=False):
    with open(path + ".tmp", "w") as f:
        f.write("interval: 1s\nregistries:\n")
        for rid in ids:
            # The first two share requests (batching); the others have an endpoint, and so requests, of
            # their own.
            endpoint = url if rid in IDS[:2] else "%s/%s" % (url, rid)
            f.write('  - registryId: "%s"\n    region: us-west-2\n    passwordFile: "%s/%s.pass"\n    endpoint: "%s"\n'
                    % (rid, d, rid, endpoint))
        if broken:
            f.write("  - registryId: 1234\n")
    os.replace(path + ".tmp", path)


def main():
    if not shutil.which("valgrind"):
        print("1..0 # SKIP valgrind is not installed")
        return 0
    if not os.access(BINARY, os.X_OK):
        print("1..0 # SKIP %s not built" % BINARY)
        return 0
    with open(BINARY, "rb") as f:
        if b"__asan_init" in f.read():
            print("1..0 # SKIP a sanitizer build cannot run under valgrind")
            return 0

    top = tempfile.mkdtemp(prefix="ecr-valgrind-")
    fake_log = open(os.path.join(top, "fakeaws.log"), "w")
    fake = fakeaws.FakeAwsProcess.start(os.path.join(top, "fake.port"), log=fake_log, quiet=True,
                                        password="pw-valgrind")
    cfg = os.path.join(top, "config.yaml")
    vglog = os.path.join(top, "valgrind.log")
    out = os.path.join(top, "daemon.log")
    write_config(cfg, top, fake.url, IDS[:3])
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "NOTIFY_", "WATCHDOG_", "LISTEN_", "JOURNAL_"))
           and k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")}
    env.update(AWS_ACCESS_KEY_ID="AKIDVALGRIND00000001", AWS_SECRET_ACCESS_KEY=SECRET,
               AWS_SESSION_TOKEN="vAlGrInDsEsSiOn", AWS_EC2_METADATA_DISABLED="true", HOME="/nonexistent",
               AWS_CONFIG_FILE="/nonexistent", AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
               WATCHDOG_USEC="4000000")   # request timeout 2 s: the hung request ends within the run
    args = ["valgrind", "--leak-check=full", "--errors-for-leak-kinds=definite,indirect",
            "--show-leak-kinds=definite,indirect", "--error-exitcode=99", "--track-origins=yes",
            "--num-callers=30", "--log-file=" + vglog, BINARY, "--config", cfg]
    t0 = time.monotonic()
    with open(out, "w") as o:
        proc = subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL, stdout=o, stderr=subprocess.STDOUT)

    def at(seconds):
        time.sleep(max(0.0, t0 + seconds - time.monotonic()))

    def daemon_output():
        with open(out) as f:
            return f.read()

    try:
        # Let valgrind start and a few clean cycles pass.
        deadline = time.monotonic() + 30
        while fake.stats()["requests"] < 3 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        base = time.monotonic() - t0
        s = SECONDS / 20.0      # the script below is written for 20 s
        for mode_name, n in (("500", 2), ("throttle", 1), ("503", 1), ("truncated", 1), ("reset", 1)):
            fake.queue(mode_name, count=n)
        at(base + 3 * s)
        fake.queue("hang", registry_id=IDS[0])
        for mode_name in ("invalid-json", "invalid-base64", "no-aws-prefix", "oversized"):
            fake.queue(mode_name)
        fake.queue("error", error_type="AccessDeniedException", error_message="denied " + SECRET)
        at(base + 6 * s)
        fake.set_mode("skew", skew=3600.0)
        at(base + 9 * s)
        write_config(cfg, top, fake.url, IDS[1:])           # one goes, one comes
        proc.send_signal(signal.SIGHUP)
        at(base + 11 * s)
        write_config(cfg, top, fake.url, IDS[1:], broken=True)
        proc.send_signal(signal.SIGHUP)                      # refused: the old config stays
        at(base + 13 * s)
        fake.queue("hang", registry_id=IDS[3])
        fake.queue("trickle", registry_id=IDS[2], trickle_interval=0.2)
        write_config(cfg, top, fake.url, IDS)
        proc.send_signal(signal.SIGHUP)
        at(base + 16 * s)
        fake.queue("hang", registry_id=IDS[1], count=5)
        at(base + 17 * s)
        alive = proc.poll() is None
        proc.send_signal(signal.SIGTERM)                      # mid-request: IDS[1] hangs
        try:
            code = proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        stats = fake.stats()
        fake.stop()
        fake_log.close()

    with open(vglog) as f:
        vg = f.read()
    log = daemon_output()
    ok(alive, "the daemon ran through the whole script (%.0f s under valgrind)" % (time.monotonic() - t0), log)
    ok(code == 0, "exit status 0 after SIGTERM (valgrind exits 99 on an error or a definite/indirect leak)",
       "exit status %s\n%s" % (code, vg))
    m = re.search(r"ERROR SUMMARY: (\d+) errors", vg)
    ok(m and m.group(1) == "0", "valgrind: ERROR SUMMARY: 0 errors", vg)
    leaks = {k: int(v.replace(",", "")) for k, v in re.findall(r"(definitely|indirectly) lost: ([\d,]+) bytes", vg)}
    ok(("All heap blocks were freed" in vg or "no leaks are possible" in vg) or
       (leaks.get("definitely", -1) == 0 and leaks.get("indirectly", -1) == 0),
       "valgrind: nothing definitely or indirectly lost", vg)
    by_mode = stats["by_mode"]
    cycles = stats["requests"]
    ok(cycles >= 25, "many cycles ran (%d requests)" % cycles, str(stats))
    want = {"500", "503", "throttle", "truncated", "reset", "hang", "invalid-json", "invalid-base64",
            "no-aws-prefix", "oversized", "error", "skew", "trickle"}
    ok(want <= set(by_mode), "every fault mode was exercised", "missing: %s" % sorted(want - set(by_mode)))
    ok(log.count("Configuration reloaded") == 2 and "Reload failed" in log, "two reloads applied, one refused", log)
    ok("clock skew" in log, "the clock was corrected once the server's clock jumped", log)
    files = {rid: open(os.path.join(top, rid + ".pass")).read() for rid in IDS
             if os.path.exists(os.path.join(top, rid + ".pass"))}
    ok(set(files) == set(IDS) and all(v == "pw-valgrind" for v in files.values()),
       "every registry's file was written", str(files))
    ok(not [f for f in os.listdir(top) if f.endswith(".tmp")], "no temporary file left")
    ok(SECRET not in log and "pw-valgrind" not in log and SECRET not in vg, "no secret in the output")
    if failed == 0 and not os.environ.get("ECR_TEST_KEEP"):
        shutil.rmtree(top, ignore_errors=True)
    else:
        print("# work directory kept: %s" % top)
    print("1..%d" % count)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
