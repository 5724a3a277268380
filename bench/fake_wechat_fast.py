#!/usr/bin/python3
"""The fake WeChat (tools/fake_wechat) as the benchmarks run it: the same
server with TCP_NODELAY on its sockets and no per-request log line.

The fake writes a reply's headers and body in two send() calls; with Nagle's
algorithm on, the body then waits for the client's delayed ACK (40 ms on
Linux) once a keep-alive connection leaves TCP quick-ack mode, and login
would measure that stall rather than either program. Arguments are the
fake's own (see tools/fake_wechat/fake_wechat.py)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools", "fake_wechat"))
import fake_wechat  # noqa: E402

fake_wechat.FakeHandler.disable_nagle_algorithm = True

if __name__ == "__main__":
    sys.exit(fake_wechat.main(sys.argv[1:] + ["--quiet"]))
