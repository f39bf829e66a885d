#!/bin/sh
# SPDX-License-Identifier: MIT
# TAP test of the RPM package: its file list, scriptlets and config flags, an installation into
# a scratch root (no scripts, no dependencies), and rpmlint.
#
# Needs rpm and rpmbuild (on Debian: apt-get install rpm), and root for the scratch install
# (files owned by the service user); otherwise "1..0 # SKIP".
# Uses build/rpm/ecr-token-refresh-*.rpm under $top_builddir, or runs `make rpm` there first.
# Environment: top_srcdir (default: two levels above this script), top_builddir (default: the
# current directory), RPM (an .rpm to test instead).

set -u

pkg=ecr-token-refresh
top_builddir=${top_builddir:-$(pwd)}

if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP the scratch installation needs root"
	exit 0
fi
for tool in rpm rpmbuild; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "1..0 # SKIP $tool is missing"
		exit 0
	fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/test-rpm.XXXXXX") || exit 99
trap 'rm -rf "$work"' EXIT
trap 'exit 1' INT TERM

n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $*"; }
skip() { n=$((n + 1)); echo "ok $n - $* # SKIP"; }
bail() { echo "Bail out! $*"; exit 1; }

find_rpm() {
	ls "$top_builddir"/build/rpm/$pkg-[0-9]*.rpm 2>/dev/null |
		grep -v -e '\.src\.rpm$' -e "/$pkg-debug" | tail -n 1
}

# Where the files must be, as regular expressions (man pages may be compressed).
expected='
^/usr/s?bin/ecr-token-refresh$
^/usr/lib/systemd/system/ecr-token-refresh\.service$
^/usr/lib/systemd/system/ecr-token-refresh-oneshot\.service$
^/usr/lib/systemd/system/ecr-token-refresh-oneshot\.timer$
^/usr/lib/sysusers\.d/ecr-token-refresh\.conf$
^/usr/lib/tmpfiles\.d/ecr-token-refresh\.conf$
^/etc/ecr-token-refresh$
^/etc/ecr-token-refresh/config\.yaml$
^/var/lib/ecr-token-refresh$
^/usr/share/man/man8/ecr-token-refresh\.8(\.[a-z0-9]+)?$
^/usr/share/man/man5/ecr-token-refresh\.yaml\.5(\.[a-z0-9]+)?$
^/usr/share/licenses/ecr-token-refresh(-[0-9.]+)?/LICENSE$
^/usr/share/doc/ecr-token-refresh(-[0-9.]+)?/README\.md$
'
n_expected=$(echo "$expected" | grep -c .)

echo "1..$((n_expected + 7))"

# 1. the package
rpmfile=${RPM:-$(find_rpm)}
if [ -z "$rpmfile" ]; then
	echo "# no .rpm in $top_builddir/build/rpm: running make rpm"
	make -C "$top_builddir" rpm >"$work/build.log" 2>&1 || { tail -n 40 "$work/build.log" | sed -e 's/^/# /'; bail "make rpm failed"; }
	rpmfile=$(find_rpm)
fi
[ -n "$rpmfile" ] && [ -f "$rpmfile" ] || bail "no .rpm to test"
ok "package $(basename "$rpmfile")"

# 2.. the layout
rpm -qlp "$rpmfile" >"$work/files" 2>"$work/err" || { sed -e 's/^/# /' "$work/err"; bail "rpm -qlp failed"; }
sed -e 's/^/# /' "$work/files"
echo "$expected" | while read -r re; do
	[ -n "$re" ] || continue
	if grep -q -E "$re" "$work/files"; then echo "ok - rpm -qlp lists $re"; else echo "not ok - rpm -qlp lists $re"; fi
done >"$work/layout"
while read -r status rest; do
	case $status in
	ok) ok "${rest#- }" ;;
	*) n=$((n + 1)); echo "not ok $n ${rest#ok }" ;;
	esac
done <"$work/layout"

# Ownership and config flags: the state directory belongs to the service user, the
# configuration is %config(noreplace).
rpm -qp --qf '[%{FILEMODES:perms} %{FILEUSERNAME} %{FILEGROUPNAME} %{FILEFLAGS:fflags} %{FILENAMES}\n]' \
	"$rpmfile" >"$work/attrs" 2>&1
