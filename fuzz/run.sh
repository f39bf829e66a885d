#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds the libFuzzer targets (fuzz/fuzz-NAME.c) against the daemon's library sources with clang,
# AddressSanitizer and UndefinedBehaviorSanitizer, then runs each for a bounded time.
#
#   fuzz/run.sh [-t SECONDS] [-b] [-r] [TARGET...]
#
#   -t SECONDS  run each target this long (default $FUZZ_SECONDS or 30); 0 only replays the corpus
#   -b          build only
#   -r          replay only the seed corpus (a quick regression check, what -t 0 does too)
#   TARGET      fuzz-config, config, ...; default: every fuzz/fuzz-*.c
#
# Environment: top_builddir (a configured build tree: its autoconfig.h is used; default: the source
# tree, else the current directory), FUZZ_OUT (default $top_builddir/fuzz-out), CLANG (default
# clang), FUZZ_JOBS (parallel builds, default 2), FUZZ_ARGS (more libFuzzer options).
#
# Adding a target: write fuzz/fuzz-NAME.c (with LLVMFuzzerTestOneInput; include fuzz.h) and put a
# few small seeds in fuzz/corpus/fuzz-NAME/; an optional fuzz/fuzz-NAME.dict is used as dictionary.
# The library sources are the libecr_a_SOURCES of Makefile.am, so new modules come along by themselves.
#
# Findings land in $FUZZ_OUT/artifacts/ (crash-*, leak-*, timeout-*); reproduce one with
#   $FUZZ_OUT/fuzz-NAME $FUZZ_OUT/artifacts/fuzz-NAME-crash-...
# The corpus grown by a run is kept in $FUZZ_OUT/corpus/fuzz-NAME (the seeds in the tree are not
# touched). Exit status: 0 if every target ran clean, 1 if one found something, 2 on build errors.
set -u

srcdir=$(cd "$(dirname "$0")/.." && pwd)
seconds=${FUZZ_SECONDS:-30}
build_only=false
while getopts t:brh opt; do
        case $opt in
        t) seconds=$OPTARG ;;
        b) build_only=true ;;
        r) seconds=0 ;;
        h) sed -n '3,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) exit 2 ;;
        esac
done
shift $((OPTIND - 1))

builddir=${top_builddir:-}
if [ -z "$builddir" ]; then
        if [ -f "$srcdir/autoconfig.h" ]; then builddir=$srcdir; else builddir=$(pwd); fi
fi
builddir=$(cd "$builddir" && pwd)
if [ ! -f "$builddir/autoconfig.h" ]; then
        echo "run.sh: no autoconfig.h in $builddir: run configure first (or set top_builddir)" >&2
        exit 2
fi
out=${FUZZ_OUT:-$builddir/fuzz-out}
CLANG=${CLANG:-clang}
jobs=${FUZZ_JOBS:-2}
mkdir -p "$out/obj" "$out/artifacts" "$out/corpus" || exit 2

if ! command -v "$CLANG" >/dev/null; then
        echo "run.sh: $CLANG not found (Debian: apt-get install clang; libFuzzer is in libclang-rt-NN-dev)" >&2
        exit 2
fi
pkgs="libsystemd libcurl gnutls yaml-0.1 json-c"
deps_cflags=$(pkg-config --cflags $pkgs) || exit 2
deps_libs=$(pkg-config --libs $pkgs) || exit 2
sanitize="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
# shellcheck disable=SC2089,SC2090 # the quotes are meant: SYSCONFDIR is a C string literal
cflags="-g -O1 -std=gnu11 $sanitize -include $builddir/autoconfig.h -I$srcdir/src -I$srcdir/fuzz \
        -DSYSCONFDIR=\"/etc\" -DDEFAULT_CONFIG_PATH=\"/etc/ecr-token-refresh/config.yaml\" \
        -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION $deps_cflags"

