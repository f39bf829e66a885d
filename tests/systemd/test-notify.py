#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The sd_notify protocol without systemd: this script binds the NOTIFY_SOCKET itself, sets
WATCHDOG_USEC / WATCHDOG_PID, runs the daemon against tests/fakeaws.py and checks what it says and
when: READY=1 only once the password file is written, STATUS=, WATCHDOG=1 keeping time,
RELOADING=1 + MONOTONIC_USEC then READY=1 on SIGHUP, STOPPING=1 and exit 0 on SIGTERM (also while a
request hangs), STATUS= + ERRNO= and exit 78 for a broken config. Needs neither root nor systemd."""

import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sdharness as h  # noqa: E402

WATCHDOG_USEC = 2000000
PASSWORD = "pw-notify-%d" % os.getpid()


def monotonic_usec():
    return int(time.clock_gettime(time.CLOCK_MONOTONIC) * 1000000)


class Notify:
    """The receiving end of NOTIFY_SOCKET: datagrams with the sender's credentials."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.messages = []   # (monotonic usec, sender pid, {key: value})

    def receive(self, timeout):
        """The next message, or None after timeout seconds."""
        self.sock.settimeout(max(timeout, 0.001))
        try:
            data, anc, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(struct.calcsize("iII")))
        except socket.timeout:
            return None
        pid = None
        for level, kind, cdata in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = struct.unpack("iII", cdata[:struct.calcsize("iII")])[0]
        fields = dict(line.split("=", 1) for line in data.decode("utf-8", "replace").split("\n") if "=" in line)
        msg = (monotonic_usec(), pid, fields)
        self.messages.append(msg)
        return msg

    def wait_for(self, key, value=None, timeout=30):
        """Receives until a message has key (= value); returns it, or None."""
        deadline = time.monotonic() + timeout
        while True:
            msg = self.receive(deadline - time.monotonic())
            if msg is None:
                return None
            if key in msg[2] and (value is None or msg[2][key] == value):
                return msg

    def close(self):
        self.sock.close()


class Run:
    """One daemon process with its own notify socket, config and password directory."""

    def __init__(self, tmp, config, name):
        self.dir = os.path.join(tmp, name)
        os.makedirs(self.dir)
        self.notify = Notify(os.path.join(self.dir, "notify"))
        self.config = os.path.join(self.dir, "config.yaml")
        with open(self.config, "w") as f:
            f.write(config.replace("@DIR@", self.dir))
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("NOTIFY_", "WATCHDOG_", "LISTEN_", "AWS_"))}
        env.update(h.FAKE_CREDENTIALS, NOTIFY_SOCKET=self.notify.path, WATCHDOG_USEC=str(WATCHDOG_USEC),
                   HOME=self.dir)
        self.log = open(os.path.join(self.dir, "daemon.log"), "w+")
        # WATCHDOG_PID must be the daemon's own PID: set it in a shell that then execs the daemon.
        self.proc = subprocess.Popen(
            ["sh", "-c", 'WATCHDOG_PID=$$ exec "$0" "$@"', h.daemon_binary(), "--config", self.config],
            env=env, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)

    def password(self):
        try:
            with open(os.path.join(self.dir, "a.pass")) as f:
                return f.read()
        except FileNotFoundError:
            return None

    def output(self):
        self.log.seek(0)
        return self.log.read()[-3000:]

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.notify.close()
        self.log.close()


def config_for(fake, interval="30m"):
    return h.config_yaml([{"registryId": h.REGISTRY_IDS[0], "region": "us-west-2",
                           "passwordFile": "@DIR@/a.pass", "endpoint": fake.url}], interval=interval)


