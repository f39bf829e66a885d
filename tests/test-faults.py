#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Fault injection: the real binary against tests/fakeaws.py answering badly, and against a disk that
says no. For every fault, what a user sees: the exit code of --oneshot, how many requests were made
and how far apart (transient faults: 3 attempts with full-jitter backoff; permanent ones: exactly 1),
the previous password file byte-identical, no temporary file left, a log line naming the registry and
the cause, no secret in any output, and recovery once the fault clears. Then SIGTERM and SIGHUP in the
middle of a cycle (daemon mode), a clock-skew correction that lasts, and 1,000 registries in one cycle.

The daemon's request timeout is capped at half of WATCHDOG_USEC (sd_watchdog_enabled() honours it
without WATCHDOG_PID): WATCHDOG_USEC=4000000 makes hung requests time out after 2 s. Needs no root;
as root (or with unprivileged user namespaces) it also fills a tiny tmpfs and mounts a directory
read-only in a private mount namespace. Runs in about a minute and a half.
"""

import base64
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fakeaws  # noqa: E402

BINARY = os.environ.get("ECR_TOKEN_REFRESH") or os.path.join(os.environ.get("top_builddir") or
                                                             os.path.dirname(HERE), "ecr-token-refresh")
KEY_ID = "AKIDFAULTTEST0000001"
SECRET = "fAuLtSeCrEt/%d/K7MDENG+bPxRfiCYEXAMPLE" % os.getpid()
SESSION = "fAuLtSeSsIoN%dIQoJb3JpZ2luX2VjEMr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ" % os.getpid()
RID = "123456789012"
REGION = "us-west-2"
LABEL = "%s/%s" % (RID, REGION)
WATCHDOG_USEC = 4000000          # request timeout: 2 s
TIMEOUT = WATCHDOG_USEC / 2e6
MAX_ATTEMPTS = 3
# The daemon's schedule timer coalesces within 1 s (sd-event accuracy), and durations >= 1 s are
# logged in whole seconds: a retry may come up to ~2 s after the logged delay.
SLACK = 2.5


class Tap:
    def __init__(self):
        self.count = 0
        self.failed = 0

    def ok(self, cond, description, diag=None, todo=None):
        self.count += 1
        cond = bool(cond)
        if not cond and not todo:
            self.failed += 1
        print("%s %d - %s%s" % ("ok" if cond else "not ok", self.count, description,
                                " # TODO " + todo if todo else ""), flush=True)
        if not cond and diag:
            self.diag(diag)
        return cond

    def is_(self, got, expected, description, diag=None):
        return self.ok(got == expected, description,
                       "got: %r\nexpected: %r%s" % (got, expected, "\n" + str(diag) if diag else ""))

    def skip(self, description, reason):
        self.count += 1
        print("ok %d - %s # SKIP %s" % (self.count, description, reason), flush=True)

    def diag(self, text):
        for line in str(text).rstrip("\n").splitlines()[-40:] or [""]:
            print("# " + line, flush=True)


t = Tap()
ALL_OUTPUT = []          # every line the daemon printed, for the final secret check


def clean_env(**extra):
    """No AWS settings, no systemd hand-over variables of our own environment; test credentials."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "NOTIFY_", "WATCHDOG_", "LISTEN_", "JOURNAL_", "CREDENTIALS_DIRECTORY"))
           and k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")}
    env.update(AWS_ACCESS_KEY_ID=KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET, AWS_SESSION_TOKEN=SESSION,
               AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE="/nonexistent/config",
               AWS_SHARED_CREDENTIALS_FILE="/nonexistent/credentials", HOME="/nonexistent",
               WATCHDOG_USEC=str(WATCHDOG_USEC))
    for k, v in extra.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


def write_config(path, registries, interval="30m"):
    """registries: (registry_id, password_file, endpoint) triples."""
    with open(path + ".tmp", "w") as f:
        f.write("interval: %s\nregistries:\n" % interval)
        for rid, pwfile, endpoint in registries:
            f.write('  - registryId: "%s"\n    region: %s\n    passwordFile: "%s"\n    endpoint: "%s"\n'
                    % (rid, REGION, pwfile, endpoint))
    os.chmod(path + ".tmp", 0o644)
    os.replace(path + ".tmp", path)


def oneshot(config, env=None, timeout=90, prefix=(), binary=BINARY):
    t0 = time.monotonic()
    p = subprocess.run([*prefix, binary, "--oneshot", "--config", config], env=env or clean_env(),
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
    out = p.stdout + p.stderr
    ALL_OUTPUT.append(out)
    return p.returncode, out, time.monotonic() - t0


def leaks(out, *more):
    """The names of the secrets found in out."""
    found = [name for name, s in (("secret key", SECRET), ("session token", SESSION)) if s in out]
    found += ["password %r" % m for m in more if m and m in out]
    return found


def tmp_files(d):
    return [f for f in os.listdir(d) if f.endswith(".tmp") or f.startswith(".")]


def parse_duration(s):
    total = 0.0
    for num, unit in re.findall(r"(\d+)(us|ms|s|m|h)", s):
        total += int(num) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}[unit]
    return total


def logged_retries(out):
    """[(delay in s, logged with whole-second resolution, attempt)] from "retrying in X (attempt N of M)"."""
    return [(parse_duration(d), d.endswith("s") and not d.endswith(("ms", "us")), int(n))
            for d, n in re.findall(r"retrying in (\S+) \(attempt (\d+) of \d+\)", out)]


def cause_line(out, cause):
    """Does one log line name both the registry and the cause?"""
    return any(LABEL in line and re.search(cause, line) for line in out.splitlines())


class Case:
    """A directory with a password file holding an old password, and a config pointing at url."""

    def __init__(self, top, name, url, password_dir=None):
        self.name = name
        self.dir = os.path.join(top, name)
        os.makedirs(self.dir)
        os.chmod(self.dir, 0o755)
        self.pwdir = password_dir or os.path.join(self.dir, "pw")
        os.makedirs(self.pwdir, exist_ok=True)
        self.pwfile = os.path.join(self.pwdir, "a.pass")
        self.old = ("old-%s-password-%d" % (name, os.getpid())).encode()
        with open(self.pwfile, "wb") as f:
            f.write(self.old)
        os.chmod(self.pwfile, 0o640)
        self.ino = os.stat(self.pwfile).st_ino
        self.config = os.path.join(self.dir, "config.yaml")
        self.set_url(url)

    def set_url(self, url):
        write_config(self.config, [(RID, self.pwfile, url)])

    def content(self):
        with open(self.pwfile, "rb") as f:
            return f.read()

    def check_untouched(self):
        t.ok(self.content() == self.old and os.stat(self.pwfile).st_ino == self.ino,
             "%s: the previous password file is byte-identical (and not replaced)" % self.name,
             "content now %r" % self.content())
        t.is_(tmp_files(self.pwdir), [], "%s: no temporary file left" % self.name)


