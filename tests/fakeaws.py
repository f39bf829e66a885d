#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A small, scriptable fake of the ECR GetAuthorizationToken endpoint, for tests.

It listens on the loopback only, on a port the kernel picks (or --port), and announces it on stdout
("PORT\\n") and, atomically, in --port-file. It does not check signatures (moto_server does that in
the integration tests); it answers the way a test asks it to, and counts what it was asked.

Behaviours ("modes") are chosen with --mode and changed at run time with a control request:

    POST /_fake/mode   {"mode": "error", "error_type": "ThrottlingException", ...}
    GET  /_fake/stats  -> {"requests": 3, "by_mode": {"ok": 2, "error": 1}, "last": {...}}
    POST /_fake/reset  -> zeroes the counters

Every field of the mode request other than "mode" updates a setting (see Settings). Modes:

    ok     200 with a valid authorizationData answer; the token is base64("AWS:" + password)
    hang   accepts the request and never answers (until the server stops)
    error  an AWS JSON error: HTTP error_status (400) with {"__type", "message"} and x-amzn-ErrorType

To add a mode, write a function taking (handler, request) and decorate it with @mode("name"); see
the existing ones. Use the control client from Python:

    fake = FakeAwsProcess.start(mode="ok", password="pw")   # runs this file as a subprocess
    fake.set_mode("hang"); fake.stats()["requests"]; fake.stop()