def check_lifecycle(tap, tmp, fake):
    run = Run(tmp, config_for(fake), "lifecycle")
    try:
        ready = run.notify.wait_for("READY", "1", timeout=30)
        # Look at the file right away: READY=1 must come after it is written.
        text = run.password()
        if not tap.ok(ready, "READY=1 is sent", run.output()):
            return
        tap.is_(text, PASSWORD, "the password file is written before READY=1")
        status = [m[2]["STATUS"] for m in run.notify.messages if "STATUS" in m[2]]
        tap.ok(status and "1/1" in status[-1], "STATUS= with the registry counts comes with or before READY=1",
               str(status))
        tap.diag("STATUS=%s" % (status[-1] if status else None))

        t0 = time.monotonic()
        while time.monotonic() - t0 < 4.5:
            run.notify.receive(4.5 - (time.monotonic() - t0))
        pings = [m[0] for m in run.notify.messages if m[2].get("WATCHDOG") == "1"]
        gaps = [b - a for a, b in zip(pings, pings[1:])]
        tap.ok(len(pings) >= 3 and max(gaps) < WATCHDOG_USEC,
               "WATCHDOG=1 repeats within WATCHDOG_USEC (%d pings, largest gap %.2fs)"
               % (len(pings), max(gaps or [0]) / 1e6))

        before = monotonic_usec()
        run.proc.send_signal(signal.SIGHUP)
        reloading = run.notify.wait_for("RELOADING", "1", timeout=10)
        tap.ok(reloading, "SIGHUP: RELOADING=1 is sent", run.output())
        if reloading:
            stamp = reloading[2].get("MONOTONIC_USEC", "")
            tap.ok(stamp.isdigit() and before <= int(stamp) <= reloading[0],
                   "SIGHUP: MONOTONIC_USEC= comes with it and is the time of the reload",
                   "before=%d MONOTONIC_USEC=%s received=%d" % (before, stamp, reloading[0]))
            tap.ok(run.notify.wait_for("READY", "1", timeout=30), "SIGHUP: READY=1 follows", run.output())

        run.proc.send_signal(signal.SIGTERM)
        tap.ok(run.notify.wait_for("STOPPING", "1", timeout=5), "SIGTERM: STOPPING=1 is sent", run.output())
        tap.is_(run.wait(5), 0, "SIGTERM: the daemon exits 0")

        senders = {m[1] for m in run.notify.messages}
        tap.is_(senders, {run.proc.pid}, "every message comes from the main process")
        everything = "".join(repr(m[2]) for m in run.notify.messages)
        tap.ok(PASSWORD not in everything and h.FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"] not in everything,
               "no secret in any notify message")
    finally:
        run.close()


def check_stop_while_hanging(tap, tmp, fake):
    fake.set_mode("hang")
    requests = fake.stats()["requests"]
    run = Run(tmp, config_for(fake), "hang")
    try:
        t0 = time.monotonic()
        while fake.stats()["requests"] == requests and time.monotonic() - t0 < 10:
            run.notify.receive(0.1)
        tap.ok(fake.stats()["requests"] > requests, "hang: the first request is in flight")
        run.proc.send_signal(signal.SIGTERM)
        t0 = time.monotonic()
        tap.ok(run.notify.wait_for("STOPPING", "1", timeout=5), "hang: SIGTERM sends STOPPING=1", run.output())
        code = run.wait(5)
        tap.ok(code == 0, "hang: the daemon exits 0 within 5s of SIGTERM (%.1fs)" % (time.monotonic() - t0),
               "exit %r\n%s" % (code, run.output()))
    finally:
        run.close()
        fake.set_mode("ok")


def check_config_error(tap, tmp):
    run = Run(tmp, "interval: 30m\nregistries:\n  - registryId: \"12\"\n    region: us-west-2\n"
              "    passwordFile: @DIR@/a.pass\n", "broken")
    try:
        code = run.wait(10)
        while run.notify.receive(0.2):
            pass
        tap.is_(code, 78, "broken config: exit status 78")
        fields = {}
        for m in run.notify.messages:
            fields.update(m[2])
        tap.ok(fields.get("STATUS") and fields.get("ERRNO", "").isdigit() and int(fields["ERRNO"]) > 0,
               "broken config: STATUS= and ERRNO= say why", str(fields))
        tap.ok("READY" not in fields, "broken config: no READY=1", str(fields))
    finally:
        run.close()


def body(tap):
    tmp = tempfile.mkdtemp(prefix="ecr-notify-test-")
    fake = None
    try:
        fake = h.FakeAwsProcess.start(os.path.join(tmp, "fakeaws.port"), mode="ok", password=PASSWORD)
        check_lifecycle(tap, tmp, fake)
        check_stop_while_hanging(tap, tmp, fake)
        check_config_error(tap, tmp)
    finally:
        if fake:
            fake.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    h.run_tests(body, root=False)