def requests_for(fake, rid=RID):
    return [e for e in fake.log() if e["registry_id"] == rid]


def check_spacing(name, starts, out, durations=None):
    """Gap i between attempts = how long attempt i took + the logged backoff (within SLACK)."""
    retries = logged_retries(out)
    t.is_([a for _, _, a in retries], list(range(2, MAX_ATTEMPTS + 1)),
          "%s: the log announces attempts 2..%d" % (name, MAX_ATTEMPTS), out)
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    bad = []
    for i, gap in enumerate(gaps):
        if i >= len(retries):
            break
        delay, whole, attempt = retries[i]
        took = durations[i] if durations else 0.0
        lo, hi = took + delay - 0.1, took + delay + (1.0 if whole else 0.01) + SLACK
        if not lo <= gap <= hi:
            bad.append("gap %d: %.3fs, expected %.3f..%.3f (took %.2fs, backoff %.3fs)" % (i + 1, gap, lo, hi, took, delay))
    t.ok(gaps and not bad, "%s: requests are spaced by the logged backoff" % name, "\n".join(bad) or "no gaps")
    # Full jitter, standard mode: the wait before attempt k is below 2^(k-1) s.
    over = [(d, a) for d, _, a in retries if d >= 2 ** (a - 1)]
    t.ok(retries and not over, "%s: backoff below the full-jitter cap (2^attempt s)" % name, str(retries))
    return sum(gaps) - sum(durations or [0.0] * len(gaps))


BACKOFF_TOTAL = []


def fault(fake, top, name, mode, transient, cause, settings=None, leaked=(), timeout_fault=False, env=None):
    """One fault against the fake: oneshot fails as it should, then recovers."""
    c = Case(top, name, fake.url)
    fake.reset()
    fake.set_mode(mode, **(settings or {}))
    rc, out, took = oneshot(c.config, env)
    t.is_(rc, 1, "%s: oneshot exits 1" % name, out)
    reqs = requests_for(fake)
    expected = MAX_ATTEMPTS if transient else 1
    t.is_(len(reqs), expected, "%s: %d request%s (%s)" % (name, expected, "s" if expected > 1 else "",
                                                           "transient" if transient else "permanent"), out)
    if transient and len(reqs) == expected:
        durations = None
        if timeout_fault:
            # The fake notices the client going away when it next reads (hang) or writes (trickle).
            measured = [(e["end"] or 0) - e["time"] for e in reqs[:-1]]
            late = 0.6 + 2 * (settings or {}).get("trickle_interval", 0.0)
            t.ok(all(TIMEOUT - 0.1 <= d <= TIMEOUT + late for d in measured),
                 "%s: each attempt is dropped after the request timeout (%.0f s, half of WATCHDOG_USEC)"
                 % (name, TIMEOUT), str(measured))
            durations = [TIMEOUT] * len(measured)
        BACKOFF_TOTAL.append(check_spacing(name, [e["monotonic"] for e in reqs], out, durations))
    if not transient:
        t.ok(not logged_retries(out), "%s: no retry announced" % name, out)
    c.check_untouched()
    t.ok(cause_line(out, cause), "%s: a log line names the registry and the cause (/%s/)" % (name, cause), out)
    t.is_(leaks(out, *leaked, c.old.decode()), [], "%s: no secret in the output" % name, out)

    fake.reset()
    new = "pw-%s-recovered-%d" % (name, os.getpid())
    fake.set_mode("ok", password=new, **{k: v for k, v in (settings or {}).items()
                                         if k in ("tls_cert", "tls_key")})
    rc, out, _ = oneshot(c.config, env)
    t.ok(rc == 0 and c.content() == new.encode() and not tmp_files(c.pwdir) and len(requests_for(fake)) == 1,
         "%s: recovers once the fault clears (exit 0, file updated, 1 request)" % name,
         "rc %d, content %r, tmp %r\n%s" % (rc, c.content(), tmp_files(c.pwdir), out))
    t.ok(not leaks(out, new), "%s: recovery output shows no secret" % name, out)


# --------------------------------------------------------------------------------------------------

def faults_http(fake, top):
    fault(fake, top, "500", "500", True, r"ServerException")
    fault(fake, top, "503", "503", True, r"HTTP 503")
    fault(fake, top, "throttling", "throttle", True, r"ThrottlingException")
    fault(fake, top, "truncated", "truncated", True, r"transfer closed|partial file")
    fault(fake, top, "reset", "reset", True, r"reset by peer|Empty reply|Connection reset")
    fault(fake, top, "hang", "hang", True, r"[Tt]ime(d)? ?out", timeout_fault=True)
    fault(fake, top, "trickle", "trickle", True, r"[Tt]ime(d)? ?out", timeout_fault=True,
          settings={"trickle_interval": 0.3})
    fault(fake, top, "invalid-json", "invalid-json", False, r"not valid JSON")
    fault(fake, top, "invalid-base64", "invalid-base64", False, r"not valid base64",
          leaked=["fakeaws-password"])
    fault(fake, top, "no-aws-prefix", "no-aws-prefix", False, r"AWS:<password>",
          settings={"password": "bare-password-no-prefix"}, leaked=["bare-password-no-prefix"])
    fault(fake, top, "oversized", "oversized", False, r"too large", leaked=["fakeaws-password"])
    # AccessDenied is permanent, and an error message quoting a secret is scrubbed before it is logged.
    fault(fake, top, "access-denied", "error", False, r"AccessDeniedException",
          settings={"error_type": "AccessDeniedException",
                    "error_message": "not authorized; request had key %s and token %s" % (SECRET, SESSION)})
    # A signature error without a skewed Date is not retried (nothing a clock correction can fix).
    fault(fake, top, "bad-signature", "error", False, r"InvalidSignatureException",
          settings={"error_type": "InvalidSignatureException", "error_message": "The request signature we "
                    "calculated does not match the signature you provided."})
    t.ok(len(BACKOFF_TOTAL) >= 5 and sum(BACKOFF_TOTAL) > 0.5,
         "transient faults: the retries did back off (%.1f s of backoff in all)" % sum(BACKOFF_TOTAL),
         str(BACKOFF_TOTAL))


