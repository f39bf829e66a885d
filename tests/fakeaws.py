#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A small, scriptable fake of the ECR GetAuthorizationToken endpoint, for tests and fault injection.

It listens on the loopback only, on a port the kernel picks (or --port), and announces it on stdout
("PORT\\n") and, atomically, in --port-file. It does not check signatures (moto_server does that in
the integration tests); it answers the way a test asks it to, and logs what it was asked.

Behaviours ("modes") are chosen with --mode and changed at run time with control requests:

    POST /_fake/mode   {"mode": "error", "error_type": "ThrottlingException", ...}
                       sets the default mode and settings (every field of Settings)
    POST /_fake/next   {"mode": "503", "count": 2, "registry_id": "123456789012", ...settings}
                       queues a mode for the next COUNT requests (default 1), optionally only for
                       requests naming REGISTRY_ID, with settings that apply to those requests only;
                       queued entries are used first-in first-out, then the default mode again
    GET  /_fake/stats  -> {"requests": 3, "by_mode": {"ok": 2, "error": 1}, "last": {...}, "queued": 0}
    GET  /_fake/log    -> {"log": [{"n", "time", "monotonic", "end", "registry_id", "region", "mode",
                           "status", "amz_date", "signed", "kind"}, ...]}
                       every ECR request ("kind": "request"), every accepted connection (after
                       the TLS handshake, if any: "kind": "connection") and every failed TLS
                       handshake ("kind": "tls-error"), with wall-clock and CLOCK_MONOTONIC times
                       (a client that rejects the certificate after the handshake, as curl with
                       GnuTLS does, shows as a connection without a request)
    POST /_fake/reset  -> zeroes the counters, empties the log and the queue

Modes (each answers one GetAuthorizationToken request):

    ok              200 with a valid authorizationData answer; the token is base64("AWS:" + password)
    hang            reads the request and never answers, until the client goes away or the server stops
    error           an AWS JSON error: HTTP error_status (400) with {"__type", "message"} and
                    x-amzn-ErrorType: error_type
    500             500 ServerException, as ECR sends it (JSON + x-amzn-ErrorType)
    503             503 with an HTML body and no AWS error type, as a load balancer sends it
    throttle        400 ThrottlingException "Rate exceeded" (x-amzn-ErrorType with ECR's ":http://..." suffix)
    trickle         200 with a valid answer, trickle_bytes bytes every trickle_interval seconds
    truncated       200 whose Content-Length is truncate_missing bytes more than it sends, then closes
    reset           reads the request, then resets the connection (RST) without answering
    invalid-json    200 with a body that is not JSON
    invalid-base64  200 whose authorizationToken is not base64
    no-aws-prefix   200 whose token decodes to the bare password, without "AWS:"
    oversized       200 with a valid answer padded to oversize bytes (default 4 MiB)
    skew            as ok, but the server's clock (its Date header, its expiresAt, and the X-Amz-Date
                    check below) runs `skew` seconds ahead of the real one, an hour if skew is 0;
                    `skew` applies to the other modes too (say, "error" with InvalidSignatureException
                    and a skewed Date, which no clock correction can fix)

In every mode, a request whose X-Amz-Date is more than max_skew (300) seconds away from the server's
clock is refused with 400 InvalidSignatureException "Signature expired", as AWS does; with the real
clock this only bites a signer with a broken clock, with mode "skew" it bites every signer that does
not correct its clock from the Date header. `delay` seconds (default 0) of latency precede every
answer, in every mode.

TLS: --tls-cert/--tls-key serve HTTPS instead of HTTP (the handshake runs in the request's thread, and
a failed one is logged); the certificate can be swapped at run time with {"tls_cert", "tls_key"} in a
mode request. make_test_certs(dir) makes a test CA, a certificate it signed for 127.0.0.1, one for
another host name, and a self-signed one, with openssl(1).