if grep -q -E '^drwxr-x--- ecr-token-refresh ecr-token-refresh [^ ]* /var/lib/ecr-token-refresh$' "$work/attrs"; then
	ok "/var/lib/ecr-token-refresh is 0750 ecr-token-refresh:ecr-token-refresh"
else
	not_ok "/var/lib/ecr-token-refresh is 0750 ecr-token-refresh:ecr-token-refresh"; sed -e 's/^/# /' "$work/attrs"
fi
if grep -q -E '^-rw-r--r-- root root c*n /etc/ecr-token-refresh/config\.yaml$' "$work/attrs"; then
	ok "/etc/ecr-token-refresh/config.yaml is %config(noreplace)"
else
	not_ok "/etc/ecr-token-refresh/config.yaml is %config(noreplace)"; sed -e 's/^/# /' "$work/attrs"
fi

# The scriptlets: the system user, tmpfiles, and the systemd macros for every unit.
rpm -qp --scripts "$rpmfile" >"$work/scripts" 2>&1
sed -e 's/^/# /' "$work/scripts"
scripts_ok=yes
for re in \
	'^preinstall scriptlet' 'useradd .*ecr-token-refresh' \
	'^postinstall scriptlet' 'systemd-tmpfiles .*--create .*ecr-token-refresh\.conf' \
	'(preset|systemd-update-helper install-system-units).*ecr-token-refresh\.service' \
	'^preuninstall scriptlet' '(disable|systemd-update-helper remove-system-units).*ecr-token-refresh\.service' \
	'^postuninstall scriptlet' '(try-restart|mark-restart-system-units).*ecr-token-refresh\.service'; do
	if ! grep -q -E "$re" "$work/scripts"; then
		echo "# scriptlets lack /$re/"
		scripts_ok=no
	fi
done
if [ "$scripts_ok" = yes ]; then ok "rpm -qp --scripts has the user, tmpfiles and systemd scriptlets"
else not_ok "rpm -qp --scripts has the user, tmpfiles and systemd scriptlets"; fi

# Installation into a scratch root, without scripts or dependencies.
root=$work/root
mkdir -p "$root"
force=
rpm --help 2>/dev/null | grep -q -e '--force-debian' && force=--force-debian
if rpm --root "$root" --initdb >"$work/out" 2>&1 &&
	rpm --root "$root" --nodeps --noscripts $force -i "$rpmfile" >"$work/out" 2>&1; then
	missing=
	for f in /usr/sbin/$pkg /etc/$pkg/config.yaml /usr/lib/systemd/system/$pkg.service \
		/usr/lib/systemd/system/$pkg-oneshot.timer /usr/lib/sysusers.d/$pkg.conf \
		/usr/lib/tmpfiles.d/$pkg.conf /var/lib/$pkg; do
		[ -e "$root$f" ] || missing="$missing $f"
	done
	if [ -z "$missing" ] && [ -x "$root/usr/sbin/$pkg" ]; then ok "rpm --root installs the files in place"
	else not_ok "rpm --root installs the files in place"; echo "# missing:$missing"; fi
else
	not_ok "rpm --root installs the files in place"; sed -e 's/^/# /' "$work/out"
fi
# The installed binary runs and accepts the packaged configuration.
if [ -x "$root/usr/sbin/$pkg" ] && "$root/usr/sbin/$pkg" --check --config "$root/etc/$pkg/config.yaml" >"$work/out" 2>&1; then
	ok "the installed binary accepts the packaged config.yaml"
else
	not_ok "the installed binary accepts the packaged config.yaml"; sed -e 's/^/# /' "$work/out"
fi

# rpmlint: no errors (warnings are shown as diagnostics).
if command -v rpmlint >/dev/null 2>&1; then
	srpm=$(ls "$(dirname "$rpmfile")"/$pkg-[0-9]*.src.rpm 2>/dev/null | tail -n 1)
	rc=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/packaging/rpm/$pkg.rpmlintrc
	rpmlint -r "$rc" "$rpmfile" $srpm >"$work/lint" 2>&1
	sed -e 's/^/# /' "$work/lint"
	if grep -q -E '(^|: )E: ' "$work/lint"; then not_ok "rpmlint reports no errors"
	else ok "rpmlint reports no errors"; fi
else
	skip "rpmlint is not installed"
fi
exit 0