def fault_refused(top, fake_log):
    port = fakeaws.closed_port()
    c = Case(top, "refused", "http://127.0.0.1:%d" % port)
    rc, out, took = oneshot(c.config)
    t.is_(rc, 1, "refused: oneshot exits 1", out)
    t.is_([a for _, _, a in logged_retries(out)], [2, 3], "refused: 3 attempts (connection errors are transient)", out)
    bound = sum(2 ** (a - 1) for a in (2, 3)) + 2 * SLACK
    t.ok(took < bound, "refused: the attempts end within the backoff bound (%.1fs < %.1fs)" % (took, bound))
    c.check_untouched()
    t.ok(cause_line(out, r"Couldn't connect|Connection refused|Failed to connect"),
         "refused: a log line names the registry and the cause", out)
    t.is_(leaks(out, c.old.decode()), [], "refused: no secret in the output", out)
    # The fault clears: something listens on that port now.
    try:
        fake = fakeaws.FakeAwsProcess.start(os.path.join(top, "refused.port"), log=fake_log, port=port,
                                            password="pw-refused-recovered", quiet=True)
    except RuntimeError as e:
        t.skip("refused: recovers once the port listens", "cannot listen on port %d again: %s" % (port, e))
        return
    try:
        rc, out, _ = oneshot(c.config)
        t.ok(rc == 0 and c.content() == b"pw-refused-recovered",
             "refused: recovers once the port listens", "rc %d\n%s" % (rc, out))
    finally:
        fake.stop()


def faults_skew(fake, top):
    for name, skew in (("skew+1h", 3600.0), ("skew-1h", -3600.0)):
        c = Case(top, name, fake.url)
        fake.reset()
        new = "pw-%s-%d" % (name, os.getpid())
        fake.set_mode("skew", skew=skew, password=new)
        rc, out, took = oneshot(c.config)
        reqs = requests_for(fake)
        t.is_(rc, 0, "%s: oneshot succeeds after correcting its clock" % name, out)
        t.is_([e["status"] for e in reqs], [400, 200], "%s: refused once (InvalidSignatureException), then accepted"
              % name, out)
        if len(reqs) == 2:
            signed = time.mktime(time.strptime(reqs[1]["amz_date"], "%Y%m%dT%H%M%SZ")) - time.timezone
            t.ok(abs(signed - (reqs[1]["time"] + skew)) < 300, "%s: the retry is signed with the server's clock"
                 % name, reqs[1]["amz_date"])
        t.ok(c.content() == new.encode(), "%s: the file is updated" % name)
        t.ok(re.search(r"clock skew of [+-]?\d+s", out) and took < 5,
             "%s: the correction is logged and quick (%.1fs)" % (name, took), out)
        t.is_(leaks(out, new), [], "%s: no secret in the output" % name, out)

    # A skewed Date with a signature error that persists: corrected once, not again.
    c = Case(top, "skew-persistent", fake.url)
    fake.reset()
    fake.set_mode("error", skew=3600.0, error_type="InvalidSignatureException", error_message="Signature expired")
    rc, out, _ = oneshot(c.config)
    t.is_(rc, 1, "skew-persistent: oneshot exits 1", out)
    t.is_(len(requests_for(fake)), 2, "skew-persistent: the clock is corrected and retried once, not more", out)
    c.check_untouched()
    # AccessDeniedException with a Date an hour off: possibly our clock, so corrected and tried once
    # more, as the SDKs do; a second refusal is final. (max_skew: the fake's own signature-date check
    # stays out of the way.)
    c = Case(top, "skew-access-denied", fake.url)
    fake.reset()
    fake.set_mode("error", skew=3600.0, max_skew=7200.0, error_type="AccessDeniedException",
                  error_message="User is not authorized")
    rc, out, _ = oneshot(c.config)
    t.ok(rc == 1 and len(requests_for(fake)) == 2 and "clock skew" in out,
         "skew-access-denied: AccessDeniedException with a skewed Date is retried once with the server's clock",
         "exit %d, %d requests\n%s" % (rc, len(requests_for(fake)), out))
    c.check_untouched()
    fake.set_mode("ok", skew=0.0, max_skew=300.0)


def faults_tls(top, fake_log):
    try:
        certs = fakeaws.make_test_certs(os.path.join(top, "certs"))
    except (OSError, subprocess.CalledProcessError) as e:
        t.skip("TLS faults", "cannot make test certificates with openssl: %s" % e)
        return
    fake = fakeaws.FakeAwsProcess.start(os.path.join(top, "tls.port"), log=fake_log, quiet=True,
                                        tls_cert=certs["good"], tls_key=certs["good_key"])
    try:
        with_ca = clean_env(AWS_CA_BUNDLE=certs["ca"])
        c = Case(top, "tls-good", fake.url)
        fake.set_mode("ok", password="pw-tls-good")
        rc, out, _ = oneshot(c.config, with_ca)
        t.ok(rc == 0 and c.content() == b"pw-tls-good",
             "tls: a certificate signed by the AWS_CA_BUNDLE CA is accepted", out)

        def tls_fault(name, cert, env, cause):
            c = Case(top, name, fake.url)
            fake.set_mode("ok", tls_cert=certs[cert], tls_key=certs[cert + "_key"], password="pw-" + name)
            fake.reset()
            rc, out, _ = oneshot(c.config, env)
            conns, reqs = fake.log("connection"), fake.log("request") + fake.log("tls-error")
            t.is_(rc, 1, "%s: oneshot exits 1" % name, out)
            t.ok(len(conns) + len(fake.log("tls-error")) == 1 and not fake.log("request"),
                 "%s: one connection, no retry, and no request sent" % name, "%r %r" % (conns, reqs))
            c.check_untouched()
            t.ok(cause_line(out, cause), "%s: a log line names the registry and the cause" % name, out)
            t.is_(leaks(out, "pw-" + name, c.old.decode()), [], "%s: no secret in the output" % name, out)
            fake.set_mode("ok", tls_cert=certs["good"], tls_key=certs["good_key"], password="pw-%s-ok" % name)
            rc, out, _ = oneshot(c.config, with_ca)
            t.ok(rc == 0 and c.content() == ("pw-%s-ok" % name).encode(),
                 "%s: recovers once the server has a good certificate" % name, out)

        tls_fault("tls-self-signed", "selfsigned", with_ca, r"certificate|SSL")
        tls_fault("tls-wrong-host", "wronghost", with_ca, r"does not match|host ?name|certificate")
        # Without AWS_CA_BUNDLE the system trust store is used, which knows nothing of the test CA.
        tls_fault("tls-no-ca-bundle", "good", clean_env(), r"certificate|SSL")
    finally:
        fake.stop()


