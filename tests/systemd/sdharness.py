# SPDX-License-Identifier: MIT
"""Test harness: a private systemd to run ecr-token-refresh's units under, plus TAP output.

PrivateSystemd boots /lib/systemd/systemd as PID 1 of new PID, mount and cgroup namespaces, with
private tmpfs on /run, /tmp, /var/tmp, /var/lib, /var/log, /var/cache, /etc/systemd/system and /dev,
private copies of /etc/passwd and /etc/group (with the ecr-token-refresh user added by
systemd-sysusers from our sysusers.d snippet), and its own cgroup subtree. The host's files, users,
cgroups, journal and /dev/log are left alone; the default target is an empty test.target that starts
only journald. The test's work directory is bind-mounted at /run/ecr-test inside, before /tmp is
covered, so it may live under /tmp. Units under test go to /run/systemd/system inside.

It needs root; run_tests() prints "1..0 # SKIP needs root" otherwise. Run one script by hand with
    sudo ECR_TOKEN_REFRESH=$PWD/ecr-token-refresh tests/systemd/test-start.py
and ECR_TEST_KEEP=1 to keep its work directory (pid1.log, fakeaws port files) for a look afterwards.
"""

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
TOP_SRCDIR = os.environ.get("top_srcdir") or os.path.dirname(os.path.dirname(HERE))
TOP_BUILDDIR = os.environ.get("top_builddir") or TOP_SRCDIR
UNIT_SRCDIR = os.path.join(TOP_SRCDIR, "systemd")
sys.path.insert(0, os.path.dirname(HERE))   # tests/, for fakeaws
from fakeaws import FakeAwsProcess           # noqa: E402

INNER_ROOT = "/run/ecr-test"          # the work directory, as seen inside
INNER_SBINDIR = INNER_ROOT + "/sbin"
INNER_SYSCONFDIR = INNER_ROOT + "/etc"
STATE_DIR = "/var/lib/ecr-token-refresh"
UNIT_DIR = "/run/systemd/system"
SERVICE = "ecr-token-refresh.service"
ONESHOT = "ecr-token-refresh-oneshot.service"
TIMER = "ecr-token-refresh-oneshot.timer"
UNIT_TEMPLATES = {SERVICE: "ecr-token-refresh.service.in",
                  ONESHOT: "ecr-token-refresh-oneshot.service.in",
                  TIMER: "ecr-token-refresh-oneshot.timer.in"}
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLEEXAMPLE01",
                    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                    "AWS_EC2_METADATA_DISABLED": "true"}


# --------------------------------------------------------------------------------------------------
# TAP

class Tap:
    """Minimal TAP producer; the plan is printed at the end, so a crash shows as a missing plan."""

    def __init__(self):
        self.count = 0
        self.failed = 0

    def ok(self, cond, description, diag=None):
        self.count += 1
        cond = bool(cond)
        if not cond:
            self.failed += 1
        print("%s %d - %s" % ("ok" if cond else "not ok", self.count, description), flush=True)
        if not cond and diag:
            self.diag(diag)
        return cond

    def is_(self, got, expected, description):
        return self.ok(got == expected, description, "got: %r\nexpected: %r" % (got, expected))

    def skip(self, description, reason):
        self.count += 1
        print("ok %d - %s # SKIP %s" % (self.count, description, reason), flush=True)

    def diag(self, text):
        for line in str(text).rstrip("\n").splitlines() or [""]:
            print("# " + line, flush=True)

    def done(self):
        print("1..%d" % self.count, flush=True)
        return 1 if self.failed else 0

    @staticmethod
    def skip_all(reason):
        print("1..0 # SKIP " + reason, flush=True)
        sys.exit(0)

    @staticmethod
    def bail_out(reason):
        print("Bail out! " + reason, flush=True)
        sys.exit(99)


class ScriptTimeout(Exception):
    pass


def _on_alarm(signum, frame):
    raise ScriptTimeout("the test script ran out of time")


