#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""moto_server harness for the integration tests (Python 3, moto 5.x, boto3).

  moto.py start --dir DIR [--watch-pid PID] [--stock] [--region R]
      Starts a moto server on a free 127.0.0.1 port in its own session/process group, sets up IAM
      while authentication is still off, then turns IAM authentication on for every later request
      (SigV4 signatures and IAM policies are checked) and proves it. Writes:
        DIR/moto.env   shell-sourceable: MOTO_PORT MOTO_URL MOTO_PID MOTO_REGION MOTO_ACCOUNT
                       ECR_KEY_ID ECR_SECRET        user allowed ecr:GetAuthorizationToken only
                       DENY_KEY_ID DENY_SECRET      user without that permission
                       ROLE_ARN ROLE_KEY_ID ROLE_SECRET ROLE_TOKEN
                                                    STS AssumeRole credentials of a role that may
                                                    call ecr:GetAuthorizationToken (session token!)
                       IMDS_ROLE IMDS_KEY_ID        what the instance metadata service serves
                       IMDS_KEY_ID_2                the other IMDS session (see "imds --session")
                       MOTO_IMDS=harness|stock
        DIR/moto.log   the server's output;  DIR/moto.pid
      --watch-pid PID: the server exits by itself once PID is gone (pass the test script's $$),
      so a killed test never leaves a server behind.
      By default the server is moto's own app with one change: the instance metadata endpoints
      (/latest/api/token, /latest/meta-data/...) behave like EC2's IMDS and serve the AssumeRole
      credentials above, which pass IAM authentication. moto's own IMDS serves fixed credentials
      (test-key/test-secret-key/test-session-token) that can never authenticate once IAM auth is
      on. --stock runs the unmodified `python3 -m moto.server` instead.

  moto.py stop --dir DIR
      Stops the server (SIGTERM to its process group, then SIGKILL).

  moto.py imds --dir DIR [--session 1|2] [--require-token yes|no] [--expires-in SECONDS]
               [--token-status HTTP_STATUS] [--token-delay SECONDS] [--delay SECONDS] [--reset]
      Changes how the harness IMDS behaves, from the next request on: which session's credentials
      it serves (rotation), IMDSv2-only (GETs without a valid token get 401), the advertised
      Expiration, a forced status for PUT /latest/api/token (e.g. 403/404/405 to test the IMDSv1
      fallback, 400 to test that there is none), and delays (a token PUT that never answers in
      time is what a container behind a hop limit of 1 sees).

  moto.py serve --port PORT --dir DIR [--watch-pid PID]     (internal: the server process)
"""

import argparse
import datetime
import json
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

# This file is called moto.py: keep "import moto" from importing it instead of the real package.
_here = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _here]

ACCOUNT = "123456789012"
ECR_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"}],
}
DENY_POLICY = {  # ECR, but not the action we need
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "ecr:DescribeRepositories", "Resource": "*"}],
}
TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"},
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"},
    ],
}
ROLE_NAME = "ecr-refresh-role"
# Requests that go through moto's authentication during setup (see setup()); the server starts
# with INITIAL_NO_AUTH_ACTION_COUNT set to this, and setup() also resets the counter to 0 at the end.
SETUP_CALLS = 11


def die(msg):
    print(f"moto.py: {msg}", file=sys.stderr)
    sys.exit(1)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pid_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def write_atomic(path, text, mode=0o600):
    tmp = f"{path}.tmp{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


# ---- the server process ----------------------------------------------------------------------


def imds_state(directory):
    try:
        with open(os.path.join(directory, "imds.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def install_imds(directory):
    """Replaces moto's instance metadata handler by one that behaves like EC2's IMDS."""
    from moto.instance_metadata import responses

    stock = responses.InstanceMetadataResponse.metadata_response
    tokens = {}  # token -> expiry (monotonic)
    lock = threading.Lock()
    text = {"Content-Type": "text/plain"}

    def handler(request, full_url, headers):
        state = imds_state(directory)
        if state is None:
            return stock(request, full_url, headers)
        path = request.path
        h = {k.lower(): v for k, v in request.headers.items()}
        if state.get("delay"):
            time.sleep(float(state["delay"]))

        if path == "/latest/api/token":
            if state.get("token_delay"):
                time.sleep(float(state["token_delay"]))
            if state.get("token_status"):
                return int(state["token_status"]), text, ""
            if request.method != "PUT":
                return 405, text, ""
            if "x-forwarded-for" in h:
                return 403, text, ""
            try:
                ttl = int(h.get("x-aws-ec2-metadata-token-ttl-seconds", ""))
            except ValueError:
                ttl = 0
            if not 1 <= ttl <= 21600:
                return 400, text, ""
            token = "harness-" + secrets.token_urlsafe(32)
            with lock:
                tokens[token] = time.monotonic() + ttl
            return 200, {**text, "X-Aws-Ec2-Metadata-Token-Ttl-Seconds": str(ttl)}, token

        if request.method not in ("GET", "HEAD"):
            return 405, text, ""
        token = h.get("x-aws-ec2-metadata-token")
        if token is not None:
            with lock:
                expiry = tokens.get(token)
            if expiry is None or expiry < time.monotonic():
                return 401, text, ""
        elif state.get("require_token"):
            return 401, text, ""

        role = state["role"]
        creds = state["sessions"][str(state.get("session", 1))]
        rel = path[len("/latest/meta-data/"):] if path.startswith("/latest/meta-data/") else None
        if rel in ("iam/security-credentials", "iam/security-credentials/"):
            return 200, text, role
        if rel == f"iam/security-credentials/{role}":
            now = datetime.datetime.now(datetime.timezone.utc)
            expires = now + datetime.timedelta(seconds=int(state.get("expires_in", 6 * 3600)))
            body = {
                "Code": "Success",
                "LastUpdated": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "Type": "AWS-HMAC",
                "AccessKeyId": creds["AccessKeyId"],
                "SecretAccessKey": creds["SecretAccessKey"],
                "Token": creds["SessionToken"],
                "Expiration": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
            return 200, text, json.dumps(body, indent=2)
        if rel is not None and rel.startswith("iam/security-credentials/"):
            return 404, text, ""
        try:
            status, _, body = stock(request, full_url, headers)
            return status, text, body  # moto echoes the request headers back; do not
        except NotImplementedError:
            return 404, text, ""

    handler.__name__ = "metadata_response"
    responses.InstanceMetadataResponse.metadata_response = staticmethod(handler)
    from moto.instance_metadata import urls

    for k in list(urls.url_paths):
        urls.url_paths[k] = handler


def watch(pid):
    while pid_alive(pid):
        time.sleep(0.5)
    os._exit(0)


def cmd_serve(args):
    if not args.stock:
        install_imds(args.dir)
    if args.watch_pid:
        threading.Thread(target=watch, args=(args.watch_pid,), daemon=True).start()
    from moto.server import main

    main(["-H", "127.0.0.1", "-p", str(args.port)])


# ---- start / stop ----------------------------------------------------------------------------


def wait_ready(url, proc, log, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=2) as r:
                if r.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    return False


def setup(url, region):
    """IAM and STS fixtures; runs while authentication is still off (SETUP_CALLS requests)."""
    import boto3
    import botocore.config

    session = boto3.session.Session(
        aws_access_key_id="AKIAHARNESSSETUP0000", aws_secret_access_key="harness", region_name=region
    )
    cfg = botocore.config.Config(retries={"max_attempts": 1})
    iam = session.client("iam", endpoint_url=url, config=cfg)
    sts = session.client("sts", endpoint_url=url, config=cfg)

    env = {}
    iam.create_user(UserName="ecr-user")  # 1
    iam.put_user_policy(UserName="ecr-user", PolicyName="ecr-token", PolicyDocument=json.dumps(ECR_POLICY))  # 2
    k = iam.create_access_key(UserName="ecr-user")["AccessKey"]  # 3
    env["ECR_KEY_ID"], env["ECR_SECRET"] = k["AccessKeyId"], k["SecretAccessKey"]
    iam.create_user(UserName="deny-user")  # 4
    iam.put_user_policy(UserName="deny-user", PolicyName="no-token", PolicyDocument=json.dumps(DENY_POLICY))  # 5
    k = iam.create_access_key(UserName="deny-user")["AccessKey"]  # 6
    env["DENY_KEY_ID"], env["DENY_SECRET"] = k["AccessKeyId"], k["SecretAccessKey"]
    role = iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=json.dumps(TRUST_POLICY))["Role"]  # 7
    iam.put_role_policy(RoleName=ROLE_NAME, PolicyName="ecr-token", PolicyDocument=json.dumps(ECR_POLICY))  # 8
    env["ROLE_ARN"] = role["Arn"]
    sessions = {}
    for name in ("env", "imds-1", "imds-2"):  # 9, 10, 11
        c = sts.assume_role(RoleArn=role["Arn"], RoleSessionName=name, DurationSeconds=43200)["Credentials"]
        sessions[name] = {k: c[k] for k in ("AccessKeyId", "SecretAccessKey", "SessionToken")}
    assert SETUP_CALLS == 11
    env["ROLE_KEY_ID"] = sessions["env"]["AccessKeyId"]
    env["ROLE_SECRET"] = sessions["env"]["SecretAccessKey"]
    env["ROLE_TOKEN"] = sessions["env"]["SessionToken"]

    # From here on every request is authenticated: reset the counter and the limit to 0.
    # (Flask reads a form-encoded body as a form and moto would see an empty request.data.)
    req = urllib.request.Request(
        f"{url}/moto-api/reset-auth", data=b"0", method="POST", headers={"Content-Type": "text/plain"}
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        json.load(r)
    return env, sessions


def ecr_request(url, region, key, secret, token=None, body=b"{}"):
    """A GetAuthorizationToken request signed by botocore; returns (status, headers, body)."""
    import http.client
    import urllib.parse

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    headers = {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken",
    }
    req = AWSRequest(method="POST", url=url + "/", data=body, headers=headers)
    SigV4Auth(Credentials(key, secret, token), "ecr", region).add_auth(req)
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    try:
        conn.request("POST", "/", body=body, headers=dict(req.headers.items()))
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        conn.close()


def verify(url, region, env):
    """Proves authentication is on: the ECR user and the role get a token, the others do not. (moto
    answers authentication errors with an XML <ErrorResponse>, even for JSON services like ECR.)"""
    for args, want in (
        ((env["ECR_KEY_ID"], env["ECR_SECRET"]), None),
        ((env["ROLE_KEY_ID"], env["ROLE_SECRET"], env["ROLE_TOKEN"]), None),
        ((env["DENY_KEY_ID"], env["DENY_SECRET"]), "AccessDenied"),
        ((env["ECR_KEY_ID"], "wrong"), "SignatureDoesNotMatch"),
        ((env["ROLE_KEY_ID"], env["ROLE_SECRET"]), "InvalidClientTokenId"),
        (("AKIANOSUCHKEY0000000", "x"), "InvalidClientTokenId"),
    ):
        status, _, body = ecr_request(url, region, *args)
        if want is None:
            if status != 200 or b"authorizationData" not in body:
                raise RuntimeError(f"GetAuthorizationToken failed: HTTP {status}: {body[:300]!r}")
        elif status != 403 or (f"<Code>{want}</Code>".encode() not in body and f'"{want}'.encode() not in body):
            raise RuntimeError(f"IAM authentication is not enforced: {want} expected, got HTTP {status}: {body[:300]!r}")


def cmd_start(args):
    d = os.path.abspath(args.dir)
    os.makedirs(d, exist_ok=True)
    try:
        import boto3  # noqa: F401
        import moto  # noqa: F401
    except ImportError as e:
        die(f"{e}; install moto[server] and boto3")
    if os.path.exists(os.path.join(d, "moto.pid")):
        die(f"a server is already running for {d} (moto.py stop --dir {d})")

    env_vars = dict(os.environ)
    env_vars["INITIAL_NO_AUTH_ACTION_COUNT"] = str(SETUP_CALLS)
    env_vars["TZ"] = "UTC"  # moto computes ECR's expiresAt with time.mktime() (local time)
    env_vars.pop("MOTO_PORT", None)
    for k in [k for k in env_vars if k.startswith("AWS_")]:
        del env_vars[k]
    for name in ("imds.json", "imds.json.orig"):
        if os.path.exists(os.path.join(d, name)):
            os.unlink(os.path.join(d, name))

    log = open(os.path.join(d, "moto.log"), "ab")
    for _attempt in range(3):
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        cmd = [sys.executable, os.path.abspath(__file__), "serve", "--port", str(port), "--dir", d]
        if args.stock:
            cmd.append("--stock")
        if args.watch_pid:
            cmd += ["--watch-pid", str(args.watch_pid)]
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env_vars, start_new_session=True, cwd=d
        )
        if wait_ready(url, proc, log):
            break
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    else:
        die(f"moto server did not start; see {d}/moto.log")
    write_atomic(os.path.join(d, "moto.pid"), f"{proc.pid}\n", 0o644)

    try:
        env, sessions = setup(url, args.region)
        verify(url, args.region, env)
    except Exception as e:  # leave nothing behind
        stop(d)
        die(f"setup failed: {type(e).__name__}: {e}; see {d}/moto.log")

    imds = {
        "role": ROLE_NAME,
        "session": 1,
        "sessions": {"1": sessions["imds-1"], "2": sessions["imds-2"]},
        "require_token": False,
        "expires_in": 6 * 3600,
    }
    if not args.stock:
        write_atomic(os.path.join(d, "imds.json"), json.dumps(imds, indent=2))
        write_atomic(os.path.join(d, "imds.json.orig"), json.dumps(imds, indent=2))

    out = {
        "MOTO_PORT": str(port),
        "MOTO_URL": url,
        "MOTO_PID": str(proc.pid),
        "MOTO_REGION": args.region,
        "MOTO_ACCOUNT": ACCOUNT,
        "MOTO_IMDS": "stock" if args.stock else "harness",
        **env,
        "IMDS_ROLE": "default-role" if args.stock else ROLE_NAME,
        "IMDS_KEY_ID": "test-key" if args.stock else sessions["imds-1"]["AccessKeyId"],
        "IMDS_KEY_ID_2": "" if args.stock else sessions["imds-2"]["AccessKeyId"],
    }
    write_atomic(os.path.join(d, "moto.env"), "".join(f"{k}={shlex.quote(v)}\n" for k, v in out.items()))
    print(url)


def stop(d):
    pidfile = os.path.join(d, "moto.pid")
    try:
        with open(pidfile) as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        return
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            mine = b"moto" in f.read()
    except OSError:
        mine = False
    if mine and pid_alive(pid):
        for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + wait
            while pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if not pid_alive(pid):
                break
    os.unlink(pidfile)


def cmd_stop(args):
    stop(os.path.abspath(args.dir))


def cmd_imds(args):
    path = os.path.join(os.path.abspath(args.dir), "imds.json")
    if args.reset:
        try:
            with open(path + ".orig") as f:
                state = json.load(f)
        except OSError as e:
            die(f"{e} (started with --stock?)")
    else:
        state = imds_state(args.dir)
        if state is None:
            die(f"{path}: no harness IMDS (started with --stock?)")
    if args.session is not None:
        state["session"] = args.session
    if args.require_token is not None:
        state["require_token"] = args.require_token == "yes"
    if args.expires_in is not None:
        state["expires_in"] = args.expires_in
    if args.token_status is not None:
        state["token_status"] = args.token_status or None
    if args.token_delay is not None:
        state["token_delay"] = args.token_delay
    if args.delay is not None:
        state["delay"] = args.delay
    write_atomic(path, json.dumps(state, indent=2))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("start")
    s.add_argument("--dir", required=True)
    s.add_argument("--region", default="us-east-1")
    s.add_argument("--watch-pid", type=int)
    s.add_argument("--stock", action="store_true")
    s = sub.add_parser("stop")
    s.add_argument("--dir", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--dir", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--watch-pid", type=int)
    s.add_argument("--stock", action="store_true")
    s = sub.add_parser("imds")
    s.add_argument("--dir", required=True)
    s.add_argument("--session", type=int, choices=(1, 2))
    s.add_argument("--require-token", choices=("yes", "no"))
    s.add_argument("--expires-in", type=int)
    s.add_argument("--token-status", type=int, help="0 to answer normally again")
    s.add_argument("--token-delay", type=float)
    s.add_argument("--delay", type=float)
    s.add_argument("--reset", action="store_true", help="back to the state after start")
    args = p.parse_args()
    {"start": cmd_start, "stop": cmd_stop, "serve": cmd_serve, "imds": cmd_imds}[args.cmd](args)


if __name__ == "__main__":
    main()