# --------------------------------------------------------------------------------------------------
# The disk says no.

def namespace_prefix():
    """The command prefix for a private mount namespace in which we may mount: None if there is none."""
    for prefix in (["unshare", "--mount", "--propagation", "private"] if os.geteuid() == 0 else [],
                   ["unshare", "--user", "--map-root-user", "--mount"]):
        if not prefix:
            continue
        try:
            if subprocess.run([*prefix, "sh", "-c", "mount -t tmpfs -o size=16k tmpfs /mnt 2>/dev/null || "
                               "mount -t tmpfs -o size=16k tmpfs \"$0\"", tempfile.gettempdir()],
                              capture_output=True, timeout=10).returncode == 0:
                return prefix
        except (OSError, subprocess.TimeoutExpired):
            pass
    return None


INNER = r'''
set -u
mount -t tmpfs -o size=16k,mode=0755 tmpfs "$D" || exit 90
printf %s "$OLD" >"$D/a.pass"; chmod 0640 "$D/a.pass"
dd if=/dev/zero of="$D/fill" bs=1k count=1024 2>/dev/null
[ -n "$RO" ] && { rm -f "$D/fill"; mount -o remount,ro "$D" || exit 91; }
"$BIN" --oneshot --config "$CFG" >"$OUT1" 2>&1; echo "rc1=$?"
echo "content1=$(base64 -w0 <"$D/a.pass")"
echo "list1=$(ls -A "$D" | tr '\n' ' ')"
[ -n "$RO" ] && { mount -o remount,rw "$D" || exit 92; }
rm -f "$D/fill"
"$BIN" --oneshot --config "$CFG" >"$OUT2" 2>&1; echo "rc2=$?"
echo "content2=$(base64 -w0 <"$D/a.pass")"
echo "list2=$(ls -A "$D" | tr '\n' ' ')"
'''


def fault_in_namespace(fake, top, name, prefix, readonly, cause):
    c = Case(top, name, fake.url)
    fake.reset()
    new = "pw-%s-%d" % (name, os.getpid())
    fake.set_mode("ok", password=new)
    env = clean_env(D=c.pwdir, OLD=c.old.decode(), RO="1" if readonly else "", BIN=BINARY, CFG=c.config,
                    OUT1=os.path.join(c.dir, "out1"), OUT2=os.path.join(c.dir, "out2"))
    p = subprocess.run([*prefix, "sh", "-c", INNER], env=env, capture_output=True, text=True, timeout=60)
    res = dict(line.split("=", 1) for line in p.stdout.splitlines() if "=" in line)
    if p.returncode >= 90 or "rc1" not in res:
        t.ok(False, "%s: the private mount namespace works" % name, p.stdout + p.stderr)
        return
    outs = []
    for f in ("out1", "out2"):
        with open(os.path.join(c.dir, f)) as fh:
            outs.append(fh.read())
    ALL_OUTPUT.extend(outs)
    t.is_(res["rc1"], "1", "%s: oneshot exits 1" % name, outs[0])
    t.ok(base64.b64decode(res["content1"]) == c.old, "%s: the previous password file is byte-identical" % name,
         res["content1"])
    t.is_(res["list1"].split(), ["a.pass"] if readonly else ["a.pass", "fill"],
          "%s: no temporary file left" % name)
    t.ok(cause_line(outs[0], cause), "%s: a log line names the registry and the cause" % name, outs[0])
    t.is_(len(requests_for(fake)), 2, "%s: one request per run (a write error is not retried in the cycle)" % name)
    t.ok(res["rc2"] == "0" and base64.b64decode(res["content2"]) == new.encode() and res["list2"].split() == ["a.pass"],
         "%s: recovers once there is room / the mount is writable" % name, str(res) + outs[1])
    t.is_(leaks("".join(outs), new, c.old.decode()), [], "%s: no secret in the output" % name)