To add a mode, write a function taking (handler, request) and decorate it with @mode("name"); it
reads its settings from handler.settings. Use the control client from Python:

    fake = FakeAwsProcess.start(port_file, mode="ok", password="pw")   # runs this file as a subprocess
    fake.set_mode("hang"); fake.queue("503", count=2); fake.stats()["requests"]; fake.log(); fake.stop()
"""

import argparse
import base64
import calendar
import dataclasses
import email.utils
import json
import os
import re
import select
import signal
import socket
import ssl
import struct
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
    # How a request naming several registryIds is answered: "each" (one item per id, in request
    # order, each naming its registry in proxyEndpoint, as moto does), "one" (a single item for the
    # first id: the token serves every registry of the identity), "reversed" (as "each", in reverse
    # order), "anonymous" (as "each" without proxyEndpoint) or "missing-last" (as "each" without the
    # last id's item), "anonymous-missing-last" (both).
    answer: str = "each"
    expires_in: float = 12 * 3600.0          # seconds from now, as ECR does
    error_type: str = "AccessDeniedException"
    error_message: str = "User: arn:aws:iam::123456789012:user/test is not authorized to perform: ecr:GetAuthorizationToken"
    error_status: int = 400
    region: str = ""                          # default: from the request's credential scope
    delay: float = 0.0                        # seconds of latency before every answer
    skew: float = 0.0                         # seconds the server's clock is ahead (any mode; "skew": 3600 if 0)
    max_skew: float = 300.0                   # X-Amz-Date tolerance, as AWS's 5 minutes
    trickle_interval: float = 0.5             # mode "trickle": seconds between chunks
    trickle_bytes: int = 1                    # mode "trickle": bytes per chunk
    truncate_missing: int = 1000              # mode "truncated": bytes promised but never sent
    oversize: int = 4 * 1024 * 1024           # mode "oversized": body size in bytes
    tls_cert: str = ""                        # PEM certificate (chain) file; only with --tls-cert
    tls_key: str = ""                         # PEM key file


@dataclasses.dataclass
class Request:
    """One parsed GetAuthorizationToken request, as handed to a mode."""
    target: str
    body: dict
    registry_id: str      # first of registryIds, or "" when none
    registry_ids: list    # every registryIds entry
    region: str           # from the SigV4 credential scope, or the settings' region, or us-east-1
    headers: dict


MODES = {}
ANSWERS = ("each", "one", "reversed", "anonymous", "missing-last", "anonymous-missing-last")


def mode(name):
    """Registers a behaviour: fn(handler, request) -> None; it must send the whole answer itself."""
    def register(fn):
        MODES[name] = fn
        return fn
    return register


def token_answer(handler, request, password=None, token=None):
    """The JSON document of a successful GetAuthorizationToken, as a dict: one item per requested
    registry (see Settings.answer)."""
    settings = handler.settings
    registries = request.registry_ids or ["123456789012"]
    if settings.answer == "one":
        registries = registries[:1]
    items = []
    for registry in registries:
        pw = password if password is not None else settings.passwords.get(registry, settings.password)
        item = {
            "authorizationToken": token if token is not None else base64.b64encode(("AWS:" + pw).encode()).decode(),
            "expiresAt": round(handler.now() + settings.expires_in, 3),
            "proxyEndpoint": f"https://{registry}.dkr.ecr.{request.region}.amazonaws.com",
        }
        if settings.answer in ("anonymous", "anonymous-missing-last"):
            del item["proxyEndpoint"]
        items.append(item)
    if settings.answer == "reversed":
        items.reverse()
    elif settings.answer in ("missing-last", "anonymous-missing-last") and len(items) > 1:
        items.pop()
    return {"authorizationData": items}


@mode("ok")
def mode_ok(handler, request):
    handler.send_json(200, token_answer(handler, request))


@mode("skew")
def mode_skew(handler, request):
    # The clock skew itself is applied by the handler (handler.now()); the answer is a normal one.
    handler.send_json(200, token_answer(handler, request))


@mode("hang")
def mode_hang(handler, request):
    # Keep the connection open and say nothing until the client gives up or the server shuts down.
    handler.wait_for_disconnect()
    handler.close_connection = True


@mode("error")
def mode_error(handler, request):
    settings = handler.settings
    handler.send_aws_error(settings.error_status, settings.error_type, settings.error_message)


@mode("500")
def mode_500(handler, request):
    handler.send_aws_error(500, "ServerException", "Internal service error (fakeaws)")


@mode("503")
def mode_503(handler, request):
    body = b"<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>\n"
    handler.send_raw(503, body, "text/html")


@mode("throttle")
def mode_throttle(handler, request):
    handler.send_json(400, {"__type": "ThrottlingException", "message": "Rate exceeded"},
                      headers=[("x-amzn-ErrorType",
                                "ThrottlingException:http://internal.amazon.com/coral/com.amazon.coral.availability/")])


@mode("trickle")
def mode_trickle(handler, request):
    settings = handler.settings
    data = json.dumps(token_answer(handler, request)).encode()
    handler.send_head(200, len(data))
    step = max(1, settings.trickle_bytes)
    try:
        for i in range(0, len(data), step):
            handler.wfile.write(data[i:i + step])
            handler.wfile.flush()
            if handler.server.stopping.wait(settings.trickle_interval):
                break
    except OSError:
        pass
    handler.close_connection = True


@mode("truncated")
def mode_truncated(handler, request):
    data = json.dumps(token_answer(handler, request)).encode()
    handler.send_head(200, len(data) + max(1, handler.settings.truncate_missing))
    try:
        handler.wfile.write(data[:len(data) // 2])
        handler.wfile.flush()
    except OSError:
        pass
    handler.close_connection = True


@mode("reset")
def mode_reset(handler, request):
    handler.reset_connection()


@mode("invalid-json")
def mode_invalid_json(handler, request):
    handler.send_raw(200, b'{"authorizationData": [{"authorizationToken": "QVdTOnBhc3N3b3Jk", "expiresAt": ',
                     "application/x-amz-json-1.1")


@mode("invalid-base64")
def mode_invalid_base64(handler, request):
    handler.send_json(200, token_answer(handler, request, token="QVdT%%not*base64!!"))


@mode("no-aws-prefix")
def mode_no_aws_prefix(handler, request):
    settings = handler.settings
    password = settings.passwords.get(request.registry_id, settings.password)
    handler.send_json(200, token_answer(handler, request, token=base64.b64encode(password.encode()).decode()))


@mode("oversized")
def mode_oversized(handler, request):
    doc = token_answer(handler, request)
    base = len(json.dumps(doc))
    doc["padding"] = "x" * max(0, handler.settings.oversize - base - 16)
    data = json.dumps(doc).encode()
    handler.send_head(200, len(data))
    try:
        for i in range(0, len(data), 65536):
            handler.wfile.write(data[i:i + 65536])
        handler.wfile.flush()
    except OSError:
        handler.close_connection = True


class FakeAwsServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, settings, quiet=False, tls=False):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, FakeAwsHandler)
        self.settings = settings
        self.quiet = quiet
        self.tls = tls
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.tls_contexts = {}
        self.local = threading.local()
        self.reset_stats()

    def reset_stats(self):
        with self.lock:
            self.requests = 0
            self.by_mode = {}
            self.last = None
            self.log = []
            self.queue = []

    def take(self, registry_ids):
        """The mode and settings for the next request: the first matching queued entry, else the default."""
        with self.lock:
            for entry in self.queue:
                if entry["registry_id"] == "" or entry["registry_id"] in registry_ids:
                    entry["count"] -= 1
                    if entry["count"] <= 0:
                        self.queue.remove(entry)
                    settings = dataclasses.replace(self.settings)
                    for key, value in entry["settings"].items():
                        setattr(settings, key, value)
                    settings.mode = entry["mode"]
                    return settings
            return dataclasses.replace(self.settings)

    def enqueue(self, args):
        args = dict(args)
        mode_name = args.pop("mode", None)
        count = args.pop("count", 1)
        registry_id = args.pop("registry_id", "")
        if mode_name not in MODES:
            raise ValueError("unknown mode %r (known: %s)" % (mode_name, ", ".join(sorted(MODES))))
        if not isinstance(count, int) or count < 1:
            raise ValueError("count must be a positive integer")
        if not isinstance(registry_id, str):
            raise TypeError("registry_id must be str")
        overrides = dataclasses.replace(self.settings)
        apply_settings(overrides, args)   # validates
        with self.lock:
            self.queue.append({"mode": mode_name, "count": count, "registry_id": registry_id,
                               "settings": {k: getattr(overrides, k) for k in args}})

    def record(self, request, settings):
        with self.lock:
            self.requests += 1
            self.by_mode[settings.mode] = self.by_mode.get(settings.mode, 0) + 1
            entry = {
                "kind": "request",
                "n": self.requests,
                "target": request.target,
                "registry_id": request.registry_id,
                "registry_ids": request.registry_ids,
                "region": request.region,
                "mode": settings.mode,
                "signed": "authorization" in request.headers,
                "amz_date": request.headers.get("x-amz-date", ""),
                "time": time.time(),
                "monotonic": time.monotonic(),
                "end": None,
                "status": None,
            }
            self.last = entry
            self.log.append(entry)
            return entry

    def record_event(self, kind, **fields):
        with self.lock:
            entry = dict(kind=kind, time=time.time(), monotonic=time.monotonic(), **fields)
            self.log.append(entry)
            return entry

    def count_on_connection(self, control):
        """Notes a request on the current connection: a control one, or one more ECR request."""
        conn = getattr(self.local, "connection", None)
        if conn is None:
            return
        with self.lock:
            if control:
                conn["control"] = True
            else:
                conn["requests"] += 1

    def finish_entry(self, entry, status):
        with self.lock:
            entry["end"] = time.time()
            entry["status"] = status

    def stats(self):
        with self.lock:
            return {"requests": self.requests, "by_mode": dict(self.by_mode),
                    "last": dict(self.last) if self.last else None, "mode": self.settings.mode,
                    "queued": sum(e["count"] for e in self.queue)}

    def log_snapshot(self):
        with self.lock:
            return [dict(e) for e in self.log]

    def tls_context(self):
        key = (self.settings.tls_cert, self.settings.tls_key)
        with self.lock:
            ctx = self.tls_contexts.get(key)
            if ctx is None:
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.load_cert_chain(key[0], key[1] or None)
                self.tls_contexts[key] = ctx
            return ctx

    def finish_request(self, request, client_address):
        # Runs in the connection's own thread: a slow or failing TLS handshake blocks nobody else.
        if self.tls:
            try:
                request.settimeout(10)
                request = self.tls_context().wrap_socket(request, server_side=True)
                request.settimeout(None)
            except (ssl.SSLError, OSError) as e:
                self.record_event("tls-error", error=str(e))
                if not self.quiet:
                    sys.stderr.write("fakeaws: TLS handshake with %s failed: %s\n" % (client_address[0], e))
                return
        self.local.connection = self.record_event("connection", tls=self.tls, control=False, requests=0)
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        if not self.quiet:
            super().handle_error(request, client_address)

    def stop(self):
        self.stopping.set()
        self.shutdown()


class FakeAwsHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fakeaws"
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm and the
    # client's delayed ACK hold every answer back for ~40 ms.
    disable_nagle_algorithm = True
    settings = None        # this request's settings (default or queued)

    def version_string(self):
        return self.server_version

    def now(self):
        """The server's clock: `skew` seconds ahead of the real one (an hour in mode skew by default)."""
        s = self.settings or self.server.settings
        return time.time() + (s.skew or 3600.0 if s.mode == "skew" else s.skew)

    def date_time_string(self, timestamp=None):
        return email.utils.formatdate(self.now() if timestamp is None else timestamp, usegmt=True)

    def log_message(self, fmt, *args):
        if not self.server.quiet:
            sys.stderr.write("fakeaws: %s %s\n" % (self.address_string(), fmt % args))

    def send_response(self, code, message=None):
        self.status_sent = code
        super().send_response(code, message)

    # -- answers -------------------------------------------------------------------------------
    def send_head(self, status, length, content_type="application/x-amz-json-1.1", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(length))
        self.send_header("x-amzn-RequestId", "00000000-0000-4000-8000-%012d" % self.server.requests)
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()

    def send_raw(self, status, data, content_type, headers=()):
        self.send_head(status, len(data), content_type, headers)
        try:
            self.wfile.write(data)
        except OSError:
            self.close_connection = True

    def send_json(self, status, obj, content_type="application/x-amz-json-1.1", headers=()):
        self.send_raw(status, json.dumps(obj).encode(), content_type, headers)

    def send_aws_error(self, status, error_type, message):
        self.send_json(status, {"__type": error_type, "message": message},
                       headers=[("x-amzn-ErrorType", error_type)])

    def wait_for_disconnect(self, timeout=None):
        """Blocks until the peer closes the connection, the server stops, or timeout seconds pass."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.server.stopping.is_set():
            if deadline is not None and time.monotonic() >= deadline:
                return
            try:
                readable, _, _ = select.select([self.connection], [], [], 0.2)
                if readable and not self.connection.recv(1, socket.MSG_PEEK):
                    return
            except (OSError, ValueError):
                return

    def reset_connection(self):
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass
        self.close_connection = True

    # -- requests ------------------------------------------------------------------------------
    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def do_GET(self):
        self.settings = self.server.settings
        self.server.count_on_connection(control=self.path.startswith(CONTROL_PREFIX))
        if self.path == CONTROL_PREFIX + "stats":
            self.send_json(200, self.server.stats(), content_type="application/json")
        elif self.path == CONTROL_PREFIX + "log":
            self.send_json(200, {"log": self.server.log_snapshot()}, content_type="application/json")
        else:
            self.send_aws_error(404, "UnknownOperationException", "GET is not an ECR operation")

    def do_POST(self):
        raw = self.read_body()
        self.server.count_on_connection(control=self.path.startswith(CONTROL_PREFIX))
        if self.path.startswith(CONTROL_PREFIX):
            self.settings = self.server.settings
            return self.control(self.path[len(CONTROL_PREFIX):], raw)

        self.settings = self.server.settings
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

        ids = [str(i) for i in body.get("registryIds") or []]
        registry_id = ids[0] if ids else ""
        settings = self.server.take(ids)
        self.settings = settings
        scope = re.search(r"Credential=[^/]+/\d{8}/([^/]+)/", self.headers.get("Authorization", ""))
        request = Request(
            target=target, body=body,
            registry_id=registry_id,
            registry_ids=ids,
            region=settings.region or (scope.group(1) if scope else "us-east-1"),
            headers={k.lower(): v for k, v in self.headers.items()})
        entry = self.server.record(request, settings)
        self.status_sent = None
        try:
            if settings.delay > 0 and self.server.stopping.wait(settings.delay):
                return
            if self.check_date(request):
                MODES[settings.mode](self, request)
        finally:
            self.server.finish_entry(entry, self.status_sent)

    def check_date(self, request):
        """Refuses a request signed too far from the server's clock, as AWS does. True if it may go on."""
        amz = request.headers.get("x-amz-date", "")
        try:
            signed = calendar.timegm(time.strptime(amz, "%Y%m%dT%H%M%SZ"))
        except ValueError:
            return True      # unsigned or odd: not this check's business
        now = self.now()
        if abs(signed - now) <= self.settings.max_skew:
            return True
        fmt = "%Y%m%dT%H%M%SZ"
        later = signed < now
        message = "Signature %s: %s is now %s than %s (%s %s 5 min.)" % (
            "expired" if later else "not yet current", amz, "earlier" if later else "later",
            time.strftime(fmt, time.gmtime(now - self.settings.max_skew if later else now + self.settings.max_skew)),
            time.strftime(fmt, time.gmtime(now)), "-" if later else "+")
        self.send_aws_error(400, "InvalidSignatureException", message)
        return False

    def control(self, what, raw):
        try:
            args = json.loads(raw or b"{}")
            if not isinstance(args, dict):
                raise ValueError("not an object")
        except ValueError as e:
            return self.send_json(400, {"error": "bad JSON: %s" % e}, content_type="application/json")
        try:
            if what == "mode":
                apply_settings(self.server.settings, args, tls=self.server.tls)
            elif what == "next":
                self.server.enqueue(args)
            elif what == "reset":
                self.server.reset_stats()
            else:
                return self.send_json(404, {"error": "unknown control %r" % what}, content_type="application/json")
        except (KeyError, ValueError, TypeError, OSError, ssl.SSLError) as e:
            return self.send_json(400, {"error": str(e)}, content_type="application/json")
        self.send_json(200, self.server.stats(), content_type="application/json")


