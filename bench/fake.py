#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tests/fakeaws.py as a benchmark endpoint: the same fake and options (--delay, --tls-cert, ...),
with Nagle's algorithm off on its sockets. The fake writes the head and the body of an answer
separately; on a reused connection Nagle then holds the body back until the client's delayed ACK,
adding ~40 ms to every request but a connection's first, which real endpoints do not do."""

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "tests"))
import fakeaws  # noqa: E402

fakeaws.FakeAwsHandler.disable_nagle_algorithm = True

if __name__ == "__main__":
    sys.exit(fakeaws.main())