def faults_disk(fake, top):
    # Missing directory.
    c = Case(top, "missing-dir", fake.url)
    missing = os.path.join(c.dir, "not-there")
    write_config(c.config, [(RID, os.path.join(missing, "a.pass"), fake.url)])
    fake.reset()
    fake.set_mode("ok", password="pw-missing")
    rc, out, _ = oneshot(c.config)
    t.is_(rc, 1, "missing-dir: oneshot exits 1", out)
    t.ok(not os.path.exists(missing), "missing-dir: the directory is not created behind the admin's back")
    t.ok(cause_line(out, r"missing directory|No such file or directory"), "missing-dir: a log line names the cause", out)
    t.is_(leaks(out, "pw-missing"), [], "missing-dir: no secret in the output", out)
    os.makedirs(missing)
    rc, out, _ = oneshot(c.config)
    with open(os.path.join(missing, "a.pass"), "rb") as f:
        t.ok(rc == 0 and f.read() == b"pw-missing", "missing-dir: recovers once the directory exists", out)

    # EACCES: a directory the daemon may not write to.
    c = Case(top, "eacces", fake.url)
    fake.reset()
    fake.set_mode("ok", password="pw-eacces")
    prefix, binary, why_not = [], BINARY, None
    if os.geteuid() == 0:
        # root writes anywhere: run as nobody, a copy of the binary (the build tree may be private).
        os.chmod(c.pwdir, 0o755)
        binary = os.path.join(c.dir, "ecr-token-refresh")
        shutil.copy2(BINARY, binary)
        os.chmod(binary, 0o755)
        prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        if not shutil.which("setpriv"):
            why_not = "running as root without setpriv(1)"
        elif subprocess.run([*prefix, "sh", "-c", 'test -x "$0" && test -r "$1"', binary, c.config]).returncode != 0:
            why_not = "nobody cannot reach %s" % c.dir
    else:
        os.chmod(c.pwdir, 0o555)
    if why_not:
        t.skip("eacces: a directory the daemon may not write to", why_not)
    else:
        rc, out, _ = oneshot(c.config, prefix=prefix, binary=binary)
        t.is_(rc, 1, "eacces: oneshot exits 1", out)
        c.check_untouched()
        t.ok(cause_line(out, r"Permission denied"), "eacces: a log line names the registry and the cause", out)
        t.is_(leaks(out, "pw-eacces", c.old.decode()), [], "eacces: no secret in the output", out)
        if os.geteuid() == 0:
            os.chown(c.pwdir, 65534, 65534)
        else:
            os.chmod(c.pwdir, 0o755)
        rc, out, _ = oneshot(c.config, prefix=prefix, binary=binary)
        t.ok(rc == 0 and c.content() == b"pw-eacces", "eacces: recovers once the directory is writable", out)

    prefix = namespace_prefix()
    if prefix is None:
        for name in ("enospc", "erofs"):
            t.skip("%s: a full / read-only file system" % name,
                   "needs root or unprivileged user namespaces for a private mount namespace")
        return
    fault_in_namespace(fake, top, "enospc", prefix, False, r"No space left on device")
    fault_in_namespace(fake, top, "erofs", prefix, True, r"Read-only file system")


# --------------------------------------------------------------------------------------------------
# Signals in the middle of a cycle (daemon mode).

