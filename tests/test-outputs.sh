#!/bin/bash
# SPDX-License-Identifier: MIT
# The outputs besides passwordFile, end to end with the real binary against moto_server: a docker
# config.json merged in place, an onRefresh command, the node_exporter textfile, and the health
# endpoint (GET /health, /metrics, moved by a reload).
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"

BIN=${ECR_TOKEN_REFRESH:-$top_builddir/ecr-token-refresh}
[ -x "$BIN" ] || skip_all "$BIN not built"
command -v curl >/dev/null || skip_all "curl not installed"
moto_start

T=$TEST_TMPDIR
HOST=$MOTO_ACCOUNT.dkr.ecr.us-west-2.amazonaws.com
mkdir -p "$T/pw" "$T/docker" "$T/metrics"
free_port() { "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PORT=$(free_port)

# What docker login left there before: another registry and settings that must survive.
cat >"$T/docker/config.json" <<EOF2
{
	"auths": {
		"quay.io": {"auth": "dXNlcjpwYXNz", "email": "me@example.com"},
		"$HOST": {"auth": "b2xkOm9sZA==", "identitytoken": "stale"}
	},
	"psFormat": "table {{.ID}}\\t{{.Image}}",
	"proxies": {"default": {"httpProxy": "http://proxy.example:3128"}}
}
EOF2
chmod 0640 "$T/docker/config.json"

write_config() { # PORT
        cat >"$T/config.yaml" <<EOF2
interval: 30m
health:
  listen: "127.0.0.1:$1"
metrics:
  textfile: "$T/metrics/ecr_token_refresh.prom"
registries:
  - registryId: "$MOTO_ACCOUNT"
    region: "us-west-2"
    endpoint: "$MOTO_URL"
    passwordFile: "$T/pw/ecr.pass"
    dockerConfigFile: "$T/docker/config.json"
    onRefresh: ["/bin/sh", "-c", "env >'$T/hook.env'; echo hook-says-hi >&2; exit 3"]
    onRefreshTimeout: "10s"
EOF2
}
write_config "$PORT"
# A clean environment (moto.env exported the harness's secrets under other names too).
DAEMON_CMD=(env -i PATH="$PATH" AWS_ACCESS_KEY_ID="$ECR_KEY_ID" AWS_SECRET_ACCESS_KEY="$ECR_SECRET"
        AWS_EC2_METADATA_DISABLED=true "$BIN")

tap_ok "--check accepts health, metrics, dockerConfigFile, onRefresh" "${DAEMON_CMD[@]}" --check --config "$T/config.yaml"

# ---- oneshot ----
tap_status "--oneshot: 0 (a failing onRefresh does not undo the written files)" 0 \
        "${DAEMON_CMD[@]}" --oneshot --config "$T/config.yaml"
cp "$T/.tap-out" "$T/oneshot.log"
password=$(cat "$T/pw/ecr.pass")
tap_like "password file written" "$password" '.'

auth_of() { "$PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))["auths"][sys.argv[2]]["auth"])' "$@" 2>&1; }
tap_is "config.json: auth for $HOST is base64(AWS:password)" "$(auth_of "$T/docker/config.json" "$HOST")" \
        "$(printf 'AWS:%s' "$password" | base64 -w0)"
tap_is "config.json: the stale entry was replaced as a whole" \
        "$("$PYTHON" -c 'import json, sys; print(sorted(json.load(open(sys.argv[1]))["auths"][sys.argv[2]]))' "$T/docker/config.json" "$HOST")" \
        "['auth']"
tap_ok "config.json: the rest kept" "$PYTHON" -c '
import json, sys
c = json.load(open(sys.argv[1]))
assert c["auths"]["quay.io"] == {"auth": "dXNlcjpwYXNz", "email": "me@example.com"}, c
assert c["psFormat"] == "table {{.ID}}\t{{.Image}}", c
assert c["proxies"] == {"default": {"httpProxy": "http://proxy.example:3128"}}, c' "$T/docker/config.json"
tap_is "config.json: mode 0640 kept" "$(stat -c %a "$T/docker/config.json")" 640

tap_ok "onRefresh ran and finished before the oneshot exit" test -s "$T/hook.env"
tap_ok "onRefresh environment: REGISTRY_ID, REGION, PASSWORD_FILE" \
        grep -qx -e "REGISTRY_ID=$MOTO_ACCOUNT" "$T/hook.env"
tap_is "onRefresh environment" "$(grep -E '^(REGION|PASSWORD_FILE|DOCKER_CONFIG_FILE)=' "$T/hook.env" | sort | tr '\n' ' ')" \
        "DOCKER_CONFIG_FILE=$T/docker/config.json PASSWORD_FILE=$T/pw/ecr.pass REGION=us-west-2 "
tap_fails "onRefresh environment: no secret" grep -qF -e "$ECR_SECRET" -e "$password" "$T/hook.env"
tap_like "its stderr and exit status are logged with the registry" "$(cat "$T/oneshot.log")" \
        "$MOTO_ACCOUNT/us-west-2: onRefresh: hook-says-hi"
tap_like "exit status logged" "$(cat "$T/oneshot.log")" "onRefresh /bin/sh failed with exit status 3"

prom=$T/metrics/ecr_token_refresh.prom
tap_is "metrics textfile: mode 0644" "$(stat -c %a "$prom")" 644
tap_like "metrics textfile: one refresh, no failure" "$(cat "$prom")" \
        "^ecr_token_refresh_refreshes_total\\{registry_id=\"$MOTO_ACCOUNT\",region=\"us-west-2\",password_file=\"$T/pw/ecr.pass\"\\} 1\$"
if command -v promtool >/dev/null; then
        tap_ok "metrics textfile: promtool check metrics" sh -c "promtool check metrics <'$prom'"
fi
tap_fails "no secret in the log" grep -qF -e "$ECR_SECRET" -e "$password" "$T/oneshot.log"

# ---- daemon: health endpoint, reload ----
rm -f "$T/hook.env"
"${DAEMON_CMD[@]}" --config "$T/config.yaml" >"$T/daemon.log" 2>&1 &
DAEMON=$!
trap '_rc=$?; kill -KILL $DAEMON 2>/dev/null; (exit $_rc); _lib_cleanup' EXIT
code=
for _ in $(seq 100); do
        code=$(curl -s -o "$T/health" -w '%{http_code}' "http://127.0.0.1:$PORT/health")
        [ "$code" = 200 ] && break
        sleep 0.1
done
tap_is "GET /health: 200 after the first refresh" "$code" 200
tap_is "body" "$(cat "$T/health")" '{"status":"healthy"}'
metrics=$(curl -s "http://127.0.0.1:$PORT/metrics")
tap_like "GET /metrics" "$metrics" "^ecr_token_refresh_token_valid\\{registry_id=\"$MOTO_ACCOUNT\",[^}]*\\} 1\$"
tap_like "HEAD /health" "$(curl -s -I "http://127.0.0.1:$PORT/health" | tr -d '\r')" '^HTTP/1.1 200 OK'

NEW_PORT=$(free_port)
write_config "$NEW_PORT"
kill -HUP $DAEMON
code=
for _ in $(seq 50); do
        code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$NEW_PORT/health")
        [ "$code" = 200 ] && break
        sleep 0.1
done
tap_is "after a reload, /health on the new port" "$code" 200
tap_is "and no longer on the old one" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/health")" 000

kill -TERM $DAEMON
wait $DAEMON
tap_is "SIGTERM: exit 0" "$?" 0
tap_fails "no secret in the daemon's log" grep -qF -e "$ECR_SECRET" -e "$password" "$T/daemon.log"

# ---- a malformed config.json stays untouched and fails the refresh ----
printf '{"auths": ' >"$T/docker/config.json"
tap_status "malformed config.json: oneshot fails" 1 "${DAEMON_CMD[@]}" --oneshot --config "$T/config.yaml"
tap_like "naming the file" "$(cat "$T/.tap-out")" "Docker config $T/docker/config.json is not valid JSON"
tap_is "the file is untouched" "$(cat "$T/docker/config.json")" '{"auths": '
tap_like "metrics count the failure" "$(cat "$prom")" '^ecr_token_refresh_failures_total\{[^}]*\} 1$'

tap_done