def apply_settings(settings, changes, tls=None):
    """Validates and applies a dict of Settings fields; raises and changes nothing if one is bad.
    tls (the server's TLS switch) makes a new certificate be loaded once here, so that a bad one is
    refused by the control request rather than failing every handshake."""
    fields = {f.name: f for f in dataclasses.fields(Settings)}
    new = dataclasses.replace(settings)
    for key, value in changes.items():
        if key not in fields:
            raise KeyError("unknown setting %r" % key)
        current = getattr(settings, key)
        if isinstance(current, float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, type(current)) or (isinstance(value, bool) and not isinstance(current, bool)):
            raise TypeError("%s must be %s" % (key, type(current).__name__))
        setattr(new, key, value)
    if new.mode not in MODES:
        raise ValueError("unknown mode %r (known: %s)" % (new.mode, ", ".join(sorted(MODES))))
    if new.answer not in ANSWERS:
        raise ValueError("unknown answer %r (known: %s)" % (new.answer, ", ".join(ANSWERS)))
    if ("tls_cert" in changes or "tls_key" in changes) and tls is not None:
        if not tls:
            raise ValueError("this server was started without --tls-cert; TLS cannot be switched on")
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(new.tls_cert, new.tls_key or None)
    for f in fields:
        setattr(settings, f, getattr(new, f))