class Daemon:
    def __init__(self, config, logpath, env=None, oneshot=False):
        self.logpath = logpath
        self.log = open(logpath, "w")
        args = [BINARY, "--config", config] + (["--oneshot"] if oneshot else [])
        self.proc = subprocess.Popen(args, env=env or clean_env(), stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)

    def output(self):
        with open(self.logpath) as f:
            return f.read()

    def wait_for(self, predicate, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            if self.proc.poll() is not None:
                return predicate()
            time.sleep(0.05)
        return False

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Sends sig and waits; returns (exit code or None, seconds it took)."""
        t0 = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            code = None
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        ALL_OUTPUT.append(self.output())
        return code, time.monotonic() - t0


def signals(fake, top):
    # SIGTERM while the request hangs, without the watchdog cap: the request timeout is 30 s, and
    # the daemon must not wait for it.
    for name, mode, oneshot_mode, expect in (("sigterm-hang", "hang", False, 0),
                                             ("sigterm-trickle-oneshot", "trickle", True, 1)):
        c = Case(top, name, fake.url)
        fake.reset()
        fake.set_mode(mode, password="pw-" + name)
        d = Daemon(c.config, os.path.join(c.dir, "log"), clean_env(WATCHDOG_USEC=None), oneshot=oneshot_mode)
        try:
            t.ok(d.wait_for(lambda: requests_for(fake), 10), "%s: the request is in flight" % name, d.output())
            time.sleep(0.3)
        finally:
            code, took = d.stop()
        out = d.output()
        t.is_(code, expect, "%s: SIGTERM mid-request exits %d" % (name, expect), out)
        t.ok(took < 2.0, "%s: ... at once (%.2fs), not after the request timeout" % (name, took))
        t.ok("SIGTERM" in out, "%s: the log says why it stopped" % name, out)
        c.check_untouched()
        t.is_(leaks(out, "pw-" + name, c.old.decode()), [], "%s: no secret in the output" % name, out)
    fake.set_mode("ok")

    # SIGHUP to --oneshot mid-request: no reload there, and no death either; the cycle completes.
    c = Case(top, "sighup-oneshot", fake.url)
    fake.reset()
    fake.set_mode("ok", password="pw-sighup-oneshot")
    fake.queue("hang")
    d = Daemon(c.config, os.path.join(c.dir, "log"), oneshot=True)
    t.ok(d.wait_for(lambda: requests_for(fake), 10), "sighup-oneshot: the request is in flight", d.output())
    d.proc.send_signal(signal.SIGHUP)
    try:
        code = d.proc.wait(15)
    except subprocess.TimeoutExpired:
        code = None
    d.stop()
    t.ok(code == 0 and c.content() == b"pw-sighup-oneshot" and len(requests_for(fake)) == 2,
         "sighup-oneshot: SIGHUP is ignored, the hung request times out, the retry writes the file",
         "exit %r, %d requests\n%s" % (code, len(requests_for(fake)), d.output()))

    # SIGHUP while a request hangs. A hangs, B and C are fast; reloads change the set around A.
    d_top = os.path.join(top, "sighup")
    os.makedirs(d_top)
    files = {n: os.path.join(d_top, n + ".pass") for n in "ABC"}
    ids = {"A": "111111111111", "B": "222222222222", "C": "333333333333"}
    old_a = b"old-A-password"
    with open(files["A"], "wb") as f:
        f.write(old_a)
    cfg = os.path.join(d_top, "config.yaml")

    def config(*names):
        # A has an endpoint of its own, so that it does not share a request with B and C.
        write_config(cfg, [(ids[n], files[n], fake.url + ("/a" if n == "A" else "")) for n in names])

    def content(n):
        try:
            with open(files[n], "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    fake.reset()
    fake.set_mode("ok", passwords={ids[n]: "pw-hup-" + n for n in "ABC"})
    fake.queue("hang", registry_id=ids["A"])
    config("A", "B")
    d = Daemon(cfg, os.path.join(d_top, "log"), clean_env(WATCHDOG_USEC=None))
    try:
        t.ok(d.wait_for(lambda: content("B") == b"pw-hup-B" and requests_for(fake, ids["A"]), 10),
             "sighup: B is written while A's request hangs", d.output())
        config("A", "C")     # B goes, C comes, A unchanged
        d.proc.send_signal(signal.SIGHUP)
        t.ok(d.wait_for(lambda: content("C") == b"pw-hup-C", 10), "sighup: C (added by the reload) is written "
             "while A still hangs", d.output())
        a_reqs = requests_for(fake, ids["A"])
        t.ok(len(a_reqs) == 1 and a_reqs[0]["end"] is None,
             "sighup: A's request in flight is kept across the reload, not restarted", str(a_reqs))
        t.ok("Configuration reloaded: 2 registries" in d.output(), "sighup: the reload is logged", d.output())
        config("C")          # A goes while its request hangs
        t_hup = time.time()
        d.proc.send_signal(signal.SIGHUP)
        t.ok(d.wait_for(lambda: "Configuration reloaded: 1 registry" in d.output(), 5),
             "sighup: a reload dropping A is applied mid-request", d.output())
        t.ok(wait_until(lambda: requests_for(fake, ids["A"])[0]["end"] is not None, 3) and
             requests_for(fake, ids["A"])[0]["end"] - t_hup < 2.5,
             "sighup: A's hung request is aborted (connection closed) by the reload", str(requests_for(fake, ids["A"])))
        with open(cfg, "w") as f:
            f.write("interval: 30m\nregistries: [\n")
        d.proc.send_signal(signal.SIGHUP)
        t.ok(d.wait_for(lambda: "Reload failed" in d.output(), 5) and d.proc.poll() is None,
             "sighup: a broken config mid-run is refused and the daemon keeps running", d.output())
        t.is_(len(requests_for(fake, ids["A"])), 1, "sighup: A was asked exactly once")
    finally:
        code, took = d.stop()
    out = d.output()
    t.ok(code == 0 and took < 2, "sighup: SIGTERM then exits 0 at once (%.2fs)" % took, out)
    t.is_(content("A"), old_a, "sighup: A's file was never touched")
    t.is_(sorted(os.listdir(d_top)), ["A.pass", "B.pass", "C.pass", "config.yaml", "log"],
          "sighup: no temporary file left")
    t.is_(leaks(out, "pw-hup-A", "pw-hup-B", "pw-hup-C"), [], "sighup: no secret in the output", out)

    # The clock correction lasts: a daemon that corrected its clock signs every later cycle right.
    c = Case(top, "skew-daemon", fake.url)
    write_config(c.config, [(RID, c.pwfile, fake.url)], interval="1s")
    fake.reset()
    fake.set_mode("skew", skew=3600.0, password="pw-skew-daemon")
    d = Daemon(c.config, os.path.join(c.dir, "log"))
    try:
        d.wait_for(lambda: len(requests_for(fake)) >= 4, 15)
    finally:
        code, _ = d.stop()
    st = [e["status"] for e in requests_for(fake)]
    t.ok(len(st) >= 4 and st[0] == 400 and all(s == 200 for s in st[1:] if s is not None),
         "skew-daemon: after one correction, every later cycle is signed with the server's clock", str(st))
    fake.set_mode("ok", skew=0.0)


def wait_until(predicate, timeout):
    deadline = time.monotonic() + timeout
    while True:
        try:
            if predicate():
                return True
        except (IndexError, KeyError, TypeError):
            pass
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


# --------------------------------------------------------------------------------------------------

def many_registries(fake, top, n=1000, latency=0.02):
    d = os.path.join(top, "many")
    os.makedirs(d)
    ids = ["%012d" % (100000000000 + i) for i in range(n)]
    cfg = os.path.join(top, "many.yaml")
    write_config(cfg, [(rid, os.path.join(d, "%s.pass" % rid), fake.url) for rid in ids])
    fake.reset()
    fake.set_mode("ok", passwords={rid: "pw-%s" % rid for rid in ids}, delay=latency)
    rc, out, took = oneshot(cfg, timeout=120)
    fake.set_mode("ok", delay=0.0, passwords={})
    t.is_(rc, 0, "%d registries: oneshot exits 0" % n, out[-3000:])
    wrong = []
    for rid in ids:
        try:
            with open(os.path.join(d, "%s.pass" % rid), "rb") as f:
                if f.read() != ("pw-%s" % rid).encode():
                    wrong.append(rid)
        except FileNotFoundError:
            wrong.append(rid)
    t.ok(not wrong, "%d registries: every file holds its own registry's password" % n, "%d wrong, e.g. %s"
         % (len(wrong), wrong[:5]))
    t.is_(len(os.listdir(d)), n, "%d registries: nothing but the password files in the directory" % n)
    serial = n * latency
    t.ok(took < min(serial, 45), "%d registries: done in %.1fs, under the serial bound of %.0fs (%.0f ms latency "
         "each) and well under a minute" % (n, took, serial, latency * 1000))
    log = fake.log()
    events = sorted([(e["time"], 1) for e in log] + [(e["end"] or e["time"], -1) for e in log])
    running = peak = 0
    for _, delta in events:
        running += delta
        peak = max(peak, running)
    t.ok(2 <= peak <= 8, "%d registries: concurrency is bounded by 8 and used (peak %d)" % (n, peak))
    t.ok(len(log) <= n, "%d registries: no request repeated (%d requests)" % (n, len(log)))
    # Identical (identity, region) pairs are not signed twice per cycle: ECR takes 10 registryIds a call.
    t.ok(len(log) == (n + 9) // 10, "%d registries: one GetAuthorizationToken per 10 registries of one identity "
         "and region (%d requests)" % (n, len(log)))
    asked = sorted(i for e in log for i in e["registry_ids"])
    t.ok(asked == sorted(ids) and all(len(e["registry_ids"]) == 10 for e in log),
         "%d registries: each registry named in exactly one request, 10 per request" % n)
    t.is_(leaks(out, "pw-%s" % ids[0], "pw-%s" % ids[-1]), [], "%d registries: no secret in the output" % n)


def batching(fake, top):
    """Registries of one identity, region and endpoint share GetAuthorizationToken requests (up to 10
    registryIds), and each still gets its own token however the answer is laid out."""
    def setup(name, n, base, regions=(REGION,)):
        fake.set_mode("ok", answer="each")
        d = os.path.join(top, name)
        os.makedirs(d)
        ids = ["%012d" % (base + i) for i in range(n)]
        cfg = os.path.join(d, "config.yaml")
        with open(cfg, "w") as f:
            f.write("interval: 30m\nregistries:\n")
            for i, rid in enumerate(ids):
                f.write('  - registryId: "%s"\n    region: %s\n    passwordFile: "%s/%s.pass"\n    endpoint: "%s"\n'
                        % (rid, regions[i % len(regions)], d, rid, fake.url))
        return d, ids, cfg

    def files(d, ids):
        out = {}
        for rid in ids:
            try:
                with open(os.path.join(d, rid + ".pass")) as f:
                    out[rid] = f.read()
            except FileNotFoundError:
                out[rid] = None
        return out

    def own(d, ids):
        return files(d, ids) == {rid: "pw-" + rid for rid in ids}

    # 25 registries: 10 + 10 + 5.
    d, ids, cfg = setup("batch-25", 25, 300000000000)
    fake.reset()
    fake.set_mode("ok", passwords={rid: "pw-" + rid for rid in ids})
    rc, out, _ = oneshot(cfg)
    log = fake.log()
    t.is_(rc, 0, "batch: 25 registries refresh", out)
    t.is_(sorted(len(e["registry_ids"]) for e in log), [5, 10, 10], "batch: 25 registries take 3 requests (10, 10, 5)")
    t.ok(own(d, ids), "batch: every file holds its own registry's password", str(files(d, ids)))
    t.is_(leaks(out, *("pw-" + rid for rid in ids)), [], "batch: no password in the output", out)

    # However the answer is laid out, each registry gets the item meant for it.
    for answer, what in (("reversed", "items in another order: matched by proxyEndpoint"),
                         ("anonymous", "items without proxyEndpoint: matched by position")):
        d, ids, cfg = setup("batch-" + answer, 4, 310000000000 if answer == "reversed" else 320000000000)
        fake.reset()
        fake.set_mode("ok", passwords={rid: "pw-" + rid for rid in ids}, answer=answer)
        rc, out, _ = oneshot(cfg)
        t.ok(rc == 0 and len(fake.log()) == 1 and own(d, ids), "batch: %s" % what, out + str(files(d, ids)))

    # One item for the whole request: the identity's token serves every registry (registryIds is
    # deprecated; the token works for every registry the principal may use).
    d, ids, cfg = setup("batch-one", 3, 330000000000)
    fake.reset()
    fake.set_mode("ok", passwords={rid: "pw-" + rid for rid in ids}, answer="one")
    rc, out, _ = oneshot(cfg)
    t.ok(rc == 0 and len(fake.log()) == 1 and set(files(d, ids).values()) == {"pw-" + ids[0]},
         "batch: a single item serves every registry of the request", out + str(files(d, ids)))

    # An answer without an item for one registry: that one is asked for on its own.
    d, ids, cfg = setup("batch-missing", 3, 340000000000)
    fake.reset()
    fake.set_mode("ok", passwords={rid: "pw-" + rid for rid in ids}, answer="missing-last")
    rc, out, _ = oneshot(cfg)
    log = fake.log()
    t.ok(rc == 0 and own(d, ids) and [len(e["registry_ids"]) for e in log] == [3, 1] and log[1]["registry_ids"] == [ids[2]],
         "batch: a registry missing from the answer is asked for on its own", out + str(log))
    t.ok(cause_line_for(out, ids[2], "asking on its own"), "batch: ... and the log says so", out)

    # InvalidParameterException on a shared request: each registry on its own, so one bad id does not
    # take the others down; the bad one fails, the others are written, the old file is kept.
    d, ids, cfg = setup("batch-invalid", 3, 350000000000)
    bad = ids[1]
    with open(os.path.join(d, bad + ".pass"), "w") as f:
        f.write("old-" + bad)
    fake.reset()
    fake.set_mode("ok", passwords={rid: "pw-" + rid for rid in ids})
    fake.queue("error", count=2, registry_id=bad, error_type="InvalidParameterException",
               error_message="Invalid parameter at 'registryIds' failed to satisfy constraint")
    rc, out, _ = oneshot(cfg)
    log = fake.log()
    got = files(d, ids)
    t.ok(rc == 1 and got[ids[0]] == "pw-" + ids[0] and got[ids[2]] == "pw-" + ids[2] and got[bad] == "old-" + bad,
         "batch: InvalidParameterException splits the request; the bad registry fails alone, its old file kept",
         out + str(got))
    t.ok(len(log) == 4 and sorted(len(e["registry_ids"]) for e in log) == [1, 1, 1, 3],
         "batch: one shared request, then one each (%d requests)" % len(log), str([e["registry_ids"] for e in log]))
    t.ok("asking for each registry on its own" in out and cause_line_for(out, bad, "InvalidParameterException"),
         "batch: the log says why it split and which registry failed", out)

    # A transient error retries the shared request as a whole.
    d, ids, cfg = setup("batch-503", 5, 360000000000)
    fake.reset()
    fake.set_mode("ok", passwords={rid: "pw-" + rid for rid in ids})
    fake.queue("503", count=1)
    rc, out, _ = oneshot(cfg)
    log = fake.log()
    t.ok(rc == 0 and own(d, ids) and [len(e["registry_ids"]) for e in log] == [5, 5],
         "batch: a 503 retries the shared request once for all 5", out + str([e["registry_ids"] for e in log]))
    t.ok(re.search(r"%s/%s and 4 more: HTTP 503.*attempt 2 of 3" % (ids[0], REGION), out),
         "batch: one retry line names the request's registries", out)

    # Different regions never share a request (different signing scope and endpoint).
    d, ids, cfg = setup("batch-regions", 6, 370000000000, regions=("us-west-2", "eu-west-1"))
    fake.reset()
    fake.set_mode("ok", passwords={rid: "pw-" + rid for rid in ids})
    rc, out, _ = oneshot(cfg)
    log = fake.log()
    by_region = sorted((e["region"], sorted(e["registry_ids"])) for e in log)
    t.ok(rc == 0 and own(d, ids) and by_region == [("eu-west-1", sorted(ids[1::2])), ("us-west-2", sorted(ids[0::2]))],
         "batch: one request per region, each naming only that region's registries", out + str(by_region))

    # A reload drops a registry while the request it shares is in flight, and the answer (without
    # proxyEndpoint, one item short) can only be matched by position: positions are those of the ids
    # the request named, so no registry gets another's token; the two left ask again on their own.
    d, ids, cfg = setup("batch-reload-drop", 3, 390000000000)

    def config_of(rids):
        with open(cfg + ".tmp", "w") as f:
            f.write("interval: 30m\nregistries:\n")
            for rid in rids:
                f.write('  - registryId: "%s"\n    region: %s\n    passwordFile: "%s/%s.pass"\n    endpoint: "%s"\n'
                        % (rid, REGION, d, rid, fake.url))
        os.replace(cfg + ".tmp", cfg)
    config_of(ids)
    fake.reset()
    fake.set_mode("ok", passwords={rid: "pw-" + rid for rid in ids})
    fake.queue("ok", answer="anonymous-missing-last", delay=1.5)
    dm = Daemon(cfg, os.path.join(d, "log"), clean_env(WATCHDOG_USEC=None))
    try:
        dm.wait_for(lambda: len(fake.log()) >= 1, 10)
        config_of([ids[0], ids[2]])                   # the middle one goes mid-request
        dm.proc.send_signal(signal.SIGHUP)
        dm.wait_for(lambda: "Configuration reloaded" in dm.output(), 5)
        dm.wait_for(lambda: files(d, [ids[0], ids[2]]) == {ids[0]: "pw-" + ids[0], ids[2]: "pw-" + ids[2]}, 8)
    finally:
        dm.stop()
    got = files(d, ids)
    t.ok(got == {ids[0]: "pw-" + ids[0], ids[1]: None, ids[2]: "pw-" + ids[2]},
         "batch-reload-drop: a registry dropped mid-request shifts no token to another file",
         str(got) + "\n" + str([e["registry_ids"] for e in fake.log()]) + "\n" + dm.output())

    # A daemon: a registry added by a reload takes along the others that are due within a tenth of
    # the interval (here 2 s of 20 s), so that they fall into step instead of each costing a request.
    d, ids, cfg = setup("batch-reload", 3, 380000000000)

    def config(n):
        with open(cfg + ".tmp", "w") as f:
            f.write("interval: 20s\nregistries:\n")
            for rid in ids[:n]:
                f.write('  - registryId: "%s"\n    region: %s\n    passwordFile: "%s/%s.pass"\n    endpoint: "%s"\n'
                        % (rid, REGION, d, rid, fake.url))
        os.replace(cfg + ".tmp", cfg)
    config(2)
    fake.reset()
    fake.set_mode("ok", passwords={rid: "pw-" + rid for rid in ids})
    dm = Daemon(cfg, os.path.join(d, "log"), clean_env(WATCHDOG_USEC=None))
    try:
        t.ok(dm.wait_for(lambda: len(fake.log()) >= 1 and fake.log()[0]["end"], 10), "batch-reload: first cycle", dm.output())
        first = fake.log()[0]["end"]
        time.sleep(max(0.0, first + 18.5 - time.time()))     # the two are due again 1.5 s from now
        config(3)
        dm.proc.send_signal(signal.SIGHUP)
        dm.wait_for(lambda: len(fake.log()) >= 2, 5)
        time.sleep(2.5)                                       # past the moment the two were due
    finally:
        dm.stop()
    log = fake.log()
    t.ok([sorted(e["registry_ids"]) for e in log] == [sorted(ids[:2]), sorted(ids)],
         "batch-reload: the added registry's request also carries the two due 1.5 s later (no third request)",
         str([(round(e["time"] - log[0]["time"], 2), e["registry_ids"]) for e in log]))
    fake.set_mode("ok", answer="each", passwords={})


def cause_line_for(out, rid, cause):
    return any(line.find(rid) >= 0 and re.search(cause, line) for line in out.splitlines())


def retry_quota(fake, top, n=150):
    """The SDKs' retry quota (500 tokens, 5 per retry): 150 registries failing with 503 at once get
    100 retries in all, not 300."""
    d = os.path.join(top, "quota")
    os.makedirs(d)
    ids = ["%012d" % (200000000000 + i) for i in range(n)]
    cfg = os.path.join(top, "quota.yaml")
    # An endpoint each, so that no two share a request: the quota counts requests.
    write_config(cfg, [(rid, os.path.join(d, "%s.pass" % rid), "%s/%d" % (fake.url, i)) for i, rid in enumerate(ids)])
    fake.reset()
    fake.set_mode("503")
    rc, out, took = oneshot(cfg, timeout=120)
    fake.set_mode("ok")
    got = len(fake.log())
    t.is_(rc, 1, "retry quota: %d failing registries exit 1" % n, out[-2000:])
    t.ok(got == n + 500 // 5, "retry quota: %d requests = %d first attempts + %d retries the quota allows (without "
         "a quota: %d)" % (got, n, 500 // 5, n * 3), out[-2000:])
    t.ok("retry quota exhausted" in out, "retry quota: the log says why it stopped retrying", out[-2000:])


def main():
    if not os.access(BINARY, os.X_OK):
        print("1..0 # SKIP %s not built" % BINARY)
        return 0
    signal.signal(signal.SIGALRM, lambda *a: (_ for _ in ()).throw(TimeoutError("the test script ran out of time")))
    signal.alarm(280)
    top = tempfile.mkdtemp(prefix="ecr-faults-")
    os.chmod(top, 0o755)
    fake_log = open(os.path.join(top, "fakeaws.log"), "w")
    fake = None
    try:
        fake = fakeaws.FakeAwsProcess.start(os.path.join(top, "fake.port"), log=fake_log, quiet=True)
        t0 = time.monotonic()
        for part in (faults_http, faults_skew, faults_disk, signals, batching, many_registries, retry_quota):
            p0 = time.monotonic()
            part(fake, top)
            t.diag("%s: %.1fs" % (part.__name__, time.monotonic() - p0))
        fault_refused(top, fake_log)
        faults_tls(top, fake_log)
        everything = "\n".join(ALL_OUTPUT)
        t.is_(leaks(everything), [], "no run printed the secret key or the session token (%d runs)" % len(ALL_OUTPUT))
        t.diag("total %.1fs" % (time.monotonic() - t0))
    except Exception:
        t.ok(False, "test script ran to its end", traceback.format_exc())
    finally:
        signal.alarm(0)
        if fake:
            fake.stop()
        fake_log.close()
        if t.failed == 0 and not os.environ.get("ECR_TEST_KEEP"):
            shutil.rmtree(top, ignore_errors=True)
        else:
            print("# work directory kept: %s" % top)
    print("1..%d" % t.count)
    return 1 if t.failed else 0


if __name__ == "__main__":
    sys.exit(main())
