#!/bin/bash
# SPDX-License-Identifier: MIT
# The benchmark behind bench/RESULTS.md: ecr-token-refresh against Debian's AWS CLI and against
# itself (cold start, footprint, idle cost, scale, instructions), over HTTP and HTTPS, on loopback.
#
#   bench/run.sh [--quick] [--baseline OLD-BINARY] [--out DIR] [--only cold,footprint,idle,scale,callgrind]
#
# Needs a built tree (make), python3, openssl and, from Debian: awscli time hyperfine valgrind
# (apt-get install awscli time hyperfine valgrind). Not a test: it takes ~6 minutes (--quick: ~2).
# As root it also measures HTTPS against the system trust store ("https-system"): in a mount
# namespace of its own it bind-mounts a copy of /etc/ssl/certs, with the test CA added, over
# /etc/ssl/certs; the host's files are not touched. `bench/run.sh --help` lists every option.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
exec "${PYTHON:-python3}" "$here/bench.py" "$@"