"""

import argparse
import base64
import dataclasses
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ECR_TARGET = "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken"
CONTROL_PREFIX = "/_fake/"


@dataclasses.dataclass
class Settings:
    """What the fake answers; every field can be set by --option or the mode control request."""
    mode: str = "ok"
    password: str = "fakeaws-password"
    # Per-registry passwords ({"123456789012": "pw"}); registries not listed get `password`.
    passwords: dict = dataclasses.field(default_factory=dict)
    expires_in: float = 12 * 3600.0          # seconds from now, as ECR does
    error_type: str = "AccessDeniedException"
    error_message: str = "User: arn:aws:iam::123456789012:user/test is not authorized to perform: ecr:GetAuthorizationToken"
    error_status: int = 400
    region: str = ""                          # default: from the request's credential scope


@dataclasses.dataclass
class Request:
    """One parsed GetAuthorizationToken request, as handed to a mode."""
    target: str
    body: dict
    registry_id: str      # first of registryIds, or "" when none
    region: str           # from the SigV4 credential scope, or the settings' region, or us-east-1
    headers: dict


MODES = {}


def mode(name):
    """Registers a behaviour: fn(handler, request) -> None; it must send the whole answer itself."""
    def register(fn):
        MODES[name] = fn
        return fn
    return register


@mode("ok")
def mode_ok(handler, request):
    settings = handler.server.settings
    registry = request.registry_id or "123456789012"
    password = settings.passwords.get(registry, settings.password)
    token = base64.b64encode(("AWS:" + password).encode()).decode()
    handler.send_json(200, {
        "authorizationData": [{
            "authorizationToken": token,
            "expiresAt": round(time.time() + settings.expires_in, 3),
            "proxyEndpoint": f"https://{registry}.dkr.ecr.{request.region}.amazonaws.com",
        }],
    })


@mode("hang")
def mode_hang(handler, request):
    # Keep the connection open and say nothing until the server shuts down.
    handler.server.stopping.wait()
    handler.close_connection = True


@mode("error")
def mode_error(handler, request):
    settings = handler.server.settings
    handler.send_aws_error(settings.error_status, settings.error_type, settings.error_message)


class FakeAwsServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, settings, quiet=False):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, FakeAwsHandler)
        self.settings = settings
        self.quiet = quiet
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.reset_stats()

    def reset_stats(self):
        with self.lock:
            self.requests = 0
            self.by_mode = {}
            self.last = None

    def record(self, request, mode_name):
        with self.lock:
            self.requests += 1
            self.by_mode[mode_name] = self.by_mode.get(mode_name, 0) + 1
            self.last = {
                "target": request.target,
                "registry_id": request.registry_id,
                "region": request.region,
                "mode": mode_name,
                "signed": "authorization" in request.headers,
                "time": time.time(),
            }

    def stats(self):
        with self.lock:
            return {"requests": self.requests, "by_mode": dict(self.by_mode), "last": self.last,
                    "mode": self.settings.mode}

    def stop(self):
        self.stopping.set()
        self.shutdown()


class FakeAwsHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fakeaws"

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):
        if not self.server.quiet:
            sys.stderr.write("fakeaws: %s %s\n" % (self.address_string(), fmt % args))

    # -- answers -------------------------------------------------------------------------------
    def send_json(self, status, obj, content_type="application/x-amz-json-1.1", headers=()):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", "00000000-0000-4000-8000-%012d" % self.server.requests)
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def send_aws_error(self, status, error_type, message):
        self.send_json(status, {"__type": error_type, "message": message},
                       headers=[("x-amzn-ErrorType", error_type)])

    # -- requests ------------------------------------------------------------------------------
    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def do_GET(self):
        if self.path == CONTROL_PREFIX + "stats":
            self.send_json(200, self.server.stats(), content_type="application/json")
        else:
            self.send_aws_error(404, "UnknownOperationException", "GET is not an ECR operation")

    def do_POST(self):
        raw = self.read_body()
        if self.path.startswith(CONTROL_PREFIX):
            return self.control(self.path[len(CONTROL_PREFIX):], raw)

        target = self.headers.get("X-Amz-Target", "")
        if target != ECR_TARGET:
            return self.send_aws_error(400, "UnknownOperationException",
                                       "unsupported X-Amz-Target %r" % target)
        try:
            body = json.loads(raw or b"{}")
            if not isinstance(body, dict):
                raise ValueError("not an object")
        except ValueError as e:
            return self.send_aws_error(400, "SerializationException", "bad JSON body: %s" % e)

        ids = body.get("registryIds") or []
        scope = re.search(r"Credential=[^/]+/\d{8}/([^/]+)/", self.headers.get("Authorization", ""))
        request = Request(
            target=target, body=body,
            registry_id=str(ids[0]) if ids else "",
            region=self.server.settings.region or (scope.group(1) if scope else "us-east-1"),
            headers={k.lower(): v for k, v in self.headers.items()})
        mode_name = self.server.settings.mode
        self.server.record(request, mode_name)
        MODES[mode_name](self, request)

    def control(self, what, raw):
        try:
            args = json.loads(raw or b"{}")
        except ValueError as e:
            return self.send_json(400, {"error": "bad JSON: %s" % e}, content_type="application/json")
        if what == "mode":
            try:
                apply_settings(self.server.settings, args)
            except (KeyError, ValueError, TypeError) as e:
                return self.send_json(400, {"error": str(e)}, content_type="application/json")
        elif what == "reset":
            self.server.reset_stats()
        else:
            return self.send_json(404, {"error": "unknown control %r" % what}, content_type="application/json")
        self.send_json(200, self.server.stats(), content_type="application/json")


def apply_settings(settings, changes):
    """Validates and applies a dict of Settings fields; raises and changes nothing if one is bad."""
    fields = {f.name: f for f in dataclasses.fields(Settings)}
    new = dataclasses.replace(settings)
    for key, value in changes.items():
        if key not in fields:
            raise KeyError("unknown setting %r" % key)
        current = getattr(settings, key)
        if isinstance(current, float) and isinstance(value, int):
            value = float(value)
        if not isinstance(value, type(current)):
            raise TypeError("%s must be %s" % (key, type(current).__name__))
        setattr(new, key, value)
    if new.mode not in MODES:
        raise ValueError("unknown mode %r (known: %s)" % (new.mode, ", ".join(sorted(MODES))))
    for f in fields:
        setattr(settings, f, getattr(new, f))


def _die_with_parent():
    """In the child: get SIGTERM when the test that started us dies, even by SIGKILL (Linux)."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class FakeAwsProcess:
    """Runs this file as a subprocess and talks to its control endpoint. For tests."""

    def __init__(self, proc, port, port_file):
        self.proc, self.port, self.port_file = proc, port, port_file
        self.url = "http://127.0.0.1:%d" % port

    @classmethod
    def start(cls, port_file, timeout=10, log=None, python=None, **settings):
        args = [python or sys.executable, os.path.abspath(__file__), "--port-file", port_file]
        for key, value in settings.items():
            args += ["--" + key.replace("_", "-"), str(value)]
        try:
            os.unlink(port_file)
        except FileNotFoundError:
            pass
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=log if log is not None else subprocess.DEVNULL,
                                preexec_fn=_die_with_parent)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError("fakeaws exited with %d before listening" % proc.returncode)
            try:
                with open(port_file) as f:
                    return cls(proc, int(f.read().strip()), port_file)
            except (FileNotFoundError, ValueError):
                time.sleep(0.05)
        proc.kill()
        proc.wait()
        raise RuntimeError("fakeaws did not announce its port within %ss" % timeout)

    def _call(self, method, what, payload=None):
        data = json.dumps(payload).encode() if payload is not None else None
        req = urllib.request.Request(self.url + CONTROL_PREFIX + what, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.load(r)

    def set_mode(self, mode_name=None, **settings):
        if mode_name is not None:
            settings["mode"] = mode_name
        return self._call("POST", "mode", settings)

    def stats(self):
        return self._call("GET", "stats")

    def reset(self):
        return self._call("POST", "reset", {})

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def main(argv=None):
    defaults = Settings()
    p = argparse.ArgumentParser(description="Fake ECR GetAuthorizationToken endpoint for tests.")
    p.add_argument("--bind", default="127.0.0.1", help="loopback address to listen on (default %(default)s)")
    p.add_argument("--port", type=int, default=0, help="port (default: any free one)")
    p.add_argument("--port-file", help="write the port number here once listening")
    p.add_argument("--quiet", action="store_true", help="do not log requests to stderr")
    p.add_argument("--mode", default=defaults.mode, choices=sorted(MODES))
    p.add_argument("--password", default=defaults.password)
    p.add_argument("--expires-in", type=float, default=defaults.expires_in)
    p.add_argument("--error-type", default=defaults.error_type)
    p.add_argument("--error-message", default=defaults.error_message)
    p.add_argument("--error-status", type=int, default=defaults.error_status)
    p.add_argument("--region", default=defaults.region)
    args = p.parse_args(argv)

    if not (args.bind.startswith("127.") or args.bind == "::1"):
        p.error("--bind must be a loopback address")
    settings = Settings(mode=args.mode, password=args.password, expires_in=args.expires_in,
                        error_type=args.error_type, error_message=args.error_message,
                        error_status=args.error_status, region=args.region)
    server = FakeAwsServer((args.bind, args.port), settings, quiet=args.quiet)
    port = server.server_address[1]

    def on_signal(signum, frame):
        threading.Thread(target=server.stop, daemon=True).start()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, args.port_file)
    print(port, flush=True)
    server.serve_forever(poll_interval=0.2)
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
