#!/bin/bash
# SPDX-License-Identifier: MIT
# The container image, built for real from the unmodified Containerfile and run as Kubernetes would
# run the sidecar: read-only root, non-root user, the config mounted like a ConfigMap, a shared
# password volume, /health probed over TCP, all against moto_server.
#
# No container registry is reachable here, so the base image the Containerfile names is made with
# `debootstrap --variant=minbase bookworm` from Debian's mirror and `podman import`ed under that
# name (reused when it exists). `podman run` does not work on these machines (crun cannot set
# rlimits), so the built image is `podman export`ed and its entrypoint run with chroot in a private
# mount namespace. Root only; slow (a full image build): not part of `make check`.
#
#   sudo tests/container/test-image.sh            (top_srcdir, ECR_TOKEN_REFRESH not needed)
#   DEBIAN_MIRROR=http://... to debootstrap from another mirror.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root (podman, debootstrap, chroot, mounts)"
for tool in podman debootstrap curl unshare chroot; do
        command -v "$tool" >/dev/null || skip_all "$tool not installed (apt-get install podman debootstrap curl)"
done

IMAGE=localhost/ecr-token-refresh:test-$$
ROOT=$TEST_TMPDIR/image-root
DAEMON_PID=
t_start=$(date +%s)
elapsed() { echo "$(($(date +%s) - t_start))s"; }

image_cleanup() {
        [ -n "$DAEMON_PID" ] && kill -KILL "$DAEMON_PID" 2>/dev/null
        [ -s "$TEST_TMPDIR/daemon.pid" ] && kill -KILL "$(cat "$TEST_TMPDIR/daemon.pid")" 2>/dev/null
        podman rm -f "${CID:-none}" >/dev/null 2>&1
        podman rmi -f "$IMAGE" >/dev/null 2>&1
}
trap '_rc=$?; image_cleanup; (exit $_rc); _lib_cleanup' EXIT

# ---- the base image, as the Containerfile names it ----
bases=$(sed -n 's/^FROM[[:space:]]\{1,\}\([^[:space:]]\{1,\}\).*/\1/p' "$top_srcdir/Containerfile" | grep -v '^build$' | sort -u)
tap_is "the Containerfile has one base image" "$(echo "$bases" | wc -l)" 1
BASE=$(echo "$bases" | head -n1)
if podman image exists "$BASE"; then
        tap_diag "reusing the local $BASE"
        tap_ok "base image $BASE present" true
else
        case "$BASE" in
        debian:bookworm*) ;;
        *) bail_out "cannot make base image $BASE here (only debian:bookworm*)" ;;
        esac
        rootfs=$TEST_TMPDIR/rootfs
        tap_ok "debootstrap --variant=minbase bookworm" \
                debootstrap --variant=minbase bookworm "$rootfs" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
        # Apt sources as Debian's official image has them (updates and security included).
        rm -f "$rootfs/etc/apt/sources.list"
        cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<-'SOURCES'
	Types: deb
	URIs: http://deb.debian.org/debian
	Suites: bookworm bookworm-updates
	Components: main
	Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

	Types: deb
	URIs: http://deb.debian.org/debian-security
	Suites: bookworm-security
	Components: main
	Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	SOURCES
        rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
        tap_ok "podman import as $BASE" sh -c "tar -C '$rootfs' -c . | podman import --change 'CMD [\"bash\"]' - '$BASE'"
        rm -rf "$rootfs"
fi
tap_diag "base image ready after $(elapsed)"

# ---- build the unmodified Containerfile ----
t_build=$(date +%s)
tap_ok "podman build --isolation=chroot --pull=never -f Containerfile" \
        podman build --isolation=chroot --pull=never -t "$IMAGE" -f "$top_srcdir/Containerfile" "$top_srcdir"
tap_diag "image built in $(($(date +%s) - t_build))s"
podman image exists "$IMAGE" || bail_out "no image was built"

inspect() { podman image inspect --format "$1" "$IMAGE"; }
tap_is "entrypoint" "$(inspect '{{json .Config.Entrypoint}}')" \
        '["/usr/sbin/ecr-token-refresh","--config","/opt/config/ecr-token-refresh/config.yaml"]'
tap_is "runs as user 10001" "$(inspect '{{.Config.User}}')" "10001:10001"
tap_like "exposes 3277/tcp" "$(inspect '{{json .Config.ExposedPorts}}')" '"3277/tcp"'
tap_diag "image size: $(inspect '{{.Size}}') bytes"

