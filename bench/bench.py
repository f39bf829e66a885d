#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The benchmark behind bench/RESULTS.md; run it through bench/run.sh (see --help there).

Everything talks to tests/fakeaws.py (through bench/fake.py) on 127.0.0.1, over plain HTTP and over
HTTPS with a test CA made here with openssl(1). Transports:

  http          plain HTTP
  https-ca      HTTPS; the daemon gets AWS_CA_BUNDLE=ca.pem, the AWS CLI --ca-bundle ca.pem
  https-system  HTTPS verified against the system trust store, with the test CA added to it the way
                update-ca-certificates would (a copy of /etc/ssl/certs plus the CA, bind-mounted over
                /etc/ssl/certs in a mount namespace of this process's own; root only): what a real
                install pays

Sections (--only):
  cold       one refresh from a cold process start to the password file written: daemon --oneshot
             vs `aws ecr get-login-password > file`: wall time (hyperfine) and peak RSS (GNU time)
  footprint  the daemon between refreshes (/proc/PID/smaps_rollup) over many refresh cycles
  idle       CPU time and wake-ups of an idle daemon with WATCHDOG_USEC set
  scale      N registries against a fake with 100 ms latency: wall time vs ceil(N/8) x 100 ms (the
             issue's bound), vs ceil(ceil(N/10)/8) x 100 ms (10 registries share a request) and vs
             the serial N x 100 ms; also with one request per registry (an endpoint each)
  callgrind  instructions per refresh (valgrind --tool=callgrind)
"""

import argparse
import json
import math
import os
import platform
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TOP, "tests"))
import fakeaws  # noqa: E402

CONCURRENCY = 8          # CONFIG_CONCURRENCY_DEFAULT in src/config.h (the configs here leave it unset)
BATCH = 10               # ECR_MAX_REGISTRY_IDS in src/ecr.h: registries per GetAuthorizationToken
KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
PASSWORD = "bench-password"
REGION = "us-east-1"
AWS = "/usr/bin/aws"     # Debian's awscli, not one from pip in $PATH
TIME = "/usr/bin/time"

out = None               # the summary file


def say(*lines):
    for line in lines:
        print(line, flush=True)
        if out:
            out.write(line + "\n")
            out.flush()


def note(line):
    print("# " + line, file=sys.stderr, flush=True)


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def mib(kib):
    return kib / 1024.0


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


class Bench:
    def __init__(self, args):
        self.args = args
        self.bin = os.path.abspath(args.bin)
        self.baseline = os.path.abspath(args.baseline) if args.baseline else None
        base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
        self.work = tempfile.mkdtemp(prefix="ecr-bench.", dir=base)
        self.home = os.path.join(self.work, "home")
        os.makedirs(self.home)
        # A clean environment: nothing from the caller's AWS_*, SSL_CERT_*, CURL_CA_BUNDLE, ~/.aws.
        self.env = {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": self.home,
            "LANG": "C.UTF-8",
            "AWS_ACCESS_KEY_ID": KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET,
            "AWS_CONFIG_FILE": os.path.join(self.home, "aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": os.path.join(self.home, "aws-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_PAGER": "",
        }
        self.fakes = {}
        self.transports = []
        self.hyperfine = shutil.which("hyperfine")
        self.results = {}

    # -- set-up ------------------------------------------------------------------------------------
    def setup(self):
        self.certs = fakeaws.make_test_certs(os.path.join(self.work, "certs"))
        self.transports = ["http", "https-ca"]
        if os.geteuid() != 0:
            note("https-system skipped: needs root (for a private mount namespace)")
        elif not self.args.no_system_trust and self.install_system_trust():
            self.transports.append("https-system")
        self.start_fake("http")
        self.start_fake("https")

    def install_system_trust(self):
        """/etc/ssl/certs as update-ca-certificates would leave it with the test CA in
        /usr/local/share/ca-certificates: a NAME.pem, its HASH.0 link, and one more entry in
        ca-certificates.crt. Bind-mounted: only this mount namespace sees it."""
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(0x00020000) != 0:   # CLONE_NEWNS: this process and its children only
            note("https-system skipped: unshare(CLONE_NEWNS): %s" % os.strerror(ctypes.get_errno()))
            return False
        run(["mount", "--make-rprivate", "/"])
        trust = os.path.join(self.work, "trust")
        run(["cp", "-a", "/etc/ssl/certs/.", trust])
        shutil.copy(self.certs["ca"], os.path.join(trust, "bench-test-ca.pem"))
        h = run(["openssl", "x509", "-hash", "-noout", "-in", self.certs["ca"]], capture_output=True,
                text=True).stdout.strip()
        n = 0
        while os.path.lexists(os.path.join(trust, "%s.%d" % (h, n))):
            n += 1
        os.symlink("bench-test-ca.pem", os.path.join(trust, "%s.%d" % (h, n)))
        with open(os.path.join(trust, "ca-certificates.crt"), "a") as f, open(self.certs["ca"]) as ca:
            f.write(ca.read())
        run(["mount", "--bind", trust, "/etc/ssl/certs"])
        return True

    def start_fake(self, scheme):
        port_file = os.path.join(self.work, "fake-%s.port" % scheme)
        args = [sys.executable, os.path.join(HERE, "fake.py"), "--quiet", "--port-file", port_file,
                "--password", PASSWORD]
        if scheme == "https":
            args += ["--tls-cert", self.certs["good"], "--tls-key", self.certs["good_key"]]
        log = open(os.path.join(self.work, "fake-%s.log" % scheme), "w")
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
                                preexec_fn=fakeaws._die_with_parent)
        for _ in range(200):
            if proc.poll() is not None:
                raise RuntimeError("bench/fake.py (%s) exited with %d" % (scheme, proc.returncode))
            try:
                with open(port_file) as f:
                    port = int(f.read().strip())
                break
            except (FileNotFoundError, ValueError):
                time.sleep(0.05)
        else:
            raise RuntimeError("bench/fake.py (%s) did not start" % scheme)
        self.fakes[scheme] = fakeaws.FakeAwsProcess(proc, port, port_file, tls=(scheme == "https"))

    def stop(self):
        for fake in self.fakes.values():
            fake.stop()
        if "https-system" in self.transports:
            subprocess.run(["umount", "/etc/ssl/certs"], stderr=subprocess.DEVNULL)

    def url(self, transport):
        return self.fakes["http" if transport == "http" else "https"].url

    def fake(self, transport):
        return self.fakes["http" if transport == "http" else "https"]

    def env_for(self, transport, extra=None):
        env = dict(self.env)
        if transport == "https-ca":
            env["AWS_CA_BUNDLE"] = self.certs["ca"]
        env.update(extra or {})
        return env

    def env_prefix(self, transport):
        """The variables that differ from the clean environment, for printing commands."""
        return "AWS_CA_BUNDLE=%s " % self.certs["ca"] if transport == "https-ca" else ""

    def write_config(self, name, transport, n, file_mode="0640", interval="30m", separate=False):
        """n registries of one region; with separate, each has an endpoint (URL path) of its own, so
        that none shares a GetAuthorizationToken request."""
        path = os.path.join(self.work, name + ".yaml")
        pwdir = os.path.join(self.work, "pw", name)
        os.makedirs(pwdir, exist_ok=True)
        lines = ["interval: %s" % interval, "registries:"]
        for i in range(n):
            lines += ['  - registryId: "%012d"' % (100000000000 + i),
                      "    region: %s" % REGION,
                      "    passwordFile: %s/%d.pass" % (pwdir, i),
                      '    fileMode: "%s"' % file_mode,
                      "    endpoint: %s%s" % (self.url(transport), "/r%d" % i if separate else "")]
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(tmp, path)
        return path, pwdir

    def check_files(self, pwdir, n):
        for i in range(n):
            with open(os.path.join(pwdir, "%d.pass" % i)) as f:
                if f.read() != PASSWORD:
                    raise RuntimeError("%s/%d.pass does not hold the password" % (pwdir, i))

    # -- measuring ---------------------------------------------------------------------------------
    def hyperfine_run(self, name, commands, env, runs, warmup):
        """commands: [(label, shell command)]. Returns {label: median seconds}."""
        if self.hyperfine:
            js = os.path.join(self.work, "hyperfine-%s.json" % name)
            cmd = [self.hyperfine, "--style", "basic", "--warmup", str(warmup), "--runs", str(runs),
                   "--export-json", js]
            for label, c in commands:
                cmd += ["-n", label, c]
            run(cmd, env=env, stdout=sys.stderr)
            with open(js) as f:
                data = json.load(f)
            return {r["command"]: median(r["times"]) for r in data["results"]}
        res = {}
        for label, c in commands:
            times = []
            for i in range(warmup + runs):
                t = time.perf_counter()
                run(["/bin/sh", "-c", c], env=env)
                if i >= warmup:
                    times.append(time.perf_counter() - t)
            res[label] = median(times)
        return res

    def peak_rss(self, argv, env, runs, stdout_path=None):
        """Median of GNU time's %M (maximum resident set size, KiB) over runs."""
        vals = []
        rss = os.path.join(self.work, "rss")
        for _ in range(runs):
            with open(stdout_path or os.devnull, "w") as so:
                run([TIME, "-f", "%M", "-o", rss] + argv, env=env, stdout=so, stderr=subprocess.DEVNULL)
            with open(rss) as f:
                vals.append(int(f.read().split()[-1]))
        return median(vals)

    # -- 1. cold start -----------------------------------------------------------------------------
    def cold(self):
        a = self.args
        say("", "## 1. One refresh, cold start to password file written", "",
            "Median of %d runs (hyperfine, %d warm-up runs%s) and median peak RSS of %d runs "
            "(`/usr/bin/time -f %%M`)." % (a.runs, a.warmup, "" if self.hyperfine else "; hyperfine missing: Python timing loop",
                                            a.rss_runs), "",
            "| transport | command | wall (median) | peak RSS (median) | CLI ÷ this: time | CLI ÷ this: RSS |",
            "|---|---|---:|---:|---:|---:|")
        cmds_shown = []
        for t in self.transports:
            cfg, pwdir = self.write_config("cold-" + t, t, 1)
            cli_out = os.path.join(self.work, "cli-%s.pass" % t)
            bins = [("ecr-token-refresh", self.bin)]
            if self.baseline:
                bins.append(("ecr-token-refresh (baseline)", self.baseline))
            daemon_argv = {label: [b, "--oneshot", "--config", cfg] for label, b in bins}
            cli_argv = [AWS, "ecr", "get-login-password", "--region", REGION, "--endpoint-url", self.url(t)]
            if t == "https-ca":
                cli_argv += ["--ca-bundle", self.certs["ca"]]
            elif t == "https-system":   # Debian's awscli trusts its own cacert.pem, not the system's
                cli_argv += ["--ca-bundle", "/etc/ssl/certs/ca-certificates.crt"]
            commands = [(label, shlex.join(argv)) for label, argv in daemon_argv.items()]
            commands.append(("aws ecr get-login-password", shlex.join(cli_argv) + " > " + shlex.quote(cli_out)))
            env = self.env_for(t)
            times = self.hyperfine_run("cold-" + t, commands, env, a.runs, a.warmup)
            self.check_files(pwdir, 1)
            with open(cli_out) as f:
                if f.read().strip() != PASSWORD:
                    raise RuntimeError("the AWS CLI did not print the password")
            rss = {label: self.peak_rss(argv, env, a.rss_runs) for label, argv in daemon_argv.items()}
            rss["aws ecr get-login-password"] = self.peak_rss(cli_argv, env, max(3, a.rss_runs // 2), cli_out)
            cli_t, cli_r = times["aws ecr get-login-password"], rss["aws ecr get-login-password"]
            for label, _ in commands:
                ratio_t = "" if label.startswith("aws") else "%.1f×" % (cli_t / times[label])
                ratio_r = "" if label.startswith("aws") else "%.1f×" % (cli_r / rss[label])
                say("| %s | %s | %.1f ms | %.1f MiB | %s | %s |" % (t, label, times[label] * 1e3, mib(rss[label]),
                                                                  ratio_t, ratio_r))
            self.results.setdefault("cold", {})[t] = {"time_s": times, "rss_kib": rss}
            for label, c in commands:
                cmds_shown.append("%s%s" % (self.env_prefix(t), c))
        say("", "Commands (clean environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, HOME=%s, "
                "AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE absent, AWS_EC2_METADATA_DISABLED=true):" % self.home, "")
        say(*["    " + c for c in cmds_shown])
        cold = self.results["cold"]
        if "http" in cold:
            say("", "Cost of one TLS connection (HTTPS minus HTTP, medians):", "")
            for t in self.transports[1:]:
                for label in cold[t]["time_s"]:
                    if label.startswith("aws"):
                        continue
                    say("- %s, %s: +%.1f ms, +%.1f MiB peak RSS" % (
                        label, t, (cold[t]["time_s"][label] - cold["http"]["time_s"][label]) * 1e3,
                        mib(cold[t]["rss_kib"][label] - cold["http"]["rss_kib"][label])))

    # -- daemon helpers ----------------------------------------------------------------------------
    def notify_socket(self):
        path = os.path.join(self.work, "notify-%d.sock" % time.monotonic_ns())
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind(path)
        return s, path

    @staticmethod
    def drain(sock):
        msgs = []
        sock.setblocking(False)
        try:
            while True:
                msgs.append(sock.recv(4096).decode(errors="replace"))
        except BlockingIOError:
            pass
        sock.setblocking(True)
        return msgs

    @staticmethod
    def wait_status(sock, proc, predicate, timeout):
        """Reads notify messages until one has a line for which predicate(line) is true."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError("timed out waiting for the daemon")
            if proc.poll() is not None:
                raise RuntimeError("the daemon exited with %d" % proc.returncode)
            sock.settimeout(min(left, 1.0))
            try:
                msg = sock.recv(4096).decode(errors="replace")
            except socket.timeout:
                continue
            for line in msg.splitlines():
                if line.startswith("STATUS=") and ("failed" in line or "retrying" in line):
                    raise RuntimeError("daemon: " + line)
                if predicate(line):
                    return line

    @staticmethod
    def proc_snapshot(pid):
        snap = {}
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 2 and parts[0].endswith(":") and parts[1].isdigit():
                    snap[parts[0][:-1]] = int(parts[1])
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM", "Threads", "voluntary_ctxt_switches", "nonvoluntary_ctxt_switches"):
                    snap[k] = int(v.split()[0])
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        tick = os.sysconf("SC_CLK_TCK")
        snap["cpu_ms"] = (int(fields[11]) + int(fields[12])) * 1000.0 / tick   # utime + stime
        with open("/proc/%d/schedstat" % pid) as f:
            snap["run_ns"] = int(f.read().split()[0])    # time on a CPU, in ns (all threads: one)
        snap["fds"] = len(os.listdir("/proc/%d/fd" % pid))
        snap["sockets"] = sum(1 for fd in os.listdir("/proc/%d/fd" % pid)
                              if os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith("socket:"))
        return snap

    def start_daemon(self, binary, cfg, env, extra_env=None):
        sock, path = self.notify_socket()
        env = dict(env, NOTIFY_SOCKET=path, **(extra_env or {}))
        log = open(cfg + ".log", "w")
        proc = subprocess.Popen([binary, "--config", cfg], env=env, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=log)
        return proc, sock

    @staticmethod
    def stop_daemon(proc, sock):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        sock.close()

    # -- 2. footprint ------------------------------------------------------------------------------
    def footprint_one(self, label, binary, t, cycles, regs, extra_env=None):
        """Refresh cycles driven by SIGHUP: the config alternates fileMode 0640/0600, so a reload
        replaces every registry's state and refreshes all of them at once (as a reload that changes
        registries does); a timer-driven cycle runs the same code but at most once a minute."""
        cfg_a, pwdir = self.write_config("fp-a", t, regs, "0640")
        cfg_b, _ = self.write_config("fp-b", t, regs, "0600")
        cfg = os.path.join(self.work, "fp.yaml")
        shutil.copy(cfg_a, cfg)
        fake = self.fake(t)
        fake.reset()
        proc, sock = self.start_daemon(binary, cfg, self.env_for(t), extra_env)
        snaps = {}
        marks = sorted({1, 10, cycles} | set(range(0, cycles + 1, max(1, cycles // 5))) - {0})
        marks = [m for m in marks if m <= cycles]
        t0 = time.monotonic()
        try:
            self.wait_status(sock, proc, lambda l: l == "READY=1", 60)
            for c in range(1, cycles + 1):
                if c > 1:
                    self.drain(sock)
                    shutil.copy(cfg_b if c % 2 == 0 else cfg_a, cfg + ".tmp")
                    os.replace(cfg + ".tmp", cfg)
                    proc.send_signal(signal.SIGHUP)
                    want = "STATUS=%d/%d registries fresh, next" % (regs, regs)
                    self.wait_status(sock, proc, lambda l: l.startswith(want), 120)
                if c in marks:
                    time.sleep(0.3)   # let the loop go idle
                    snaps[c] = self.proc_snapshot(proc.pid)
            requests = fake.stats()["requests"]
            self.check_files(pwdir, regs)
        finally:
            self.stop_daemon(proc, sock)
        elapsed = time.monotonic() - t0
        return {"snaps": snaps, "requests": requests, "elapsed": elapsed, "regs": regs, "cycles": cycles}

    def footprint(self):
        a = self.args
        t = self.transports[-1]
        tunable = {"GLIBC_TUNABLES": "glibc.malloc.tcache_count=0"}
        many = 10 * CONCURRENCY
        runs = [("ecr-token-refresh", self.bin, "http", many, a.refreshes // many, None),
                ("ecr-token-refresh", self.bin, t, many, a.refreshes // many, None),
                ("ecr-token-refresh, GLIBC_TUNABLES=glibc.malloc.tcache_count=0", self.bin, t, many,
                 a.refreshes // many, tunable),
                ("ecr-token-refresh", self.bin, t, 1, a.single_cycles, None)]
        if self.baseline:
            runs.append(("baseline", self.baseline, t, many, a.baseline_cycles, None))
        say("", "## 2. Daemon footprint between refreshes", "",
            "Refresh cycles driven by SIGHUP: the config alternates fileMode 0640/0600, so each reload replaces "
            "every registry and refreshes it at once, %d requests at a time (a timer-driven cycle runs the same code, but "
            "at most once a minute). Snapshot 0.3 s after a cycle's last file was written "
            "(`/proc/PID/smaps_rollup`, `/proc/PID/status`); VmHWM is the peak so far. Commands: "
            "`NOTIFY_SOCKET=SOCK [GLIBC_TUNABLES=...] ecr-token-refresh --config fp.yaml`, then for each cycle "
            "`cp fp-a.yaml (or fp-b.yaml) fp.yaml; kill -HUP PID` and wait for `STATUS=N/N registries fresh, next "
            "refresh in ...` on SOCK." % CONCURRENCY, "",
            "| binary | transport | registries | after cycle | refreshes | Private_Dirty | Rss | Pss | VmHWM | threads | sockets |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for label, binary, tr, regs, cycles, extra in runs:
            r = self.footprint_one(label, binary, tr, max(cycles, 1), regs, extra)
            for c, snap in sorted(r["snaps"].items()):
                say("| %s | %s | %d | %d | %d | %.2f MiB | %.1f MiB | %.1f MiB | %.1f MiB | %d | %d |" % (
                    label, tr, regs, c, c * regs, mib(snap["Private_Dirty"]), mib(snap["Rss"]), mib(snap["Pss"]),
                    mib(snap["VmHWM"]), snap["Threads"], snap["sockets"]))
            c10 = min(r["snaps"], key=lambda c: abs(c - 10))
            last = max(r["snaps"])
            say("| | | | **Δ cycle %d → %d** | | **%+.0f KiB** | | | | | |" % (
                c10, last, r["snaps"][last]["Private_Dirty"] - r["snaps"][c10]["Private_Dirty"]))
            note("footprint %s %s: %d requests seen by the fake in %.1f s" % (label, tr, r["requests"], r["elapsed"]))
            self.results.setdefault("footprint", {})["%s/%s/%d" % (label, tr, regs)] = r

    # -- 3. idle -----------------------------------------------------------------------------------
    def idle(self):
        a = self.args
        t = self.transports[-1]
        wd_usec = 30 * 1000000   # WatchdogSec=30s, as in systemd/ecr-token-refresh.service.in
        say("", "## 3. Idle cost between refreshes", "",
            "One registry, interval 30m, over %s; WATCHDOG_USEC=%d (the unit's WatchdogSec=30s) and NOTIFY_SOCKET "
            "set; measured over %d s once the first refresh is done, extrapolated to an hour. Command: "
            "`WATCHDOG_USEC=%d NOTIFY_SOCKET=SOCK ecr-token-refresh --config idle.yaml`." % (
                t, wd_usec, a.idle_seconds, wd_usec),
            "", "| binary | CPU time / h | voluntary ctxt switches / h | involuntary / h | WATCHDOG=1 / h | other notify messages |",
            "|---|---:|---:|---:|---:|---|")
        expected = (3600.0 / (wd_usec * 0.75 / 1e6), 3600.0 / (wd_usec * 0.5 / 1e6))
        gap_notes = []
        bins = [("ecr-token-refresh", self.bin)] + ([("baseline", self.baseline)] if self.baseline and a.idle_baseline else [])
        for label, binary in bins:
            cfg, _ = self.write_config("idle", t, 1)
            proc, sock = self.start_daemon(binary, cfg, self.env_for(t), {"WATCHDOG_USEC": str(wd_usec)})
            try:
                self.wait_status(sock, proc, lambda l: l == "READY=1", 60)
                time.sleep(1)
                self.drain(sock)
                s0 = self.proc_snapshot(proc.pid)
                msgs, stamps = [], []
                end = time.monotonic() + a.idle_seconds
                while time.monotonic() < end:
                    sock.settimeout(max(0.01, end - time.monotonic()))
                    try:
                        msgs.append(sock.recv(4096).decode(errors="replace"))
                        stamps.append(time.monotonic())
                    except socket.timeout:
                        pass
                s1 = self.proc_snapshot(proc.pid)
            finally:
                self.stop_daemon(proc, sock)
            f = 3600.0 / a.idle_seconds
            pings = sum(m.splitlines().count("WATCHDOG=1") for m in msgs)
            gaps = [b - a_ for a_, b in zip(stamps, stamps[1:])]
            other = sorted({l for m in msgs for l in m.splitlines() if l != "WATCHDOG=1"})
            say("| %s | %.2f ms | %.0f | %.0f | %.0f | %s |" % (
                label, (s1["run_ns"] - s0["run_ns"]) / 1e6 * f,
                (s1["voluntary_ctxt_switches"] - s0["voluntary_ctxt_switches"]) * f,
                (s1["nonvoluntary_ctxt_switches"] - s0["nonvoluntary_ctxt_switches"]) * f,
                pings * f, ", ".join(other) or "none"))
            self.results.setdefault("idle", {})[label] = {"s0": s0, "s1": s1, "pings": pings, "other": other,
                                                          "gaps": gaps}
            if gaps:
                gap_notes.append("%s: %s s between notify messages" % (label, ", ".join("%.1f" % g for g in gaps)))
        say("", "CPU time is the run time in /proc/PID/schedstat (ns); wake-ups are voluntary context switches "
                "(/proc/PID/status). sd-event pings the watchdog between 1/2 and 3/4 of WATCHDOG_USEC after the last "
                "ping: %.0f–%.0f pings an hour; a %d s window holds %d to %d of them." % (
                    expected + (a.idle_seconds, int(a.idle_seconds / (wd_usec * 0.75 / 1e6)),
                                int(a.idle_seconds / (wd_usec * 0.5 / 1e6)) + 1)))
        if gap_notes:
            say("", *["- " + n for n in gap_notes])

    # -- 4. scale ----------------------------------------------------------------------------------
    def scale_runs(self, binary, cfg, t, runs):
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            run([binary, "--oneshot", "--config", cfg], env=self.env_for(t), stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
            times.append(time.perf_counter() - t0)
        return times

    def scale(self):
        a = self.args
        latency = 0.1
        say("", "## 4. Scale: N registries, %d ms latency per request" % (latency * 1000), "",
            "`ecr-token-refresh --oneshot` (cold start included) against the fake with `delay` %.1f s; median of the "
            "runs shown. Registries of one region and endpoint share requests of up to %d registry ids, %d requests "
            "at a time. Bounds: the issue's ceil(N / %d) × %d ms (one request per registry); per request "
            "ceil(ceil(N / %d) / %d) × %d ms (what is left to wait for once requests are shared); serial N × %d ms. "
            "Rows marked *one request each* give every registry an endpoint of its own (a URL path), so that none "
            "shares a request: that measures the concurrency alone against the issue's bound." % (
                latency, BATCH, CONCURRENCY, CONCURRENCY, latency * 1000, BATCH, CONCURRENCY, latency * 1000,
                latency * 1000), "",
            "| binary | transport | N | requests | runs | wall (median) | ÷ issue bound | ÷ per-request bound | ÷ serial |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|")

        def row(label, t, n, separate, times):
            requests = n if separate else math.ceil(n / BATCH)
            issue = math.ceil(n / CONCURRENCY) * latency
            per_request = math.ceil(requests / CONCURRENCY) * latency
            wall = median(times)
            say("| %s | %s | %d | %d | %d | %.0f ms | %.2f | %.2f | %.3f |" % (
                label, t, n, requests, len(times), wall * 1e3, wall / issue, wall / per_request, wall / (n * latency)))

        for fake in self.fakes.values():
            fake.set_mode(delay=latency)
        try:
            cases = [(t, n, False) for t in self.transports for n in a.scale]
            cases += [(self.transports[-1], n, True) for n in a.scale]
            for t, n, separate in cases:
                cfg, pwdir = self.write_config("scale-%s-%d%s" % (t, n, "-each" if separate else ""), t, n,
                                               separate=separate)
                runs = 5 if n <= 10 else 3 if n <= 100 else a.scale_big_runs
                times = self.scale_runs(self.bin, cfg, t, runs)
                self.check_files(pwdir, n)
                row("ecr-token-refresh" + (", one request each" if separate else ""), t, n, separate, times)
                self.results.setdefault("scale", {})["%s/%d%s" % (t, n, "/each" if separate else "")] = times
            if self.baseline:
                t = self.transports[-1]
                for n in [n for n in a.scale if n <= 100]:
                    for separate in (False, True):
                        cfg, pwdir = self.write_config("scale-%s-%d%s" % (t, n, "-each" if separate else ""), t, n,
                                                       separate=separate)
                        row("baseline" + (", one request each" if separate else ""), t, n, separate,
                            self.scale_runs(self.baseline, cfg, t, 3))
        finally:
            for fake in self.fakes.values():
                fake.set_mode(delay=0.0)
        say("", "Command: `ecr-token-refresh --oneshot --config scale-TRANSPORT-N[-each].yaml` (https-ca: with "
                "AWS_CA_BUNDLE).")

    # -- 5. callgrind ------------------------------------------------------------------------------
    def callgrind_ir(self, binary, cfg, env, tag):
        outf = os.path.join(self.work, "callgrind.%s.out" % tag)
        run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + outf, binary, "--oneshot", "--config", cfg],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(outf) as f:
            for line in f:
                if line.startswith(("summary:", "totals:")):
                    return int(line.split()[1])
        raise RuntimeError("no totals in " + outf)

    def callgrind(self):
        if not shutil.which("valgrind"):
            say("", "## 5. Instructions per refresh", "", "valgrind is missing (apt-get install valgrind): skipped.")
            return
        ns = (1, 10, 100)
        say("", "## 5. Instructions per refresh (callgrind, no latency)", "",
            "Total instructions of `valgrind --tool=callgrind ecr-token-refresh --oneshot --config C` with N registries; "
            "per refresh = (I(100) − I(10)) / 90 (steady state: connections are reused), "
            "first = I(1) (process start, config, one connection, one refresh).", "",
            "| binary | transport | I(1) | I(10) | I(100) | per refresh |", "|---|---|---:|---:|---:|---:|")
        bins = [("ecr-token-refresh", self.bin, ns)] + ([("baseline", self.baseline, ns)] if self.baseline else [])
        for label, binary, ns_ in bins:
            for t in self.transports:
                ir = {}
                for n in ns_:
                    cfg, pwdir = self.write_config("cg-%s-%d" % (t, n), t, n)
                    ir[n] = self.callgrind_ir(binary, cfg, self.env_for(t), "%s-%s-%d" % (label.replace(" ", "_"), t, n))
                    self.check_files(pwdir, n)
                if len(ir) == 1:
                    say("| %s | %s | %.1f M | | | |" % (label, t, ir[1] / 1e6))
                else:
                    say("| %s | %s | %.1f M | %.1f M | %.1f M | %.2f M |" % (label, t, ir[1] / 1e6, ir[10] / 1e6,
                                                                          ir[100] / 1e6, (ir[100] - ir[10]) / 90e6))
                self.results.setdefault("callgrind", {})["%s/%s" % (label, t)] = ir
        cg = self.results["callgrind"]
        say("", "One TLS connection, in instructions: I(1) over HTTPS minus I(1) over HTTP.", "")
        for label, _, _ in bins:
            for t in self.transports[1:]:
                say("- %s, %s: %.1f M" % (label, t, (cg["%s/%s" % (label, t)][1] - cg["%s/http" % label][1]) / 1e6))

    # -- report ------------------------------------------------------------------------------------
    def machine(self):
        def cmd(*c):
            try:
                return subprocess.run(c, capture_output=True, text=True, env=self.env).stdout.strip()
            except OSError:
                return "?"
        cpu = "?"
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            mem = int(f.readline().split()[1]) // 1024
        osr = "?"
        if os.path.exists("/etc/os-release"):
            with open("/etc/os-release") as f:
                osr = dict(l.rstrip("\n").split("=", 1) for l in f if "=" in l).get("PRETTY_NAME", "?").strip('"')
        curl = cmd("dpkg-query", "-W", "-f", "${Version}", "libcurl3-gnutls")
        gnutls = cmd("dpkg-query", "-W", "-f", "${Version}", "libgnutls30")
        say("# ecr-token-refresh benchmark", "",
            "- machine: %s, %d CPUs, %d MiB RAM, %s, kernel %s" % (cpu, os.cpu_count(), mem, osr, platform.release()),
            "- daemon: %s (%s); libcurl3-gnutls %s, libgnutls30 %s" % (self.bin, cmd(self.bin, "--version"), curl, gnutls),
            "- baseline: %s" % (self.baseline or "none"),
            "- AWS CLI: %s (%s)" % (AWS, cmd(AWS, "--version")),
            "- endpoint: bench/fake.py (tests/fakeaws.py, Nagle off) on 127.0.0.1; test CA by openssl; files on %s" % self.work,
            "- hyperfine: %s; valgrind: %s" % (cmd("hyperfine", "--version") if self.hyperfine else "missing",
                                             cmd("valgrind", "--version") if shutil.which("valgrind") else "missing"),
            "- transports: %s" % ", ".join(self.transports))


def main():
    global out
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", default=os.path.join(TOP, "ecr-token-refresh"))
    p.add_argument("--baseline", help="another ecr-token-refresh binary to measure alongside (e.g. before a change)")
    p.add_argument("--only", default="cold,footprint,idle,scale,callgrind")
    p.add_argument("--out", help="write the summary (Markdown) and raw results (JSON) here")
    p.add_argument("--no-system-trust", action="store_true", help="skip https-system (it needs root)")
    p.add_argument("--runs", type=int, default=15)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--rss-runs", type=int, default=10)
    p.add_argument("--refreshes", type=int, default=10000, help="footprint: refreshes per run (cycles of 80)")
    p.add_argument("--single-cycles", type=int, default=300, help="footprint: cycles of one registry")
    p.add_argument("--baseline-cycles", type=int, default=20)
    p.add_argument("--idle-seconds", type=int, default=60)
    p.add_argument("--idle-baseline", action="store_true", help="also measure the baseline's idle cost")
    p.add_argument("--scale", type=lambda s: [int(x) for x in s.split(",")], default=[10, 100, 1000])
    p.add_argument("--scale-big-runs", type=int, default=2)
    p.add_argument("--quick", action="store_true", help="fewer runs and cycles (a smoke test, ~2 min)")
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    a = p.parse_args()
    if a.quick:
        a.runs, a.warmup, a.rss_runs, a.refreshes, a.single_cycles, a.baseline_cycles = 5, 1, 3, 800, 20, 5
        a.idle_seconds, a.scale, a.scale_big_runs = 25, [10, 100], 1
    if not os.access(a.bin, os.X_OK):
        sys.exit("%s: not built (run make first, or pass --bin)" % a.bin)
    for tool in (AWS, TIME):
        if not os.access(tool, os.X_OK):
            sys.exit("%s is missing: apt-get install awscli time hyperfine valgrind" % tool)

    b = Bench(a)
    outdir = a.out or tempfile.mkdtemp(prefix="ecr-bench-results.")
    os.makedirs(outdir, exist_ok=True)
    summary = os.path.join(outdir, "summary.md")
    out = open(summary, "w")
    t0 = time.monotonic()
    try:
        b.setup()
        b.machine()
        for section in a.only.split(","):
            getattr(b, section)()
        say("", "Total benchmark time: %.0f s." % (time.monotonic() - t0))
    finally:
        b.stop()
        with open(os.path.join(outdir, "results.json"), "w") as f:
            json.dump(b.results, f, indent=1, default=str)
        if a.keep:
            note("work directory kept: %s" % b.work)
        else:
            shutil.rmtree(b.work, ignore_errors=True)
    note("summary written to %s" % summary)


if __name__ == "__main__":
    main()
