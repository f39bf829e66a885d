#!/bin/sh
# SPDX-License-Identifier: MIT
# TAP test of the Debian package, as a user meets it: lintian, then apt-get install from a local
# repository, a look at what was installed, and apt-get purge leaving nothing behind.
#
# Root only (it installs and purges the package on this machine): otherwise "1..0 # SKIP".
# Uses build/deb/ecr-token-refresh_*.deb under $top_builddir, or runs `make deb` there first.
# Environment: top_builddir (default: the current directory), DEB (a .deb to test instead).

set -u

pkg=ecr-token-refresh
top_builddir=${top_builddir:-$(pwd)}

if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP installs a package: needs root"
	exit 0
fi
for tool in dpkg apt-get apt-ftparchive; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "1..0 # SKIP $tool is missing (Debian-based systems only; apt-ftparchive is in apt-utils)"
		exit 0
	fi
done
if dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed'; then
	echo "1..0 # SKIP $pkg is already installed on this machine; not touching it"
	exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/test-deb.XXXXXX") || exit 99
chmod 0755 "$work"   # apt's unprivileged _apt user reads the repository
list=/etc/apt/sources.list.d/$pkg-test-$$.list
installed=no

cleanup() {
	if [ "$installed" = yes ]; then
		apt-get purge -y -q "$pkg" >/dev/null 2>&1 || true
	fi
	rm -f "$list"
	# apt keeps file: repositories' indexes under /var/lib/apt/lists; drop ours.
	rm -f /var/lib/apt/lists/*"$(echo "$work" | sed -e 's|^/||' -e 's|/|_|g')"* 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

echo "1..17"
n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $*"; }
check() { # DESCRIPTION COMMAND...: one TAP point from a command's exit status, output as diagnostics
	desc=$1; shift
	if "$@" >"$work/out" 2>&1; then ok "$desc"; else not_ok "$desc"; sed -e 's/^/# /' "$work/out"; fi
}
skip() { n=$((n + 1)); echo "ok $n - $* # SKIP"; }
bail() { echo "Bail out! $*"; exit 1; }

# 1. the package
deb=${DEB:-}
if [ -z "$deb" ]; then
	deb=$(ls "$top_builddir"/build/deb/${pkg}_*.deb 2>/dev/null | grep -v -- '-dbgsym_' | tail -n 1)
fi
if [ -z "$deb" ]; then
	echo "# no .deb in $top_builddir/build/deb: running make deb"
	make -C "$top_builddir" deb >"$work/build.log" 2>&1 || { tail -n 40 "$work/build.log" | sed -e 's/^/# /'; bail "make deb failed"; }
	deb=$(ls "$top_builddir"/build/deb/${pkg}_*.deb 2>/dev/null | grep -v -- '-dbgsym_' | tail -n 1)
fi
[ -n "$deb" ] && [ -f "$deb" ] || bail "no .deb to test"
ok "package $(basename "$deb")"

# 2. lintian: no errors and no warnings (informational tags are shown, not counted)
if command -v lintian >/dev/null 2>&1; then
	changes=$(ls "$(dirname "$deb")"/*.changes 2>/dev/null | tail -n 1)
	lintian ${changes:-$deb} >"$work/lintian" 2>&1
	sed -e 's/^/# /' "$work/lintian"
	if grep -q -e '^E:' -e '^W:' "$work/lintian"; then not_ok "lintian reports no errors or warnings"
	else ok "lintian reports no errors or warnings"; fi
else
	skip "lintian is not installed"
fi

# 3. a local apt repository, used through a temporary sources.list.d file
mkdir -p "$work/repo"
cp "$deb" "$work/repo/"
(cd "$work/repo" && apt-ftparchive packages . >Packages && gzip -9nc Packages >Packages.gz &&
	apt-ftparchive release . >Release) >"$work/out" 2>&1
echo "deb [trusted=yes] file:$work/repo ./" >"$list"
check "local apt repository and sources list" apt-get update -q \
	-o Dir::Etc::sourcelist="$list" -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0

# 4. install
if DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" >"$work/out" 2>&1; then
	installed=yes
	ok "apt-get install $pkg"
else
	not_ok "apt-get install $pkg"; sed -e 's/^/# /' "$work/out"
	bail "cannot test an uninstalled package"
fi
dpkg -L "$pkg" | sort >"$work/files"
version=$(dpkg-query -W -f '${Version}' "$pkg")

# 5-15. what an administrator finds
check "ecr-token-refresh --version runs" sh -c "ecr-token-refresh --version | grep -q '${version%-*}'"
if command -v man >/dev/null 2>&1; then
	check "man -w ecr-token-refresh finds the page" man -w ecr-token-refresh
	check "man -w 5 ecr-token-refresh.yaml finds the page" man -w 5 ecr-token-refresh.yaml
else
	skip "man -w ecr-token-refresh (man-db is not installed)"
	skip "man -w 5 ecr-token-refresh.yaml (man-db is not installed)"
fi
for unit in $pkg.service $pkg-oneshot.service $pkg-oneshot.timer; do
	check "unit $unit is installed" sh -c "grep -q -E '^(/usr)?/lib/systemd/system/$unit\$' '$work/files'"
done
check "system user $pkg exists" getent passwd "$pkg"
check "/var/lib/$pkg exists with mode 0750, owned by $pkg" \
	sh -c "test \"\$(stat -c '%a %U %G' /var/lib/$pkg)\" = '750 $pkg $pkg'"
check "/etc/$pkg/config.yaml is a conffile" \
	sh -c "dpkg-query -W -f '\${Conffiles}' $pkg | grep -q ' /etc/$pkg/config.yaml '"
check "ecr-token-refresh --check accepts /etc/$pkg/config.yaml" ecr-token-refresh --check
check "the daemon is enabled, the oneshot timer is not" sh -c \
	"ls /etc/systemd/system/*.wants/$pkg.service >/dev/null 2>&1 && ! ls /etc/systemd/system/*.wants/$pkg-oneshot.timer >/dev/null 2>&1"

# 16. purge
if DEBIAN_FRONTEND=noninteractive apt-get purge -y -q "$pkg" >"$work/out" 2>&1; then
	installed=no
	ok "apt-get purge $pkg"
else
	not_ok "apt-get purge $pkg"; sed -e 's/^/# /' "$work/out"
fi

# 17. nothing left: no file of the package (directories shared with others may stay), no state,
# no configuration, no unit enablement
: >"$work/left"
while read -r f; do
	[ -d "$f" ] && continue
	{ [ -e "$f" ] || [ -L "$f" ]; } && echo "$f" >>"$work/left"
done <"$work/files"
for f in /var/lib/$pkg /etc/$pkg; do
	[ -e "$f" ] && echo "$f" >>"$work/left"
done
ls -d /etc/systemd/system/*.wants/$pkg* /var/lib/systemd/deb-systemd-helper-enabled/*$pkg* \
	/var/lib/systemd/deb-systemd-helper-enabled/*.wants/*$pkg* 2>/dev/null >>"$work/left"
if [ -s "$work/left" ]; then not_ok "purge leaves nothing behind"; sed -e 's/^/# left: /' "$work/left"
else ok "purge leaves nothing behind"; fi
exit 0
