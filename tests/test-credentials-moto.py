#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""End-to-end tests of the credential chain and per-registry roles: the real binary (--oneshot)
against moto_server with IAM authentication enforced, STS included.

What moto checks once authentication is on (tests/moto.py turns it on): every request's SigV4
signature; for ECR and STS the caller's IAM policies; for sts:AssumeRole also the role's trust
policy (the caller's exact ARN must be a listed AWS principal; sts:ExternalId conditions are
evaluated); and for temporary credentials (ASIA…) that X-Amz-Security-Token is the session token
STS issued with them. What it does not check: AssumeRoleWithWebIdentity is not authenticated at
all in AWS, but moto demands a SigV4 Authorization header on it too (HTTP 500 without one), so the
web identity tests open a window of exactly one unauthenticated request (moto-api/reset-auth 1);
the web identity token itself and the role's trust policy are not checked by moto then.

IAM fixtures beyond the harness's own are created the same way: reset-auth N opens N
unauthenticated requests, exactly as many as the fixtures need, after which enforcement is back
(and proven).
"""
import base64
import datetime
import http.server
import json
import os
import stat
import subprocess
import sys
import tempfile
import threading
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True
import motolib  # noqa: E402

BINARY = os.environ.get("ECR_TOKEN_REFRESH") or os.path.join(HERE, "..", "ecr-token-refresh")
MOTO = os.path.join(HERE, "moto.py")
ACCOUNT = "123456789012"
PASSWORD = "%s-auth-token" % ACCOUNT  # what moto's GetAuthorizationToken hands out

T = motolib.Tap(diag_lines=25)
ok = T.ok
moto_python = motolib.moto_python
read_env = motolib.read_env


class World:
    """Paths, the moto URL and the identities the tests use."""

    def __init__(self, work, m):
        self.work = work
        self.url = m["MOTO_URL"]
        self.m = m
        self.cfg = os.path.join(work, "config.yaml")
        self.pw = os.path.join(work, "registry.pass")
        self.pw2 = os.path.join(work, "second.pass")
        self.credentials = os.path.join(work, "aws-credentials-file")
        self.config = os.path.join(work, "aws-config-file")

    def path(self, name):
        return os.path.join(self.work, name)

    def env(self, **extra):
        """No AWS settings of the machine's own; shared files of our own; STS at moto; IMDS off."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "CREDENTIALS_DIRECTORY"}
        env.update(HOME="/nonexistent", AWS_EC2_METADATA_DISABLED="true", AWS_SHARED_CREDENTIALS_FILE=self.credentials,
                   AWS_CONFIG_FILE=self.config, AWS_ENDPOINT_URL_STS=self.url)
        for k, v in extra.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        return env

    def files(self, credentials="", config=""):
        with open(self.credentials, "w") as f:
            f.write(credentials)
        with open(self.config, "w") as f:
            f.write(config)

    def registries(self, *regs):
        with open(self.cfg, "w") as f:
            f.write("registries:\n")
            for r in regs:
                f.write('  - registryId: "%s"\n    region: %s\n    passwordFile: %s\n    endpoint: %s\n'
                        % (ACCOUNT, r.get("region", "us-east-1"), r.get("file", self.pw), self.url))
                for k in ("roleArn", "externalId", "roleSessionName"):
                    if k in r:
                        f.write("    %s: %s\n" % (k, r[k]))

    def run(self, env, *extra, timeout=60):
        p = subprocess.run([BINARY, "--oneshot", "--verbose", "--config", self.cfg, *extra], env=env, capture_output=True,
                           text=True, timeout=timeout)
        return p.returncode, p.stdout + p.stderr

    def set_password(self, text="old-password"):
        with open(self.pw, "w") as f:
            f.write(text)

    def password(self, path=None):
        try:
            with open(path or self.pw) as f:
                return f.read()
        except FileNotFoundError:
            return None


def reset_auth(url, n):
    req = urllib.request.Request(url + "/moto-api/reset-auth", data=str(n).encode(), method="POST",
                                 headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(req, timeout=10) as r:
        json.load(r)


ECR_POLICY = {"Version": "2012-10-17",
              "Statement": [{"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"}]}
ASSUME_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}


