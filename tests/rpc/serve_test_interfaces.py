"""Run the test interfaces' server in a process of its own: prints its port, serves until stdin
closes. Used where a test must watch the server's memory from outside."""

from __future__ import annotations

import sys

from tests.rpc.support import start_server


def main() -> None:
    server = start_server(max_request_size=1 << 20)
    print(server.address[1], flush=True)
    try:
        sys.stdin.read()
    finally:
        server.close()


if __name__ == "__main__":
    main()
