#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""End-to-end tests of the real binary against moto_server with IAM authentication enforced.

moto verifies our SigV4 signatures (SignatureDoesNotMatch) and IAM policies (AccessDenied) for every
request after the harness's own setup calls, so a signer that only agrees with itself fails here.
"""
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True
import motolib  # noqa: E402

BINARY = os.environ.get("ECR_TOKEN_REFRESH") or os.path.join(HERE, "..", "ecr-token-refresh")
MOTO = os.path.join(HERE, "moto.py")

T = motolib.Tap(diag_lines=30)
ok = T.ok
moto_python = motolib.moto_python
read_env = motolib.read_env


def clean_env(**extra):
    """An environment with no AWS settings of the machine's own, plus extra."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    env["HOME"] = extra.pop("HOME", "/nonexistent")
    env.update({k: v for k, v in extra.items() if v is not None})
    return env


def write_config(path, registries, interval="30m"):
    with open(path, "w") as f:
        f.write("interval: %s\nregistries:\n" % interval)
        for r in registries:
            f.write('    - registryId: "%s"\n      region: "%s"\n      passwordFile: "%s"\n' % (r["id"], r["region"], r["file"]))
            if r.get("endpoint"):
                f.write('      endpoint: "%s"\n' % r["endpoint"])


def run(config, env, timeout=60, extra=()):
    p = subprocess.run([BINARY, "--oneshot", "--config", config, *extra], env=env, capture_output=True, text=True,
                       timeout=timeout)
    return p.returncode, p.stdout + p.stderr


def expected_password(account):
    # What moto's GetAuthorizationToken hands out: base64("AWS:<account>-auth-token").
    return "%s-auth-token" % account


def main():
    py = moto_python()
    if py is None:
        print("1..0 # SKIP moto and boto3 are not installed for any python3 here")
        return 0
    if not os.access(BINARY, os.X_OK):
        print("1..0 # SKIP %s not built" % BINARY)
        return 0

    work = tempfile.mkdtemp(prefix="ecr-moto-")
    start = subprocess.run([py, MOTO, "start", "--dir", work], capture_output=True, text=True, timeout=120)
    if start.returncode != 0:
        print("Bail out! cannot start moto_server: " + (start.stdout + start.stderr).replace("\n", " | "))
        return 1
    try:
        m = read_env(os.path.join(work, "moto.env"))
        url = m["MOTO_URL"]
        tests(work, m, url)
    finally:
        subprocess.run([py, MOTO, "stop", "--dir", work], capture_output=True, timeout=60)
        shutil.rmtree(work, ignore_errors=True)
    return T.plan()


def listing(d):
    return sorted(os.listdir(d))