def trust(*principals, condition=None):
    st = {"Effect": "Allow", "Principal": {"AWS": list(principals)}, "Action": "sts:AssumeRole"}
    if condition:
        st["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [st]})


def role_arn(name):
    return "arn:aws:iam::%s:role/%s" % (ACCOUNT, name)


FIXTURE_CALLS = 11


def fixtures(w):
    """A user that may only assume roles, and roles that may get ECR tokens (see the module doc)."""
    import boto3
    import botocore.config

    user_arn = "arn:aws:iam::%s:user/assumer" % ACCOUNT
    hop_session = "arn:aws:sts::%s:assumed-role/hop/ecr-token-refresh" % ACCOUNT
    reset_auth(w.url, FIXTURE_CALLS)
    s = boto3.session.Session(aws_access_key_id="AKIAFIXTURES00000000", aws_secret_access_key="x", region_name="us-east-1")
    iam = s.client("iam", endpoint_url=w.url, config=botocore.config.Config(retries={"max_attempts": 1}))
    iam.create_user(UserName="assumer")  # 1
    iam.put_user_policy(UserName="assumer", PolicyName="assume", PolicyDocument=json.dumps(ASSUME_POLICY))  # 2
    k = iam.create_access_key(UserName="assumer")["AccessKey"]  # 3
    iam.create_role(RoleName="ecr-reader", AssumeRolePolicyDocument=trust(user_arn, hop_session))  # 4
    iam.put_role_policy(RoleName="ecr-reader", PolicyName="ecr", PolicyDocument=json.dumps(ECR_POLICY))  # 5
    iam.create_role(RoleName="ecr-external", AssumeRolePolicyDocument=trust(
        user_arn, condition={"StringEquals": {"sts:ExternalId": "ext-7"}}))  # 6
    iam.put_role_policy(RoleName="ecr-external", PolicyName="ecr", PolicyDocument=json.dumps(ECR_POLICY))  # 7
    iam.create_role(RoleName="hop", AssumeRolePolicyDocument=trust(user_arn))  # 8
    iam.put_role_policy(RoleName="hop", PolicyName="assume", PolicyDocument=json.dumps(ASSUME_POLICY))  # 9
    web_trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::%s:oidc-provider/oidc.example" % ACCOUNT},
        "Action": "sts:AssumeRoleWithWebIdentity"}]}
    iam.create_role(RoleName="web", AssumeRolePolicyDocument=json.dumps(web_trust))  # 10
    iam.put_role_policy(RoleName="web", PolicyName="ecr", PolicyDocument=json.dumps(ECR_POLICY))  # 11
    return k["AccessKeyId"], k["SecretAccessKey"]


def auth_enforced(w):
    """True if moto refuses an ECR call signed with an unknown key (authentication is on)."""
    import boto3
    import botocore.config
    import botocore.exceptions

    s = boto3.session.Session(aws_access_key_id="AKIANOSUCHKEY0000000", aws_secret_access_key="x", region_name="us-east-1")
    ecr = s.client("ecr", endpoint_url=w.url, config=botocore.config.Config(retries={"max_attempts": 1}))
    try:
        ecr.get_authorization_token()
        return False
    except botocore.exceptions.ClientError:
        return True


class FakeContainerEndpoint(http.server.BaseHTTPRequestHandler):
    """ECS/EKS-style credentials endpoint: serves `creds` when Authorization equals `token`."""
    token = None
    creds = None
    requests = []

    def do_GET(self):
        FakeContainerEndpoint.requests.append((self.path, self.headers.get("Authorization")))
        if self.headers.get("Authorization") != FakeContainerEndpoint.token:
            body, status = json.dumps({"code": "AccessDenied", "message": "invalid authorization token"}), 401
        else:
            body, status = json.dumps(FakeContainerEndpoint.creds), 200
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def in_an_hour():
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def script(w, name, body):
    p = w.path(name)
    with open(p, "w") as f:
        f.write("#!/bin/sh\n" + body + "\n")
    os.chmod(p, 0o755)
    return p