def run_tests(body, root=True, binary=True, timeout=150):
    """Runs body(tap) as a TAP script: skips without root (or the daemon), reports a crash or
    running past timeout seconds as a failure with its traceback, and exits with the result."""
    if root:
        require_root()
    if binary:
        require_daemon_binary()
    tap = Tap()
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(timeout)
    try:
        body(tap)
    except Exception:
        tap.ok(False, "test script ran to its end", traceback.format_exc())
    finally:
        signal.alarm(0)
    sys.exit(tap.done())


def find_systemd():
    for path in ("/lib/systemd/systemd", "/usr/lib/systemd/systemd"):
        if os.access(path, os.X_OK):
            return path
    return None


def _is_sanitizer_build(binary):
    """Was binary built with AddressSanitizer (configure --enable-sanitizers)?"""
    try:
        with open(binary, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


def daemon_binary():
    """The built daemon: $ECR_TOKEN_REFRESH, else top_builddir/ecr-token-refresh."""
    return os.environ.get("ECR_TOKEN_REFRESH") or os.path.join(TOP_BUILDDIR, "ecr-token-refresh")


def require_daemon_binary():
    path = daemon_binary()
    if not os.access(path, os.X_OK):
        if os.environ.get("ECR_TOKEN_REFRESH"):
            Tap.bail_out("ECR_TOKEN_REFRESH=%s is not an executable" % path)
        Tap.skip_all("no built daemon at %s (set ECR_TOKEN_REFRESH)" % path)
    return path


def require_root():
    """Skips the whole script unless we can boot a private systemd."""
    if os.geteuid() != 0:
        Tap.skip_all("needs root")
    missing = [t for t in ("unshare", "nsenter", "systemctl", "systemd-analyze", "systemd-sysusers",
                           "setpriv", "mount") if not shutil.which(t)]
    if missing or not find_systemd():
        Tap.skip_all("missing %s" % (", ".join(missing) or "systemd"))


# --------------------------------------------------------------------------------------------------
# Units for the test

def expand_template(text, sbindir=INNER_SBINDIR, sysconfdir=INNER_SYSCONFDIR):
    """The same substitutions as systemd/systemd.am's systemd_edit, with the test's paths."""
    text = text.replace("@sbindir@", sbindir).replace("@sysconfdir@", sysconfdir)
    left = re.findall(r"@[A-Za-z_]+@", text)
    if left:
        raise ValueError("unexpanded placeholders %s: update expand_template() and systemd.am" % left)
    return text


def expanded_unit(name, **paths):
    with open(os.path.join(UNIT_SRCDIR, UNIT_TEMPLATES[name])) as f:
        return expand_template(f.read(), **paths)


def config_yaml(registries, interval="30m"):
    """registries: list of dicts with registryId, region, passwordFile, endpoint."""
    out = ["interval: %s" % interval, "registries:"]
    for r in registries:
        out.append('  - registryId: "%s"' % r["registryId"])
        for key in ("region", "passwordFile", "endpoint"):
            if key in r:
                out.append("    %s: %s" % (key, r[key]))
    return "\n".join(out) + "\n"


REGISTRY_IDS = ("123456789012", "210987654321", "111122223333")


def password_file(name):
    return "%s/%s.pass" % (STATE_DIR, name)


def service_config(endpoint, names=("a",), interval="30m"):
    """A config with one registry per name, each writing STATE_DIR/NAME.pass via endpoint."""
    return config_yaml([{"registryId": REGISTRY_IDS[i], "region": "us-west-2",
                         "passwordFile": password_file(n), "endpoint": endpoint}
                        for i, n in enumerate(names)], interval=interval)


# --------------------------------------------------------------------------------------------------
# The private systemd

def _run(args, timeout, **kw):
    return subprocess.run(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, timeout=timeout, **kw)


# v1 hierarchies systemd manages (cpuset is left out: a child needs cpus/mems before a process may
# join; systemd does not use it, nor freezer, on v1).
_V1_MANAGED = {"name=systemd", "memory", "pids", "devices", "cpu", "cpuacct", "blkio"}


def _cgroup_layout():
    """[(mountpoint, fstype, mount options, our cgroup)] for the hierarchies a private systemd uses."""
    mounts = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ", 1)
            fields, rfields = left.split(), right.split()
            if rfields[0] in ("cgroup", "cgroup2") and fields[3] == "/":
                mounts[fields[4]] = (rfields[0], set(rfields[2].split(",")))
    layout = []
    with open("/proc/self/cgroup") as f:
        for line in f:
            num, controllers, path = line.rstrip("\n").split(":", 2)
            wanted = set(controllers.split(",")) if controllers else set()
            for mnt, (fstype, superopts) in mounts.items():
                if num == "0" and fstype == "cgroup2":
                    layout.append((mnt, fstype, "", path))
                elif num != "0" and fstype == "cgroup" and wanted and wanted <= superopts \
                        and wanted & _V1_MANAGED:
                    opts = sorted(wanted)
                    if all(o.startswith("name=") for o in opts):
                        opts.insert(0, "none")
                    layout.append((mnt, fstype, ",".join(opts), path))
    return layout


WORKDIR_PREFIX = "ecr-systemd-test-"
CGROUP_PREFIX = "ecr-test-"


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _sweep_stale():
    """Removes the work directories and (empty) cgroups of earlier test processes that were killed
    before they could clean up; each name carries the PID of the test that made it."""
    for mnt, _, _, path in _cgroup_layout():
        parent = mnt + path
        with contextlib.suppress(OSError):
            for name in os.listdir(parent):
                m = re.fullmatch(re.escape(CGROUP_PREFIX) + r"(\d+)", name)
                if m and not _pid_alive(int(m.group(1))):
                    PrivateSystemd._remove_cgroup(os.path.join(parent, name), timeout=0)
    tmp = tempfile.gettempdir()
    with contextlib.suppress(OSError):
        for name in os.listdir(tmp):
            m = re.match(re.escape(WORKDIR_PREFIX) + r"(\d+)-", name)
            if m and not _pid_alive(int(m.group(1))):
                shutil.rmtree(os.path.join(tmp, name), ignore_errors=True)


BOOT_SCRIPT = r'''
set -e
# $1 is a file descriptor open on the work directory: bind it under the new /run before anything
# the directory may live in (/tmp, /run) is covered.
mount -n -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
mkdir -p /run/ecr-test
mount -n --bind /proc/self/fd/$1 /run/ecr-test
eval "exec $1<&-"
for d in /tmp /var/tmp; do mount -n -t tmpfs -o mode=1777,nosuid,nodev tmpfs $d; done
for d in /var/lib /var/log /var/cache /etc/systemd/system; do
    if [ -d $d ]; then mount -n -t tmpfs -o mode=0755,nosuid,nodev tmpfs $d; fi
done
mount -n --bind /run/ecr-test/sysroot/etc/passwd /etc/passwd
mount -n --bind /run/ecr-test/sysroot/etc/group /etc/group

# A private /dev, so that journald's /dev/log symlink and the like stay in here.
mount -n -t tmpfs -o mode=0755,nosuid,size=1m tmpfs /dev
mknod -m 0666 /dev/null c 1 3
mknod -m 0666 /dev/zero c 1 5
mknod -m 0666 /dev/full c 1 7
mknod -m 0666 /dev/random c 1 8
mknod -m 0666 /dev/urandom c 1 9
mknod -m 0666 /dev/tty c 5 0
mkdir /dev/pts /dev/shm
mount -n -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts /dev/pts
ln -s pts/ptmx /dev/ptmx
mount -n -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
ln -s /proc/self/fd /dev/fd
ln -s /proc/self/fd/0 /dev/stdin
ln -s /proc/self/fd/1 /dev/stdout
ln -s /proc/self/fd/2 /dev/stderr
touch /dev/console
mount -n --bind /dev/null /dev/console

# Cgroup hierarchies, rooted (by the cgroup namespace) at the subtree made for this boot.
@CGROUP_MOUNTS@

mkdir -p /run/systemd/system
# Our units pull in sysinit.target; mask what in it would reach past the namespaces (kernel
# parameters and modules, tmpfiles on shared file systems, users in the host's shadow files).
for u in systemd-sysctl.service systemd-modules-load.service systemd-binfmt.service \
         proc-sys-fs-binfmt_misc.automount systemd-tmpfiles-setup.service \
         systemd-tmpfiles-clean.service systemd-tmpfiles-clean.timer systemd-sysusers.service \
         systemd-firstboot.service systemd-machine-id-commit.service systemd-update-done.service \
         ldconfig.service systemd-hwdb-update.service systemd-journal-catalog-update.service \
         systemd-random-seed.service systemd-pstore.service systemd-repart.service \
         systemd-remount-fs.service systemd-timesyncd.service; do
    ln -s /dev/null /run/systemd/system/$u
done
cat > /run/systemd/system/test.target <<'EOF'
[Unit]
Description=ecr-token-refresh test target
Wants=systemd-journald.socket systemd-journald.service
After=systemd-journald.socket systemd-journald.service
EOF
export container=unshare
exec @SYSTEMD@ --system --unit=test.target
'''


class PrivateSystemd:
    """A private systemd. Use as a context manager; shutdown() is also registered for signals."""

    def __init__(self, tap=None, keep=None):
        self.tap = tap
        self.keep = os.environ.get("ECR_TEST_KEEP") == "1" if keep is None else keep
        _sweep_stale()
        self.workdir = tempfile.mkdtemp(prefix="%s%d-" % (WORKDIR_PREFIX, os.getpid()))
        os.chmod(self.workdir, 0o755)   # the service user must reach sbin/ and etc/ inside
        for d in ("sbin", "etc/ecr-token-refresh", "sysroot/etc"):
            os.makedirs(os.path.join(self.workdir, d))
        self.proc = None
        self.pid1 = None
        self.cgroups = []
        self.fakes = []

    # -- life cycle ----------------------------------------------------------------------------
    def __enter__(self):
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        try:
            self.boot()
        except BaseException:
            self.shutdown()
            raise
        return self

    def __exit__(self, *exc):
        self.shutdown()
        return False

    def _on_signal(self, signum, frame):
        raise SystemExit(128 + signum)

    def _make_users(self):
        sysroot = os.path.join(self.workdir, "sysroot")
        for name in ("passwd", "group"):
            shutil.copy2("/etc/" + name, os.path.join(sysroot, "etc", name))
        r = _run(["systemd-sysusers", "--root=" + sysroot,
                  os.path.join(UNIT_SRCDIR, "ecr-token-refresh.sysusers")], timeout=30)
        if r.returncode != 0:
            raise RuntimeError("systemd-sysusers failed: " + r.stdout)
        for name in ("shadow", "gshadow"):   # written by sysusers, not used inside
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(sysroot, "etc", name))

    def _make_cgroups(self):
        tag = CGROUP_PREFIX + str(os.getpid())
        lines, procs = [], []
        layout = _cgroup_layout()
        hybrid = any(m.startswith("/sys/fs/cgroup/") for m, *_ in layout)
        if hybrid:
            lines.append("mount -n -t tmpfs -o mode=0755,nosuid,nodev,noexec cgroup /sys/fs/cgroup")
        for mnt, fstype, opts, path in layout:
            d = os.path.join(mnt + path, tag)
            os.makedirs(d, exist_ok=True)
            self.cgroups.append(d)
            procs.append(os.path.join(d, "cgroup.procs"))
            o = " -o " + opts if opts else ""
            lines.append("mkdir -p %s && mount -n -t %s%s %s %s" % (mnt, fstype, o, fstype, mnt))
        return "\n".join(lines), procs

    def boot(self, timeout=30):
        self._make_users()
        mounts, procs = self._make_cgroups()
        script = BOOT_SCRIPT.replace("@CGROUP_MOUNTS@", mounts).replace("@SYSTEMD@", find_systemd())
        # Move into our cgroups, then unshare. setpriv: if this test dies, unshare dies, and
        # --kill-child takes PID 1 (and with it the whole namespace) along.
        mover = "".join('echo $$ > "%s" && ' % p for p in procs)
        wd_fd = os.open(self.workdir, os.O_RDONLY | os.O_DIRECTORY)
        log = open(os.path.join(self.workdir, "pid1.log"), "w")
        try:
            self.proc = subprocess.Popen(
                ["setpriv", "--pdeathsig", "KILL", "--", "sh", "-c",
                 mover + 'exec unshare --pid --mount --mount-proc --cgroup --kill-child=SIGKILL '
                 'sh -c "$1" boot "$2"', "mover", script, str(wd_fd)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                pass_fds=(wd_fd,), start_new_session=True)
        finally:
            os.close(wd_fd)
            log.close()
        deadline = time.monotonic() + timeout
        while self.pid1 is None:
            self.pid1 = self._find_child(self.proc.pid)
            if self.pid1 is None:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("private systemd did not start:\n" + self.pid1_log())
                time.sleep(0.05)
        state = ""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("private systemd exited:\n" + self.pid1_log())
            try:
                state = self.run(["systemctl", "is-system-running"], timeout=5).stdout.strip()
            except subprocess.TimeoutExpired:
                state = "timeout"
            if state in ("running", "degraded"):
                return
            time.sleep(0.1)
        raise RuntimeError("private systemd not up within %ss (state %r):\n%s" % (timeout, state, self.pid1_log()))

    @staticmethod
    def _find_child(ppid):
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % entry) as f:
                    stat = f.read()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[1]) == ppid:
                try:
                    exe = os.readlink("/proc/%s/exe" % entry)
                except OSError:
                    continue
                if exe.endswith("/systemd"):   # the inner sh has exec'd systemd
                    return int(entry)
        return None

    def pid1_log(self):
        try:
            with open(os.path.join(self.workdir, "pid1.log")) as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def shutdown(self, timeout=20):
        for fake in self.fakes:
            fake.stop()
        self.fakes = []
        if self.proc is not None and self.proc.poll() is None:
            if self.pid1 is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid1, signal.SIGRTMIN + 4)   # systemd: start poweroff.target
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                if self.tap:
                    self.tap.diag("private systemd did not power off in %ss; killing it" % timeout)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid1 or self.proc.pid, signal.SIGKILL)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(10)
        self.proc = None
        for d in reversed(self.cgroups):
            self._remove_cgroup(d)
        self.cgroups = []
        if self.workdir and not self.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)
        elif self.workdir and self.tap:
            self.tap.diag("kept " + self.workdir)
        self.workdir = None

    @staticmethod
    def _remove_cgroup(top, timeout=5):
        deadline = time.monotonic() + timeout
        while True:
            leftover = []
            for root, dirs, files in os.walk(top, topdown=False):
                try:
                    os.rmdir(root)
                except FileNotFoundError:
                    pass
                except OSError:
                    leftover.append(root)
            if not leftover or time.monotonic() > deadline:
                return
            time.sleep(0.1)

    # -- running things inside -----------------------------------------------------------------
    def run(self, args, timeout=30, check=False, env=None):
        """Runs args inside (mount + PID namespace). Returns CompletedProcess, output merged."""
        e = dict(os.environ, SYSTEMD_COLORS="0", SYSTEMD_PAGER="", SYSTEMD_LOG_COLOR="0",
                 LC_ALL="C.UTF-8")
        e.update(env or {})
        r = _run(["nsenter", "-t", str(self.pid1), "-m", "-p", "--"] + list(args), timeout=timeout, env=e)
        if check and r.returncode != 0:
            raise RuntimeError("%s failed (%d):\n%s" % (" ".join(args), r.returncode, r.stdout))
        return r

    def systemctl(self, *args, timeout=30, check=False):
        return self.run(["systemctl", "--no-pager", "--no-ask-password"] + list(args),
                        timeout=timeout, check=check)

    def show(self, unit, *props):
        r = self.systemctl("show", unit, "-p", ",".join(props), check=True)
        out = {}
        for line in r.stdout.splitlines():
            if "=" in line:
                k, v = line.split("=", 1)
                out[k] = out[k] + "\n" + v if k in out else v   # ExecReload= etc. repeat
        return out

    def prop(self, unit, name):
        return self.show(unit, name).get(name, "")

    def journal(self, unit=None, lines=200, after=None):
        """The last lines of the journal (of unit), or those after the cursor `after`."""
        args = ["journalctl", "--no-pager", "-o", "short-monotonic", "-n", str(lines)]
        if unit:
            args += ["-u", unit]
        if after:
            args += ["--after-cursor=" + after]
        return self.run(args, timeout=15).stdout

    def journal_cursor(self):
        """A cursor for journal(after=...): the journal's current end."""
        out = self.run(["journalctl", "--no-pager", "-n", "1", "-o", "cat", "--show-cursor"], timeout=15).stdout
        m = re.search(r"^-- cursor: (\S+)", out, re.M)
        return m.group(1) if m else None

    def wait_for(self, predicate, timeout, interval=0.1):
        """Polls predicate() until it is truthy (returns it) or timeout seconds pass (returns it)."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value or time.monotonic() >= deadline:
                return value
            time.sleep(interval)

    # -- files ---------------------------------------------------------------------------------
    def host_path(self, inner):
        """Where an absolute path inside can be reached from the host."""
        if inner == INNER_ROOT or inner.startswith(INNER_ROOT + "/"):
            return self.workdir + inner[len(INNER_ROOT):]
        return "/proc/%d/root%s" % (self.pid1, inner)

    def write(self, inner, text, mode=0o644):
        path = self.host_path(inner)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = path + ".tmp~"
        with open(tmp, "w") as f:
            f.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)

    def read(self, inner):
        """(text, st_mode, owner name, group name) of a file inside, or None if it does not exist."""
        path = self.host_path(inner)
        try:
            with open(path) as f:
                text = f.read()
            st = os.stat(path)
        except FileNotFoundError:
            return None
        return text, st.st_mode & 0o7777, self.user_name(st.st_uid), self.group_name(st.st_gid)

    def user_name(self, uid):
        return self._lookup("passwd", uid)

    def group_name(self, gid):
        return self._lookup("group", gid)

    def _lookup(self, db, ident):
        with open(os.path.join(self.workdir, "sysroot/etc", db)) as f:
            for line in f:
                fields = line.split(":")
                if len(fields) > 2 and fields[2] == str(ident):
                    return fields[0]
        return str(ident)

    # -- the units under test ------------------------------------------------------------------
    def install_daemon(self, binary=None):
        dst = os.path.join(self.workdir, "sbin", "ecr-token-refresh")
        shutil.copy2(binary or daemon_binary(), dst)
        os.chmod(dst, 0o755)

    def install_units(self, names=(SERVICE, ONESHOT, TIMER)):
        for name in names:
            self.write(UNIT_DIR + "/" + name, expanded_unit(name))

    def drop_in(self, unit, text, name="50-test.conf"):
        self.write("%s/%s.d/%s" % (UNIT_DIR, unit, name), text)

    def credentials_drop_in(self, unit, extra=""):
        env = "".join('Environment="%s=%s"\n' % kv for kv in FAKE_CREDENTIALS.items())
        if _is_sanitizer_build(os.path.join(self.workdir, "sbin", "ecr-token-refresh")):
            # LeakSanitizer stops the world with ptrace, which the unit's sandbox forbids ("LeakSanitizer
            # has encountered a fatal error", exit 1); the tests that run the daemon outside systemd
            # and tests/valgrind-daemon.sh check for leaks.
            env += 'Environment="ASAN_OPTIONS=detect_leaks=0"\n'
        self.drop_in(unit, "[Service]\n" + env + extra, name="40-credentials.conf")

    def write_config(self, text):
        self.write(INNER_SYSCONFDIR + "/ecr-token-refresh/config.yaml", text)

    def setup(self, fake, names=("a",), interval="30m", binary=None):
        """The daemon, all units (with fake credentials) and a config pointing at fake."""
        self.install_daemon(binary)
        self.install_units()
        for unit in (SERVICE, ONESHOT):
            self.credentials_drop_in(unit)
        self.write_config(service_config(fake.url, names, interval))
        self.daemon_reload()

    def daemon_reload(self):
        self.systemctl("daemon-reload", check=True, timeout=60)

    def start_fake(self, **settings):
        """Starts tests/fakeaws.py on the loopback (shared with the namespace); stopped at shutdown."""
        fake = FakeAwsProcess.start(os.path.join(self.workdir, "fakeaws-%d.port" % len(self.fakes)),
                                    **settings)
        self.fakes.append(fake)
        return fake

    def dump(self, *units):
        """Diagnostics for a failed check: unit state and journal."""
        if not self.tap:
            return
        for u in units:
            self.tap.diag(self.systemctl("status", u, "--lines=0").stdout)
        self.tap.diag(self.journal(lines=60))
