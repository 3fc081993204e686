"""Run the test interfaces' server in a process of its own: prints its port, serves until stdin
closes. Used where a test must watch the server's memory from outside. With the argument
``auth`` it authenticates (NTLM, the account ``fuzz``, password ``fuzz password``) and takes
calls at packet integrity and above."""

from __future__ import annotations

import sys

from pydcom import ntlm
from pydcom.rpc.security import AuthLevel, ServerAuth
from tests.rpc.support import start_server

ACCOUNT = ("fuzz", "fuzz password")


def main() -> None:
    auth = None
    if sys.argv[1:] == ["auth"]:
        nt_hash = ntlm.nt_hash(ACCOUNT[1])
        auth = ServerAuth(lambda user, domain: nt_hash if user.lower() == ACCOUNT[0] else None,
                          min_level=AuthLevel.PKT_INTEGRITY)
    server = start_server(auth, max_request_size=1 << 20)
    print(server.address[1], flush=True)
    try:
        sys.stdin.read()
    finally:
        server.close()


if __name__ == "__main__":
    main()