# The library: every .c of libecr_a_SOURCES in Makefile.am ("=" and "+=" lines, with continuations).
lib_sources=$(awk '
        /^libecr_a_SOURCES[ \t]*\+?=/ { on = 1 }
        on { for (i = 1; i <= NF; i++) if ($i ~ /\.c$/) print $i; if ($NF != "\\") on = 0 }
' "$srcdir/Makefile.am")
if [ -z "$lib_sources" ]; then
        echo "run.sh: no libecr_a_SOURCES found in $srcdir/Makefile.am" >&2
        exit 2
fi

if [ $# -gt 0 ]; then
        targets=
        for t in "$@"; do
                t=${t#fuzz-}
                t=${t%.c}
                targets="$targets fuzz-$t"
        done
else
        targets=$(cd "$srcdir/fuzz" && ls fuzz-*.c | sed 's/\.c$//')
fi

# Objects are rebuilt when their source, a header or the flags are newer than them (make-like,
# without dependency tracking: any header change rebuilds all).
newest_header=$(ls -t "$srcdir"/src/*.h "$srcdir"/fuzz/fuzz.h "$builddir/autoconfig.h" "$0" | head -n 1)
compile() { # source object
        if [ ! -f "$2" ] || [ "$1" -nt "$2" ] || [ "$newest_header" -nt "$2" ]; then
                rm -f "$2"
                $CLANG $cflags -fsanitize=fuzzer-no-link -c "$1" -o "$2" || return 1
        fi
}

echo "== building $(echo $targets | wc -w) targets with $($CLANG --version | head -n 1)"
failed_build=0
objs=
running=0
for src in $lib_sources; do
        obj="$out/obj/$(echo "$src" | tr / _ | sed 's/\.c$/.o/')"
        objs="$objs $obj"
        compile "$srcdir/$src" "$obj" &
        running=$((running + 1))
        if [ $running -ge "$jobs" ]; then
                wait
                running=0
        fi
done
wait
for obj in $objs; do
        [ -f "$obj" ] || { echo "run.sh: failed to compile $obj" >&2; failed_build=1; }
done
[ $failed_build = 0 ] || exit 2
rm -f "$out/libecr-fuzz.a"
ar rcs "$out/libecr-fuzz.a" $objs || exit 2

for t in $targets; do
        if [ ! -f "$srcdir/fuzz/$t.c" ]; then
                echo "run.sh: no such target: $srcdir/fuzz/$t.c" >&2
                failed_build=1
                continue
        fi
        compile "$srcdir/fuzz/$t.c" "$out/obj/$t.o" &&
                $CLANG $sanitize -fsanitize=fuzzer "$out/obj/$t.o" "$out/libecr-fuzz.a" $deps_libs -o "$out/$t" ||
                { echo "run.sh: failed to build $t" >&2; failed_build=1; }
done
[ $failed_build = 0 ] || exit 2
$build_only && { echo "== built in $out"; exit 0; }

status=0
summary=
for t in $targets; do
        seeds="$srcdir/fuzz/corpus/$t"
        work="$out/corpus/$t"
        mkdir -p "$work" "$seeds"
        dict=
        [ -f "$srcdir/fuzz/$t.dict" ] && dict="-dict=$srcdir/fuzz/$t.dict"
        log="$out/$t.log"
        if [ "$seconds" = 0 ]; then
                echo "== $t: replaying $(ls "$seeds" | wc -l) seeds"
                # Every seed once, each must pass.
                set -- "$seeds"/*
                if [ ! -e "$1" ]; then
                        summary="$summary
  skipped $t (no seeds in $seeds)"
                        continue
                fi
                "$out/$t" -runs=1 $dict "$@" >"$log" 2>&1
        else
                echo "== $t: ${seconds}s"
                # shellcheck disable=SC2086
                "$out/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
                        -print_final_stats=1 -artifact_prefix="$out/artifacts/$t-" ${FUZZ_SEED:+-seed=$FUZZ_SEED} $dict ${FUZZ_ARGS:-} \
                        "$work" "$seeds" >"$log" 2>&1
        fi
        rc=$?
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
        cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
        if [ $rc = 0 ]; then
                summary="$summary
  ok      $t ${execs:+$execs runs, }${cov:-}"
        else
                status=1
                summary="$summary
  FAILED  $t (exit $rc; log $log)"
                grep -E '^(==[0-9]+==ERROR|SUMMARY|.*contract broken|.*runtime error)' "$log" | head -n 5
                ls "$out/artifacts/$t-"* 2>/dev/null | head -n 3
        fi
done
echo "== results:$summary"
exit $status