def tests(w, assumer_key, assumer_secret):
    m = w.m
    ecr_key, ecr_secret = m["ECR_KEY_ID"], m["ECR_SECRET"]
    deny_key, deny_secret = m["DENY_KEY_ID"], m["DENY_SECRET"]
    base = "[base]\naws_access_key_id = %s\naws_secret_access_key = %s\n" % (assumer_key, assumer_secret)
    secrets = (assumer_secret, ecr_secret, deny_secret)

    def no_secret(out):
        return not any(s in out for s in secrets) and PASSWORD not in out

    ok(auth_enforced(w), "moto enforces IAM authentication after the fixtures")

    # 1. role_arn + source_profile
    w.registries({})
    w.files(base, "[profile top]\nrole_arn = %s\nsource_profile = base\n" % role_arn("ecr-reader"))
    rc, out = w.run(w.env(AWS_PROFILE="base"))
    ok(rc == 1 and "AccessDenied" in out, "the source profile's user alone may not get a token", out)
    rc, out = w.run(w.env(AWS_PROFILE="top"))
    ok(rc == 0 and w.password() == PASSWORD, "role_arn + source_profile: the assumed role gets the token", out)
    ok("assumed-role/ecr-reader/ecr-token-refresh" in out and "credentials from role %s (profile top)" % role_arn("ecr-reader") in out,
       "  the log says which role and session signed", out)
    ok(no_secret(out), "  no secret in the output", out)

    # 2. A chain: top -> hop -> base (the second AssumeRole is signed with the first session, token included)
    w.files(base, "[profile chain]\nrole_arn = %s\nsource_profile = hopper\n"
                  "[profile hopper]\nrole_arn = %s\nsource_profile = base\n" % (role_arn("ecr-reader"), role_arn("hop")))
    os.unlink(w.pw)
    rc, out = w.run(w.env(AWS_PROFILE="chain"))
    ok(rc == 0 and w.password() == PASSWORD, "a source_profile chain of two roles", out)

    # 3. A loop fails loudly, the old file stays
    w.files(base, "[profile a]\nrole_arn = %s\nsource_profile = b\n[profile b]\nrole_arn = %s\nsource_profile = a\n"
            % (role_arn("ecr-reader"), role_arn("hop")))
    w.set_password()
    rc, out = w.run(w.env(AWS_PROFILE="a"))
    ok(rc == 1 and "source_profile loop: a -> b -> a" in out and w.password() == "old-password",
       "a source_profile loop: exit 1, named, old password file kept", out)

    # 4. Per-registry roles, two registries sharing one role session
    w.files()
    w.registries(dict(roleArn=role_arn("ecr-reader")), dict(roleArn=role_arn("ecr-reader"), region="us-west-2", file=w.pw2))
    rc, out = w.run(w.env(AWS_ACCESS_KEY_ID=assumer_key, AWS_SECRET_ACCESS_KEY=assumer_secret))
    ok(rc == 0 and w.password() == PASSWORD and w.password(w.pw2) == PASSWORD,
       "per-registry roleArn: both registries written with the assumed role", out)
    ok(out.count("STS AssumeRole for %s" % role_arn("ecr-reader")) == 1,
       "  one STS call serves both registries (%d seen)" % out.count("STS AssumeRole for"), out)
    w.registries({})
    rc, out = w.run(w.env(AWS_ACCESS_KEY_ID=assumer_key, AWS_SECRET_ACCESS_KEY=assumer_secret))
    ok(rc == 1 and "AccessDenied" in out, "  without roleArn the same keys are refused", out)

    # 5. externalId, checked by the role's trust policy
    w.registries(dict(roleArn=role_arn("ecr-external"), externalId="ext-7", roleSessionName="spinnaker"))
    os.unlink(w.pw)
    rc, out = w.run(w.env(AWS_ACCESS_KEY_ID=assumer_key, AWS_SECRET_ACCESS_KEY=assumer_secret))
    ok(rc == 0 and w.password() == PASSWORD and "assumed-role/ecr-external/spinnaker" in out,
       "roleArn with externalId and roleSessionName", out)
    w.registries(dict(roleArn=role_arn("ecr-external"), externalId="ext-8"))
    w.set_password()
    rc, out = w.run(w.env(AWS_ACCESS_KEY_ID=assumer_key, AWS_SECRET_ACCESS_KEY=assumer_secret))
    ok(rc == 1 and "STS AssumeRole: AccessDenied" in out and role_arn("ecr-external") in out and w.password() == "old-password",
       "  a wrong externalId: AccessDenied from STS, named role, old file kept", out)

    # 6. A base identity that may not assume roles
    w.registries(dict(roleArn=role_arn("ecr-reader")))
    rc, out = w.run(w.env(AWS_ACCESS_KEY_ID=ecr_key, AWS_SECRET_ACCESS_KEY=ecr_secret))
    ok(rc == 1 and "AccessDenied" in out and "sts:AssumeRole" in out and no_secret(out),
       "a base identity without sts:AssumeRole: the STS error is reported", out)

    # 7. --check --verbose shows source and role per registry, without secrets
    w.files(base, "[profile top]\nrole_arn = %s\nsource_profile = base\n" % role_arn("ecr-reader"))
    w.registries(dict(roleArn=role_arn("ecr-external"), externalId="ext-7"), dict(file=w.pw2))
    p = subprocess.run([BINARY, "--check", "--verbose", "--config", w.cfg], env=w.env(AWS_PROFILE="top"), capture_output=True,
                       text=True, timeout=30)
    out = p.stdout + p.stderr
    ok(p.returncode == 0 and "role %s" % role_arn("ecr-external") in out and "external ID set" in out and
       "profile base (access key AKIA" in out and "ext-7" not in out and no_secret(out) and assumer_key not in out,
       "--check --verbose: source and role per registry, no secrets", out)

    # 8. Web identity from the environment and from a profile (one unauthenticated request: see top)
    token = w.path("web-identity-token")
    with open(token, "w") as f:
        f.write("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQifQ.c2lnbmF0dXJl\n")
    w.registries({})
    w.files()
    os.unlink(w.pw)
    reset_auth(w.url, 1)
    rc, out = w.run(w.env(AWS_WEB_IDENTITY_TOKEN_FILE=token, AWS_ROLE_ARN=role_arn("web"), AWS_ROLE_SESSION_NAME="pod-1"))
    ok(rc == 0 and w.password() == PASSWORD and "assumed-role/web/pod-1" in out,
       "web identity from the environment (IRSA): AssumeRoleWithWebIdentity, then ECR with the session", out)
    ok(auth_enforced(w), "  and moto enforces authentication again (the ECR call was authenticated)")
    w.files(config="[profile wi]\nrole_arn = %s\nweb_identity_token_file = %s\nrole_session_name = from-profile\n"
            % (role_arn("web"), token))
    os.unlink(w.pw)
    reset_auth(w.url, 1)
    rc, out = w.run(w.env(AWS_PROFILE="wi"))
    ok(rc == 0 and w.password() == PASSWORD and "assumed-role/web/from-profile" in out,
       "web identity from a profile (web_identity_token_file + role_arn)", out)
    ok(auth_enforced(w), "  and moto enforces authentication again")
    rc, out = w.run(w.env(AWS_WEB_IDENTITY_TOKEN_FILE=w.path("no-such-token"), AWS_ROLE_ARN=role_arn("web")))
    ok(rc == 1 and "no-such-token" in out and "web identity" in out, "  a missing token file fails loudly", out)

    # 9. credential_process
    envdump = w.path("helper-env")
    helper = script(w, "helper", 'env > %s\nprintf \'{"Version": 1, "AccessKeyId": "%s", "SecretAccessKey": "%s", '
                                 '"Expiration": "%s"}\'' % (envdump, ecr_key, ecr_secret, in_an_hour()))
    creds_dir = w.path("empty-credentials-dir")
    os.makedirs(creds_dir, exist_ok=True)
    w.files(config="[profile proc]\ncredential_process = %s --profile 'with space'\n" % helper)
    os.unlink(w.pw)
    rc, out = w.run(w.env(AWS_PROFILE="proc", CREDENTIALS_DIRECTORY=creds_dir,
                          AWS_CONTAINER_AUTHORIZATION_TOKEN="container-secret-token"))
    ok(rc == 0 and w.password() == PASSWORD, "credential_process: success", out)
    with open(envdump) as f:
        child_env = f.read()
    ok("AWS_PROFILE=proc" in child_env and "container-secret-token" not in child_env and
       "CREDENTIALS_DIRECTORY" not in child_env, "  the helper's environment: ours minus secrets", child_env)

    script(w, "failing", "echo 'helper: please run aws sso login' >&2\nexit 2")
    w.files(config="[profile proc]\ncredential_process = %s\n" % w.path("failing"))
    w.set_password()
    env = w.env(AWS_PROFILE="proc", AWS_EC2_METADATA_SERVICE_ENDPOINT=w.url, AWS_EC2_METADATA_DISABLED=None)
    rc, out = w.run(env)
    ok(rc == 1 and "exited with status 2" in out and w.password() == "old-password",
       "credential_process exiting 2: exit 1, old password file kept", out)
    ok("please run aws sso login" in out, "  its standard error reaches the log", out)
    ok("EC2 instance metadata" not in out,
       "  no fall-through to instance metadata, although it is reachable and enabled", out)

    script(w, "badjson", 'printf \'{"Version": 1, "AccessKeyId": "%s", "SecretAccessKey": "%s"\'' % (ecr_key, ecr_secret))
    w.files(config="[profile proc]\ncredential_process = %s\n" % w.path("badjson"))
    rc, out = w.run(w.env(AWS_PROFILE="proc"))
    ok(rc == 1 and "not valid JSON" in out and no_secret(out) and w.password() == "old-password",
       "credential_process with bad JSON: exit 1, no secret in the message", out)

    script(w, "assumer-keys", 'printf \'{"Version": 1, "AccessKeyId": "%s", "SecretAccessKey": "%s"}\''
           % (assumer_key, assumer_secret))
    w.files(config="[profile src]\ncredential_process = %s\n[profile r]\nrole_arn = %s\nsource_profile = src\n"
            % (w.path("assumer-keys"), role_arn("ecr-reader")))
    rc, out = w.run(w.env(AWS_PROFILE="r"))
    ok(rc == 0 and w.password() == PASSWORD, "a role assumed with credential_process credentials", out)

    # 10. Container credentials (full URI, authorization token file)
    FakeContainerEndpoint.token = "pod-identity-token-123"
    FakeContainerEndpoint.creds = {"AccessKeyId": ecr_key, "SecretAccessKey": ecr_secret, "Token": None,
                                   "Expiration": in_an_hour()}
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeContainerEndpoint)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    try:
        full_uri = "http://127.0.0.1:%d/v1/credentials" % srv.server_address[1]
        good, bad = w.path("ctoken-good"), w.path("ctoken-bad")
        with open(good, "w") as f:
            f.write("pod-identity-token-123")
        with open(bad, "w") as f:
            f.write("a-stolen-token")
        w.files()
        os.unlink(w.pw)
        rc, out = w.run(w.env(AWS_CONTAINER_CREDENTIALS_FULL_URI=full_uri, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=good,
                              AWS_CONTAINER_AUTHORIZATION_TOKEN="wrong-env-token"))
        ok(rc == 0 and w.password() == PASSWORD, "container full URI with a token file (beats the token variable)", out)
        ok(FakeContainerEndpoint.requests and FakeContainerEndpoint.requests[-1] == ("/v1/credentials", "pod-identity-token-123"),
           "  the endpoint saw the file's token", FakeContainerEndpoint.requests)
        w.set_password()
        rc, out = w.run(w.env(AWS_CONTAINER_CREDENTIALS_FULL_URI=full_uri, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=bad))
        ok(rc == 1 and "HTTP 401" in out and "a-stolen-token" not in out and w.password() == "old-password",
           "  a wrong token: refused (HTTP 401), exit 1, old file kept, token not echoed", out)
        n = len(FakeContainerEndpoint.requests)
        rc, out = w.run(w.env(AWS_CONTAINER_CREDENTIALS_FULL_URI="http://192.0.2.10/v1/credentials",
                              AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=good))
        ok(rc == 1 and "is not allowed" in out and len(FakeContainerEndpoint.requests) == n,
           "  a full URI outside the allowed hosts is refused without a request", out)
    finally:
        srv.shutdown()
        srv.server_close()

    # 11. $CREDENTIALS_DIRECTORY (LoadCredential=aws-credentials) beats everything
    cdir = w.path("credentials-directory")
    os.makedirs(cdir, exist_ok=True)
    with open(os.path.join(cdir, "aws-credentials"), "w") as f:
        f.write("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n" % (ecr_key, ecr_secret))
    os.chmod(os.path.join(cdir, "aws-credentials"), 0o400)
    os.unlink(w.pw)
    rc, out = w.run(w.env(CREDENTIALS_DIRECTORY=cdir, AWS_ACCESS_KEY_ID=deny_key, AWS_SECRET_ACCESS_KEY=deny_secret))
    ok(rc == 0 and w.password() == PASSWORD and "systemd credential aws-credentials" in out,
       "$CREDENTIALS_DIRECTORY/aws-credentials beats the environment", out)
    w.set_password()
    rc, out = w.run(w.env(CREDENTIALS_DIRECTORY=cdir, AWS_PROFILE="prod"))
    ok(rc == 1 and "has no [prod] section" in out and w.password() == "old-password",
       "  with AWS_PROFILE naming a profile it lacks: exit 1, loud", out)

    # 12. Precedence: environment beats profile; a broken source does not fall through
    w.files("[deny]\naws_access_key_id = %s\naws_secret_access_key = %s\n" % (deny_key, deny_secret))
    os.unlink(w.pw)
    rc, out = w.run(w.env(AWS_PROFILE="deny", AWS_ACCESS_KEY_ID=ecr_key, AWS_SECRET_ACCESS_KEY=ecr_secret))
    ok(rc == 0 and w.password() == PASSWORD, "environment keys beat the profile", out)
    w.files("[good]\naws_access_key_id = %s\naws_secret_access_key = %s\n" % (ecr_key, ecr_secret))
    w.set_password()
    rc, out = w.run(w.env(AWS_PROFILE="good", AWS_ACCESS_KEY_ID=ecr_key))
    ok(rc == 1 and "AWS_SECRET_ACCESS_KEY is not" in out and w.password() == "old-password",
       "half the environment keys: exit 1 although the profile works, old file kept", out)
    w.files(config="[profile broken]\nrole_arn = %s\n" % role_arn("ecr-reader"))
    rc, out = w.run(w.env(AWS_PROFILE="broken", AWS_EC2_METADATA_SERVICE_ENDPOINT=w.url, AWS_EC2_METADATA_DISABLED=None))
    ok(rc == 1 and "needs source_profile" in out and w.password() == "old-password" and "EC2 instance metadata" not in out,
       "a broken profile: exit 1, no fall-through to reachable instance metadata", out)

    # 13. Config validation of the new keys
    with open(w.cfg, "w") as f:
        f.write('registries:\n  - registryId: "%s"\n    region: us-east-1\n    passwordFile: %s\n'
                '    roleArn: arn:aws:iam::12345:role/x\n' % (ACCOUNT, w.pw))
    rc, out = w.run(w.env())
    ok(rc == 78 and "config.yaml:5:14: roleArn:" in out and "12-digit account ID" in out,
       "an invalid roleArn is a configuration error with file:line:column (exit 78)", out)


def main():
    py = moto_python()
    if py is None:
        print("1..0 # SKIP moto and boto3 are not installed for any python3 here")
        return 0
    if not os.access(BINARY, os.X_OK):
        print("1..0 # SKIP %s not built" % BINARY)
        return 0
    sys.path.insert(0, os.path.dirname(subprocess.run([py, "-c", "import boto3, os; print(os.path.dirname(boto3.__file__))"],
                                                       capture_output=True, text=True).stdout.strip()))

    work = tempfile.mkdtemp(prefix="ecr-creds-moto-")
    start = subprocess.run([py, MOTO, "start", "--dir", work, "--watch-pid", str(os.getpid())], capture_output=True,
                           text=True, timeout=120)
    if start.returncode != 0:
        print("Bail out! cannot start moto_server: " + (start.stdout + start.stderr).replace("\n", " | "))
        return 1
    try:
        w = World(work, read_env(os.path.join(work, "moto.env")))
        key, secret = fixtures(w)
        tests(w, key, secret)
    finally:
        subprocess.run([py, MOTO, "stop", "--dir", work], capture_output=True, timeout=60)
        subprocess.run(["rm", "-rf", work])
    return T.plan()


if __name__ == "__main__":
    sys.exit(main())