# ---- its file system ----
CID=$(podman create "$IMAGE") || bail_out "podman create failed"
mkdir -p "$ROOT"
tap_ok "podman export" sh -c "podman export '$CID' | tar -C '$ROOT' --numeric-owner -x"
podman rm -f "$CID" >/dev/null && CID=

tap_ok "every library the binary links is in the image" \
        sh -c "chroot '$ROOT' ldd /usr/sbin/ecr-token-refresh >'$TEST_TMPDIR/ldd' && ! grep 'not found' '$TEST_TMPDIR/ldd'"
tap_ok "CA certificates installed" test -s "$ROOT/etc/ssl/certs/ca-certificates.crt"
tap_fails "no compiler or headers in the runtime image" sh -c "ls '$ROOT'/usr/bin/*gcc* '$ROOT/usr/include/curl' 2>/dev/null | grep -q ."
tap_is "the default config is where the old image had it" \
        "$(test -f "$ROOT/opt/config/ecr-token-refresh/config.yaml" && echo yes)" yes
tap_is "/opt/passwords belongs to the image's user" "$(stat -c %u:%g "$ROOT/opt/passwords")" 10001:10001

# Entrypoint and environment from the image configuration.
read -r -a ENTRYPOINT <<<"$(inspect '{{range .Config.Entrypoint}}{{.}} {{end}}')"
IMAGE_ENV=$(inspect '{{range .Config.Env}}{{.}}{{"\n"}}{{end}}')

# run_in_image PASSWORD_DIR CONFIG_DIR [VAR=value...] -- COMMAND...: like the Kubernetes sidecar:
# read-only root, the config directory mounted read-only (the ConfigMap), PASSWORD_DIR at
# /opt/passwords (the emptyDir), fresh /dev, /proc and /tmp, user 10001, the image's environment.
# With PIDFILE set, the command's PID goes there (the function runs in a subshell when put in the
# background, so $! is not the daemon).
run_in_image() {
        local pwdir=$1 cfgdir=$2
        shift 2
        local -a envs=()
        while [ "$1" != -- ]; do envs+=("$1"); shift; done
        shift
        local -a image_env=()
        mapfile -t image_env <<<"$IMAGE_ENV"
        unshare --mount --propagation private -- /bin/sh -ec '
                root=$1 pwdir=$2 cfgdir=$3
                shift 3
                mount --bind "$root" "$root"
                mount -o remount,bind,ro "$root"
                mount -t proc proc "$root/proc"
                mount -t tmpfs -o mode=0755,size=1m tmpfs "$root/dev"
                for d in null zero random urandom; do
                        touch "$root/dev/$d"
                        mount --bind "/dev/$d" "$root/dev/$d"
                done
                mount -t tmpfs -o mode=1777,size=1m tmpfs "$root/tmp"
                mount --bind "$pwdir" "$root/opt/passwords"
                mount --bind -o ro "$cfgdir" "$root/opt/config/ecr-token-refresh"
                [ -z "${PIDFILE:-}" ] || echo $$ >"$PIDFILE"
                exec chroot --userspec=10001:10001 "$root" "$@"
        ' sh "$ROOT" "$pwdir" "$cfgdir" /usr/bin/env -i "${image_env[@]}" HOME=/nonexistent "${envs[@]}" "$@"
}

DEFAULT_CFG=$TEST_TMPDIR/default-config
mkdir -p "$DEFAULT_CFG" "$TEST_TMPDIR/pw0"
cp "$ROOT/opt/config/ecr-token-refresh/config.yaml" "$DEFAULT_CFG/"
chmod 0777 "$TEST_TMPDIR/pw0"
tap_ok "--version as user 10001 on a read-only root" run_in_image "$TEST_TMPDIR/pw0" "$DEFAULT_CFG" -- "${ENTRYPOINT[0]}" --version
tap_ok "the image's default config is valid (--check)" \
        run_in_image "$TEST_TMPDIR/pw0" "$DEFAULT_CFG" -- "${ENTRYPOINT[@]}" --check

# ---- against moto_server ----
moto_start
PORT=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
CFG=$TEST_TMPDIR/configmap
PW=$TEST_TMPDIR/passwords
mkdir -p "$CFG" "$PW"
chmod 0777 "$PW" # as an emptyDir
cat >"$CFG/config.yaml" <<EOF2
interval: 30m
health:
  listen: "127.0.0.1:$PORT"
registries:
  - registryId: "$MOTO_ACCOUNT"
    region: "us-west-2"
    passwordFile: "/opt/passwords/ecr.pass"
    endpoint: "$MOTO_URL"
