# SPDX-License-Identifier: MIT
# Helpers for TAP shell tests (bash). Source it first thing:
#
#   . "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
#   moto_start                       # or skip_all "reason"
#   tap_ok "token written" "$ECR_TOKEN_REFRESH" --oneshot --config "$TEST_TMPDIR/c.yaml"
#   tap_is "mode" "$(stat -c %a "$TEST_TMPDIR/pw")" 600
#   tap_done
#
# Gives every test a private $TEST_TMPDIR, removed on exit together with any moto server the test
# started (the server also exits by itself if this shell dies, even by SIGKILL).

: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${PYTHON:=python3}"
export top_srcdir top_builddir PYTHON

_tap_n=0
_tap_failed=0
_tap_planned=
MOTO_DIR=

TEST_TMPDIR=$(mktemp -d "${TMPDIR:-/tmp}/ecr-test.XXXXXX") || { echo "Bail out! mktemp failed"; exit 1; }
export TEST_TMPDIR

_lib_cleanup() {
        _lib_rc=$?
        trap - EXIT
        moto_stop
        case "$TEST_TMPDIR" in
        "${TMPDIR:-/tmp}"/ecr-test.*) rm -rf "$TEST_TMPDIR" ;;
        esac
        exit "$_lib_rc"
}
trap _lib_cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

tap_diag() {
        printf '%s\n' "$*" | sed 's/^/# /'
}

# tap_plan N: print the plan up front (optional; tap_done prints it otherwise).
tap_plan() {
        _tap_planned=$1
        echo "1..$1"
}

_tap_result() { # _tap_result OK NAME [DIRECTIVE]
        _tap_n=$((_tap_n + 1))
        if [ "$1" = 0 ]; then
                echo "ok $_tap_n - $2${3:+ # $3}"
        else
                _tap_failed=$((_tap_failed + 1))
                echo "not ok $_tap_n - $2${3:+ # $3}"
        fi
}

# tap_ok NAME CMD [ARG...]: passes if CMD exits 0. Its output is shown (as diagnostics) only on failure.
tap_ok() {
        _name=$1
        shift
        if "$@" >"$TEST_TMPDIR/.tap-out" 2>&1; then
                _tap_result 0 "$_name"
        else
                _rc=$?
                _tap_result 1 "$_name"
                tap_diag "command: $* (exit status $_rc)"
                tap_diag "$(tail -n 40 "$TEST_TMPDIR/.tap-out")"
        fi
}

# tap_fails NAME CMD [ARG...]: passes if CMD exits non-zero (use tap_status for a given status).
tap_fails() {
        _name=$1
        shift
        if "$@" >"$TEST_TMPDIR/.tap-out" 2>&1; then
                _tap_result 1 "$_name"
                tap_diag "command: $* (succeeded, failure expected)"
                tap_diag "$(tail -n 40 "$TEST_TMPDIR/.tap-out")"
        else
                _tap_result 0 "$_name"
        fi
}

# tap_status NAME WANT CMD [ARG...]: passes if CMD exits with status WANT.
tap_status() {
        _name=$1
        _want=$2
        shift 2
        if "$@" >"$TEST_TMPDIR/.tap-out" 2>&1; then _rc=0; else _rc=$?; fi
        if [ "$_rc" = "$_want" ]; then
                _tap_result 0 "$_name"
        else
                _tap_result 1 "$_name"
                tap_diag "command: $* (exit status $_rc, want $_want)"
                tap_diag "$(tail -n 40 "$TEST_TMPDIR/.tap-out")"
        fi
}

# tap_is NAME GOT WANT: string equality.
tap_is() {
        if [ "$2" = "$3" ]; then
                _tap_result 0 "$1"
        else
                _tap_result 1 "$1"
                tap_diag "got:  '$2'"
                tap_diag "want: '$3'"
        fi
}

# tap_like NAME STRING ERE: STRING matches the extended regular expression ERE (grep -E).
tap_like() {
        if printf '%s\n' "$2" | grep -Eq -- "$3"; then
                _tap_result 0 "$1"
        else
                _tap_result 1 "$1"
                tap_diag "got:  '$2'"
                tap_diag "want match: /$3/"
        fi
}

# tap_skip NAME REASON: a skipped test point.
tap_skip() {
        _tap_result 0 "$1" "SKIP $2"
}

# tap_done: prints the plan (unless tap_plan did) and exits 0 if every test passed, 1 otherwise.
tap_done() {
        if [ -z "$_tap_planned" ]; then
                echo "1..$_tap_n"
        elif [ "$_tap_planned" != "$_tap_n" ]; then
                tap_diag "planned $_tap_planned tests but ran $_tap_n"
                exit 1
        fi
        [ "$_tap_failed" = 0 ] || exit 1
        exit 0
}

# skip_all REASON: the whole test is skipped (automake counts it as SKIP).
skip_all() {
        echo "1..0 # SKIP $*"
        exit 0
}

bail_out() {
        echo "Bail out! $*"
        exit 99
}

# moto_start [--stock] [--region R]: starts moto_server with IAM authentication enforced and
# exports what tests/moto.py writes to moto.env (MOTO_URL, ECR_KEY_ID, ECR_SECRET, DENY_KEY_ID, ...;
# see tests/moto.py). Skips the whole test when moto or boto3 is not installed.
moto_start() {
        "$PYTHON" -c 'import boto3, moto.server' 2>/dev/null ||
                skip_all "moto_server not available (pip install 'moto[server]' boto3)"
        MOTO_DIR=$TEST_TMPDIR/moto
        if ! "$PYTHON" "$top_srcdir/tests/moto.py" start --dir "$MOTO_DIR" --watch-pid "$$" "$@" \
                >"$TEST_TMPDIR/.moto-start" 2>&1; then
                tap_diag "$(cat "$TEST_TMPDIR/.moto-start")"
                [ -f "$MOTO_DIR/moto.log" ] && tap_diag "$(tail -n 40 "$MOTO_DIR/moto.log")"
                bail_out "could not start moto_server"
        fi
        set -a
        # shellcheck source=/dev/null
        . "$MOTO_DIR/moto.env"
        set +a
}

# moto_imds ARGS...: changes the harness IMDS (see "tests/moto.py imds --help").
moto_imds() {
        "$PYTHON" "$top_srcdir/tests/moto.py" imds --dir "$MOTO_DIR" "$@"
}

# moto_stop: stops the server started by moto_start (done automatically on exit).
moto_stop() {
        if [ -n "$MOTO_DIR" ] && [ -f "$MOTO_DIR/moto.pid" ]; then
                "$PYTHON" "$top_srcdir/tests/moto.py" stop --dir "$MOTO_DIR" || :
        fi
}

# moto_log: prints the server log (e.g. as diagnostics after a failure).
moto_log() {
        [ -n "$MOTO_DIR" ] && cat "$MOTO_DIR/moto.log"
}