def _die_with_parent():
    """In the child: get SIGTERM when the test that started us dies, even by SIGKILL (Linux)."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def closed_port(host="127.0.0.1"):
    """A TCP port on host that nothing listens on (bound, then closed): connecting is refused."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def make_test_certs(directory, openssl="openssl"):
    """Makes, with openssl(1), in directory: ca.pem (a test CA), good.pem/good.key (signed by it, for
    IP 127.0.0.1 and localhost), wronghost.pem/.key (signed by it, for www.example.com only) and
    selfsigned.pem/.key (self-signed, for 127.0.0.1). Returns a dict of those paths."""
    os.makedirs(directory, exist_ok=True)
    p = {name: os.path.join(directory, name) for name in (
        "ca.pem", "ca.key", "good.pem", "good.key", "wronghost.pem", "wronghost.key", "selfsigned.pem",
        "selfsigned.key")}

    def run(*args):
        subprocess.run([openssl, *args], check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)

    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run("req", "-x509", *key, "-keyout", p["ca.key"], "-out", p["ca.pem"], "-days", "2", "-subj", "/CN=fakeaws test CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    for name, san in (("good", "IP:127.0.0.1,DNS:localhost"), ("wronghost", "DNS:www.example.com")):
        csr = os.path.join(directory, name + ".csr")
        ext = os.path.join(directory, name + ".ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n" % san)
        run("req", "-new", *key, "-keyout", p[name + ".key"], "-out", csr, "-subj", "/CN=fakeaws " + name)
        run("x509", "-req", "-in", csr, "-CA", p["ca.pem"], "-CAkey", p["ca.key"], "-CAcreateserial",
            "-out", p[name + ".pem"], "-days", "2", "-extfile", ext)
    run("req", "-x509", *key, "-keyout", p["selfsigned.key"], "-out", p["selfsigned.pem"], "-days", "2",
        "-subj", "/CN=fakeaws self-signed", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost")
    return {k.replace(".pem", "").replace(".key", "_key"): v for k, v in p.items()}


class FakeAwsProcess:
    """Runs this file as a subprocess and talks to its control endpoint. For tests."""

    def __init__(self, proc, port, port_file, tls=False):
        self.proc, self.port, self.port_file = proc, port, port_file
        self.url = "%s://127.0.0.1:%d" % ("https" if tls else "http", port)
        self.tls = tls

    @classmethod
    def start(cls, port_file, timeout=10, log=None, python=None, **settings):
        """Starts the fake with settings (Settings fields, plus tls_cert/tls_key for HTTPS, quiet=True)."""
        args = [python or sys.executable, os.path.abspath(__file__), "--port-file", port_file]
        for key, value in settings.items():
            if isinstance(value, bool):
                if value:
                    args.append("--" + key.replace("_", "-"))
                continue
            args += ["--" + key.replace("_", "-"), json.dumps(value) if isinstance(value, dict) else str(value)]
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
                    return cls(proc, int(f.read().strip()), port_file, tls=bool(settings.get("tls_cert")))
            except (FileNotFoundError, ValueError):
                time.sleep(0.05)
        proc.kill()
        proc.wait()
        raise RuntimeError("fakeaws did not announce its port within %ss" % timeout)

    def _call(self, method, what, payload=None):
        data = json.dumps(payload).encode() if payload is not None else None
        req = urllib.request.Request(self.url + CONTROL_PREFIX + what, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        ctx = None
        if self.tls:   # the control channel does not care which certificate the test serves
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        with urllib.request.urlopen(req, timeout=5, context=ctx) as r:
            return json.load(r)

    def set_mode(self, mode_name=None, **settings):
        """Sets the default mode and settings."""
        if mode_name is not None:
            settings["mode"] = mode_name
        return self._call("POST", "mode", settings)

    def queue(self, mode_name, count=1, registry_id="", **settings):
        """Answers the next count requests (for registry_id only, if given) with mode_name."""
        return self._call("POST", "next", dict(settings, mode=mode_name, count=count, registry_id=registry_id))

    def stats(self):
        return self._call("GET", "stats")

    def log(self, kind="request"):
        """The request log (entries of kind, or all for None), oldest first. Connections that carried
        control requests (this client's own) are left out."""
        return [e for e in self._call("GET", "log")["log"]
                if (kind is None or e["kind"] == kind) and not e.get("control")]

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
    # One option per setting: --mode, --password, --expires-in, --error-type, ..., --tls-cert.
    for f in dataclasses.fields(Settings):
        default = getattr(defaults, f.name)
        opt = "--" + f.name.replace("_", "-")
        if f.name == "mode":
            p.add_argument(opt, default=default, choices=sorted(MODES))
        elif isinstance(default, dict):
            p.add_argument(opt, type=json.loads, default=default, help="JSON object")
        else:
            p.add_argument(opt, type=type(default), default=default)
    args = p.parse_args(argv)

    if not (args.bind.startswith("127.") or args.bind == "::1"):
        p.error("--bind must be a loopback address")
    settings = Settings(**{f.name: getattr(args, f.name) for f in dataclasses.fields(Settings)})
    if settings.tls_key and not settings.tls_cert:
        p.error("--tls-key needs --tls-cert")
    server = FakeAwsServer((args.bind, args.port), settings, quiet=args.quiet, tls=bool(settings.tls_cert))
    if server.tls:
        server.tls_context()   # fail now on a bad certificate
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