def tests(work, m, url):
    key, secret = m["ECR_KEY_ID"], m["ECR_SECRET"]
    account = "123456789012"
    pw1 = os.path.join(work, "one.pass")
    pw2 = os.path.join(work, "two.pass")
    cfg = os.path.join(work, "config.yaml")

    # 1. Environment credentials, one registry.
    write_config(cfg, [dict(id=account, region="us-west-2", file=pw1, endpoint=url)])
    rc, out = run(cfg, clean_env(AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret))
    ok(rc == 0, "oneshot with environment keys exits 0", out)
    ok(os.path.exists(pw1) and open(pw1).read() == expected_password(account),
       "password file holds the bare password, no newline", out)
    ok(os.path.exists(pw1) and stat.S_IMODE(os.stat(pw1).st_mode) == 0o640, "password file mode is 0640")
    ok(secret not in out and expected_password(account) not in out, "neither secret key nor password in the output", out)
    ok("%s/us-west-2" % account in out and pw1 in out, "log names registry, region and file", out)
    ok(listing(work).count("one.pass") == 1 and not [f for f in listing(work) if f.endswith(".tmp")],
       "no temporary files left", listing(work))

    # 2. A profile in a shared credentials file.
    creds = os.path.join(work, "credentials")
    with open(creds, "w") as f:
        f.write("[default]\naws_access_key_id = WRONG\naws_secret_access_key = WRONG\n\n"
                "[ecr]\naws_access_key_id = %s\naws_secret_access_key = %s\n" % (key, secret))
    os.unlink(pw1)
    rc, out = run(cfg, clean_env(AWS_SHARED_CREDENTIALS_FILE=creds, AWS_PROFILE="ecr",
                                 AWS_CONFIG_FILE=os.path.join(work, "none")))
    ok(rc == 0 and os.path.exists(pw1), "oneshot with AWS_PROFILE in a shared credentials file", out)
    rc, out = run(cfg, clean_env(AWS_SHARED_CREDENTIALS_FILE=creds, AWS_PROFILE="nosuch",
                                 AWS_CONFIG_FILE=os.path.join(work, "none")))
    ok(rc == 1 and "nosuch" in out and "not found" in out, "a missing explicit profile fails loudly", out)

    # 3. Two registries in two regions.
    write_config(cfg, [dict(id=account, region="us-west-2", file=pw1, endpoint=url),
                       dict(id="210987654321", region="eu-central-1", file=pw2, endpoint=url)])
    rc, out = run(cfg, clean_env(AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret))
    ok(rc == 0, "two registries in two regions: exit 0", out)
    ok(os.path.exists(pw2) and open(pw2).read() == expected_password("210987654321"), "second registry written", out)
    ok("210987654321/eu-central-1" in out, "second registry logged with its region", out)

    # 3b. Twelve registries in one region: two signed requests (10 + 2 registry ids), each registry
    # written with the token moto returns for it.
    many = ["%012d" % (400000000000 + i) for i in range(12)]
    mdir = os.path.join(work, "many")
    os.makedirs(mdir)
    write_config(cfg, [dict(id=rid, region="us-west-2", file=os.path.join(mdir, rid + ".pass"), endpoint=url)
                       for rid in many])
    rc, out = run(cfg, clean_env(AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret), extra=("--verbose",))
    got = {rid: open(os.path.join(mdir, rid + ".pass")).read() if os.path.exists(os.path.join(mdir, rid + ".pass"))
           else None for rid in many}
    ok(rc == 0 and got == {rid: expected_password(rid) for rid in many},
       "12 registries in one region: each file holds its own registry's token", out + str(got))
    ok(out.count("GetAuthorizationToken for 10 registries") == 1 and out.count("GetAuthorizationToken for 2 registries") == 1
       and "GetAuthorizationToken for 1 registry " not in out,
       "12 registries in one region: two signed requests (10 + 2 registry ids), accepted by moto", out)

    # 4. Wrong secret: moto rejects the signature; the old file stays byte-identical.
    before = open(pw1, "rb").read()
    before_stat = os.stat(pw1)
    rc, out = run(cfg, clean_env(AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY="not-the-secret"))
    ok(rc == 1, "wrong secret: exit 1", out)
    ok("SignatureDoesNotMatch" in out or "InvalidSignatureException" in out, "wrong secret: the AWS error code is reported", out)
    ok(open(pw1, "rb").read() == before and os.stat(pw1).st_ino == before_stat.st_ino,
       "wrong secret: previous password file untouched")
    ok("not-the-secret" not in out, "wrong secret: the secret is not echoed", out)
    ok(not [f for f in listing(work) if f.endswith(".tmp")], "wrong secret: no temporary files")

    # 5. A user without ecr:GetAuthorizationToken: AccessDenied.
    if "DENY_KEY_ID" in m:
        rc, out = run(cfg, clean_env(AWS_ACCESS_KEY_ID=m["DENY_KEY_ID"], AWS_SECRET_ACCESS_KEY=m["DENY_SECRET"]))
        ok(rc == 1 and "AccessDenied" in out, "user without permission: AccessDenied reported, exit 1", out)

    # 6. One registry fails, the other is still written.
    os.unlink(pw2)
    write_config(cfg, [dict(id=account, region="us-west-2", file=os.path.join(work, "missing-dir", "x.pass"), endpoint=url),
                       dict(id="210987654321", region="eu-central-1", file=pw2, endpoint=url)])
    rc, out = run(cfg, clean_env(AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret))
    ok(rc == 1 and os.path.exists(pw2), "one registry failing (missing directory) does not stop the other", out)
    ok("missing-dir" in out, "the failure names the path", out)

    # 7. The EC2 instance role through moto's IMDS endpoints.
    os.unlink(pw1)
    write_config(cfg, [dict(id=account, region="us-west-2", file=pw1, endpoint=url)])
    env = clean_env(AWS_EC2_METADATA_SERVICE_ENDPOINT=url)
    del env["AWS_EC2_METADATA_DISABLED"]
    rc, out = run(cfg, env, extra=("--verbose",))
    ok(rc == 0 and os.path.exists(pw1), "instance role via IMDSv2 works", out)
    ok("EC2 instance metadata" in out, "the credentials source is logged", out)

    # 8. No source at all: a clear error, exit 1.
    rc, out = run(cfg, clean_env())
    ok(rc == 1 and "no AWS credentials" in out, "no credentials: clear error", out)

    # 9. Daemon mode: refreshes on a short interval and stops on SIGTERM.
    write_config(cfg, [dict(id=account, region="us-west-2", file=pw1, endpoint=url)], interval="1s")
    os.unlink(pw1)
    p = subprocess.Popen([BINARY, "--config", cfg], env=clean_env(AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret),
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    inodes = set()
    deadline = time.time() + 15
    while time.time() < deadline and len(inodes) < 3:
        try:
            inodes.add(os.stat(pw1).st_ino)
        except FileNotFoundError:
            pass
        time.sleep(0.1)
    ok(len(inodes) >= 3, "daemon rewrote the file on every interval (%d distinct files seen)" % len(inodes))
    t0 = time.time()
    p.send_signal(signal.SIGTERM)
    try:
        out, _ = p.communicate(timeout=5)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
        rc = None
    ok(rc == 0 and time.time() - t0 < 2, "daemon exits 0 promptly on SIGTERM", out)

    # 10. SIGTERM in the middle of a request to an endpoint that never answers.
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    held = []
    stop = threading.Event()

    def accept():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(srv.accept()[0])
            except OSError:
                pass
    th = threading.Thread(target=accept, daemon=True)
    th.start()
    hang_url = "http://127.0.0.1:%d" % srv.getsockname()[1]
    write_config(cfg, [dict(id=account, region="us-west-2", file=pw1, endpoint=hang_url)])
    before = open(pw1, "rb").read()
    p = subprocess.Popen([BINARY, "--config", cfg], env=clean_env(AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret),
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 10
    while time.time() < deadline and not held:
        time.sleep(0.05)
    ok(bool(held), "daemon connected to the hanging endpoint")
    t0 = time.time()
    p.send_signal(signal.SIGTERM)
    try:
        out, _ = p.communicate(timeout=5)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
        rc = None
    ok(rc == 0 and time.time() - t0 < 2, "SIGTERM mid-request: exit 0 within 2 s", out)
    ok(open(pw1, "rb").read() == before, "SIGTERM mid-request: password file untouched")
    stop.set()
    th.join()
    for c in held:
        c.close()
    srv.close()


if __name__ == "__main__":
    sys.exit(main())
