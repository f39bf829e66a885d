#!/bin/sh
# SPDX-License-Identifier: MIT
# TAP test for the manual pages:
#  - mandoc -Tlint and groff -ww print nothing for either page (a point is skipped when its
#    tool is missing),
#  - the pages are fully expanded (no @VAR@ left) and have the expected sections,
#  - every option that `$ECR_TOKEN_REFRESH --help` prints is documented in ecr-token-refresh(8)
#    (without a built binary, the documented option list below is used),
#  - every configuration key is documented in ecr-token-refresh.yaml(5).
#
# Environment: top_srcdir, top_builddir (set by the test harness; default: this script's
# parent directory), ECR_TOKEN_REFRESH (the built binary; optional).

set -u

here=$(cd "$(dirname "$0")" && pwd)
srcdir=${top_srcdir:-$here/..}
builddir=${top_builddir:-$srcdir}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-man.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT

# Options of the program, used when no built binary can be asked.
fallback_long='--config --oneshot --check --verbose --version --help'
fallback_short='-c -v -V -h'
config_keys='interval registries refreshMargin concurrency connectTimeout requestTimeout health listen metrics textfile registryId region passwordFile dockerConfigFile endpoint fileMode roleArn externalId roleSessionName onRefresh onRefreshTimeout'
sections8='NAME SYNOPSIS DESCRIPTION OPTIONS MODES SIGNALS EXIT_STATUS FILES ENVIRONMENT CREDENTIALS EXAMPLES SEE_ALSO'
sections5='NAME SYNOPSIS DESCRIPTION ERRORS EXAMPLES FILES SEE_ALSO'

# Use the pages the build generated; expand the templates here when run from a bare source tree.
page() { # NAME SECTION
	if [ -f "$builddir/man/$1.$2" ]; then
		echo "$builddir/man/$1.$2"
	else
		sed -e 's|@sysconfdir[@]|/etc|g' -e 's|@PACKAGE_VERSION[@]|0.0|g' \
			"$srcdir/man/$1.$2.in" >"$tmp/$1.$2" || exit 99
		echo "$tmp/$1.$2"
	fi
}
page8=$(page ecr-token-refresh 8)
page5=$(page ecr-token-refresh.yaml 5)

# The page source with "\-" turned into "-", for plain text searches.
sed -e 's/\\-/-/g' "$page8" >"$tmp/text8"
sed -e 's/\\-/-/g' "$page5" >"$tmp/text5"

n=0
failed=0
out="$tmp/tap"
: >"$out"
ok() { n=$((n + 1)); echo "ok $n - $*" >>"$out"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $*" >>"$out"; }
skip() { n=$((n + 1)); echo "ok $n - $* # SKIP" >>"$out"; }
diag() { sed -e 's/^/# /' >>"$out"; }

for p in "$page8" "$page5"; do
	name=$(basename "$p")

	if command -v mandoc >/dev/null 2>&1; then
		# -W warning: "STYLE" hints about other installed pages depend on the machine.
		mandoc -Tlint -W warning "$p" >"$tmp/lint" 2>&1
		if [ ! -s "$tmp/lint" ]; then ok "mandoc -Tlint $name"; else not_ok "mandoc -Tlint $name"; diag <"$tmp/lint"; fi
		mandoc -Tlint -W style "$p" 2>&1 | grep -v 'referenced manual not found' >"$tmp/lint"
		if [ ! -s "$tmp/lint" ]; then ok "mandoc -Tlint -W style $name"; else not_ok "mandoc -Tlint -W style $name"; diag <"$tmp/lint"; fi
	else
		skip "mandoc -Tlint $name (mandoc is not installed)"
		skip "mandoc -Tlint -W style $name (mandoc is not installed)"
	fi

	if command -v groff >/dev/null 2>&1; then
		groff -ww -man -z "$p" >"$tmp/groff" 2>&1
		if [ ! -s "$tmp/groff" ]; then ok "groff -ww $name"; else not_ok "groff -ww $name"; diag <"$tmp/groff"; fi
	else
		skip "groff -ww $name (groff is not installed)"
	fi

	if grep -n '@[A-Za-z_]*@' "$p" >"$tmp/left"; then
		not_ok "$name has no unexpanded @VARIABLE@"; diag <"$tmp/left"
	else
		ok "$name has no unexpanded @VARIABLE@"
	fi
done

# Sections.
for s in $sections8; do
	title=$(echo "$s" | tr _ ' ')
	if grep -q -e "^\.SH \"\{0,1\}$title\"\{0,1\}\$" "$page8"; then ok "ecr-token-refresh.8 has section $title"
	else not_ok "ecr-token-refresh.8 has section $title"; fi
done
for s in $sections5; do
	title=$(echo "$s" | tr _ ' ')
	if grep -q -e "^\.SH \"\{0,1\}$title\"\{0,1\}\$" "$page5"; then ok "ecr-token-refresh.yaml.5 has section $title"
	else not_ok "ecr-token-refresh.yaml.5 has section $title"; fi
done

# Options: ask the binary when there is one.
long=$fallback_long
short=$fallback_short
source="the documented option list"
bin=${ECR_TOKEN_REFRESH:-}
if [ -n "$bin" ] && [ -x "$bin" ] && "$bin" --help >"$tmp/help" 2>&1; then
	# Options are the words starting with dashes at the start of a help line ("  -c, --config PATH").
	long=$(grep -E '^ +(-[A-Za-z], +)?--[a-z]' "$tmp/help" | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)
	short=$(grep -oE -- '^ +-[A-Za-z],' "$tmp/help" | grep -oE -- '-[A-Za-z]' | sort -u)
	source="$bin --help"
	if [ -z "$long" ]; then
		not_ok "$bin --help lists long options"; diag <"$tmp/help"
	fi
fi
for o in $long; do
	# Documented as "\-\-option" in the OPTIONS section, where each option starts a .TP tag.
	if sed -n '/^\.SH OPTIONS/,/^\.SH /p' "$tmp/text8" | grep -q -e "$o\\b"; then
		ok "option $o (from $source) is documented in ecr-token-refresh.8"
	else
		not_ok "option $o (from $source) is documented in ecr-token-refresh.8"
	fi
done
for o in $short; do
	if sed -n '/^\.SH OPTIONS/,/^\.SH /p' "$tmp/text8" | grep -q -e "$o\\b"; then
		ok "option $o (from $source) is documented in ecr-token-refresh.8"
	else
		not_ok "option $o (from $source) is documented in ecr-token-refresh.8"
	fi
done

# Exit codes that the help text mentions are in EXIT STATUS.
for code in 0 1 64 78; do
	if sed -n '/^\.SH "EXIT STATUS"/,/^\.SH /p' "$tmp/text8" | grep -q -e "^\.B $code\$"; then
		ok "exit status $code is documented"
	else
		not_ok "exit status $code is documented"
	fi
done

# Configuration keys, each a .TP tag in the .5 page.
for k in $config_keys; do
	if grep -A1 -e '^\.TP' "$tmp/text5" | grep -q -e "^\.B $k\$"; then
		ok "configuration key $k is documented in ecr-token-refresh.yaml.5"
	else
		not_ok "configuration key $k is documented in ecr-token-refresh.yaml.5"
	fi
done

echo "1..$n"
cat "$out"
exit 0