EOF2
AWS_ENV=(AWS_ACCESS_KEY_ID="$ECR_KEY_ID" AWS_SECRET_ACCESS_KEY="$ECR_SECRET" AWS_EC2_METADATA_DISABLED=true)

tap_ok "--oneshot refreshes from the image" \
        run_in_image "$PW" "$CFG" "${AWS_ENV[@]}" -- "${ENTRYPOINT[@]}" --oneshot
tap_is "password file written: mode 0640, owned by 10001" "$(stat -c '%a %u' "$PW/ecr.pass" 2>&1)" "640 10001"
tap_is "the bare password: no newline" "$(wc -l <"$PW/ecr.pass") $(wc -c <"$PW/ecr.pass" | awk '{print ($1 > 0)}')" "0 1"
rm -f "$PW/ecr.pass"

# The daemon, as the sidecar runs: the entrypoint with no extra argument.
rm -f "$TEST_TMPDIR/daemon.pid"
PIDFILE=$TEST_TMPDIR/daemon.pid run_in_image "$PW" "$CFG" "${AWS_ENV[@]}" -- "${ENTRYPOINT[@]}" >"$TEST_TMPDIR/daemon.log" 2>&1 &
JOB=$!
for _ in $(seq 100); do
        [ -s "$PW/ecr.pass" ] && curl -s -o /dev/null "http://127.0.0.1:$PORT/health" && break
        sleep 0.2
done
tap_ok "the daemon wrote the password file" test -s "$PW/ecr.pass"
code=$(curl -s -o "$TEST_TMPDIR/health" -w '%{http_code}' "http://127.0.0.1:$PORT/health")
tap_is "GET /health: 200" "$code" 200
tap_is "GET /health body" "$(cat "$TEST_TMPDIR/health")" '{"status":"healthy"}'
metrics=$(curl -s "http://127.0.0.1:$PORT/metrics")
tap_like "GET /metrics: last success of the registry" "$metrics" \
        "^ecr_token_refresh_last_success_timestamp_seconds\\{registry_id=\"$MOTO_ACCOUNT\",region=\"us-west-2\",[^}]*\\} [1-9][0-9]{9}\\."
tap_like "GET /metrics: token expiry" "$metrics" '^ecr_token_refresh_token_expiry_timestamp_seconds\{[^}]*\} [1-9][0-9]{9}\.'
password=$(cat "$PW/ecr.pass" 2>/dev/null)
tap_fails "no secret in the logs" grep -qF -e "$ECR_SECRET" -e "${password:-$ECR_SECRET}" "$TEST_TMPDIR/daemon.log"
DAEMON_PID=$(cat "$TEST_TMPDIR/daemon.pid")
tap_is "the entrypoint's process is the daemon" "$(tr '\0' ' ' <"/proc/$DAEMON_PID/cmdline")" "${ENTRYPOINT[*]} "
kill -TERM "$DAEMON_PID"
rc=timeout
for _ in $(seq 50); do
        if ! kill -0 "$JOB" 2>/dev/null; then
                wait "$JOB"
                rc=$?
                break
        fi
        sleep 0.1
done
tap_is "SIGTERM stops it with status 0" "$rc" 0
DAEMON_PID=
tap_diag "$(tail -n 5 "$TEST_TMPDIR/daemon.log")"

# Credentials without ecr:GetAuthorizationToken: /health says so.
rm -f "$PW/ecr.pass"
DENY_ENV=(AWS_ACCESS_KEY_ID="$DENY_KEY_ID" AWS_SECRET_ACCESS_KEY="$DENY_SECRET" AWS_EC2_METADATA_DISABLED=true)
rm -f "$TEST_TMPDIR/daemon.pid"
PIDFILE=$TEST_TMPDIR/daemon.pid run_in_image "$PW" "$CFG" "${DENY_ENV[@]}" -- "${ENTRYPOINT[@]}" >"$TEST_TMPDIR/deny.log" 2>&1 &
JOB=$!
code=
for _ in $(seq 100); do
        code=$(curl -s -o "$TEST_TMPDIR/health" -w '%{http_code}' "http://127.0.0.1:$PORT/health")
        [ "$code" = 503 ] && break
        sleep 0.2
done
tap_is "denied by IAM: GET /health 503" "$code" 503
tap_like "naming the registry and the AWS error" "$(cat "$TEST_TMPDIR/health")" \
        "\"registry\":\"$MOTO_ACCOUNT/us-west-2\".*\"error\":\"AccessDenied"
kill -TERM "$(cat "$TEST_TMPDIR/daemon.pid")"
wait "$JOB"

tap_diag "total $(elapsed)"
tap_done
