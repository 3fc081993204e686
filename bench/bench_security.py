"""What each authentication level costs, as ratios against no authentication in the same run.

    python bench/bench_security.py [--seconds 1] [--rounds 3]

For each placement (server and client on one CPU; split across two) and each level (none,
connect, integrity, privacy), with NTLM (MS-RPCE 3.3.1.5.2):
  - a null DCE/RPC call and a 4 KiB echo on an open connection: calls/s;
  - a new connection: connect, bind with the NTLM handshake (bind, bind_ack, auth3), one call;
  - one DCOM activation (RemoteCreateInstance of Demo.Calculator, a warm server process, on a
    pooled connection) and its release, through a Service that authenticates.
Rounds alternate the levels, and medians are shown. A benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

from peers import Server, placements  # noqa: E402 - bench/, the script's own folder

from pydcom import ntlm  # noqa: E402
from pydcom.rpc import Interface, RpcClient, RpcServer, SyntaxId  # noqa: E402
from pydcom.rpc.security import AuthLevel, ClientAuth, ServerAuth  # noqa: E402

NULL_IF = SyntaxId(uuid.UUID("0b5a2f6e-8d1c-4c51-9a3e-7f00000000b2"), 1, 0)
HOST = "127.0.0.1"
USER, PASSWORD = "bench", "bench password"
LEVELS = (AuthLevel.NONE, AuthLevel.CONNECT, AuthLevel.PKT_INTEGRITY, AuthLevel.PKT_PRIVACY)
ECHO = bytes(range(256)) * 16  # 4 KiB


def auth_for(level: int) -> ClientAuth | None:
    return None if level == AuthLevel.NONE else ClientAuth(USER, PASSWORD, level=level)


# -- the server processes --------------------------------------------------------------------------
def serve_rpc() -> None:
    hashes = {USER: ntlm.nt_hash(PASSWORD)}
    server = RpcServer(HOST, 0, interfaces=[Interface(NULL_IF, {
        0: lambda call: b"", 1: lambda call: call.stub})],
        auth=ServerAuth(lambda user, domain: hashes.get(user.lower()), min_level=AuthLevel.NONE))
    server.start()
    print(server.address[1], flush=True)
    sys.stdin.read()
    server.close()


def serve_dcom(level: str = "none", prefix: str = "pydcom-bench-",
               ping_period: float = 120.0) -> None:
    """A Service with NTLM against an accounts file holding USER, taking calls at ``level``
    and up, serving Demo.Calculator; its port on stdout, until stdin closes."""
    from pydcom import accounts, registry
    from pydcom.examples.calculator import CALC_CLSID
    from pydcom.runtime.credentials import server_auth
    from pydcom.service.registry_store import RegistryClassStore
    from pydcom.service.service import Service

    with tempfile.TemporaryDirectory(prefix=prefix) as folder:
        path = os.path.join(folder, "accounts")
        accounts.add_user(path, USER, PASSWORD)
        reg = registry.Registry(os.path.join(folder, "server.sqlite3"))
        reg.register(registry.ClassEntry(CALC_CLSID, progid="Demo.Calculator",
                                         inproc_server="pydcom.examples.calculator:Calculator"))
        service = Service(RegistryClassStore(reg), [HOST], 0, grace=600,
                          ping_period=ping_period, auth=server_auth(path, level)).start()
        print(service.port, flush=True)
        sys.stdin.read()
        service.close()
        reg.close()


# -- measurements ----------------------------------------------------------------------------------
def rate(port: int, level: int, opnum: int, stub: bytes, seconds: float) -> float:
    with RpcClient(HOST, port, auth=auth_for(level), timeout=10) as client:
        client.call(NULL_IF, opnum, stub)
        count, deadline = 0, time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            for _ in range(50):
                client.call(NULL_IF, opnum, stub)
            count += 50
        return count / seconds


def new_connection(port: int, level: int, seconds: float) -> float:
    """Seconds per connect + authenticated bind + one call."""
    times = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(times) < 5:
        start = time.perf_counter()
        with RpcClient(HOST, port, auth=auth_for(level), timeout=10) as client:
            client.call(NULL_IF, 0)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def activation(port: int, level: int, seconds: float) -> float:
    """Seconds per RemoteCreateInstance and release, a warm server, pooled connections."""
    from pydcom.examples.calculator import CALC_CLSID
    from pydcom.runtime.client import ClientRuntime
    from pydcom.runtime.iids import IID_IDispatch
    from pydcom.runtime.scm_client import remote_activate

    runtime = ClientRuntime(auth=auth_for(level), release_delay=0)
    try:
        times = []
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline or len(times) < 5:
            start = time.perf_counter()
            [(_, proxy)] = remote_activate(runtime, (HOST, port), CALC_CLSID, [IID_IDispatch])
            proxy.release()
            times.append(time.perf_counter() - start)
        return statistics.median(times[1:])
    finally:
        runtime.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; medians shown")
    parser.add_argument("--serve", choices=("rpc", "dcom"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        (serve_rpc if args.serve == "rpc" else serve_dcom)()
        return
    print(f"{args.seconds:g} s per measurement, median of {args.rounds} alternating rounds; "
          f"(x) = ratio to no authentication in the same run")
    for label, server_cpu, client_cpu in placements():
        os.sched_setaffinity(0, {client_cpu})
        with Server("rpc", server_cpu, __file__) as rpc, \
                Server("dcom", server_cpu, __file__) as dcom:
            results: dict[tuple[str, int], list[float]] = {}
            for _ in range(args.rounds):
                for level in LEVELS:
                    for name, measure in (
                            ("null call/s", lambda: rate(rpc.port, level, 0, b"", args.seconds)),
                            ("4 KiB echo/s", lambda: rate(rpc.port, level, 1, ECHO, args.seconds)),
                            ("connect+bind+call ms",
                             lambda: 1000 * new_connection(rpc.port, level, args.seconds / 2)),
                            ("activation ms",
                             lambda: 1000 * activation(dcom.port, level, args.seconds))):
                        results.setdefault((name, level), []).append(measure())
        print(f"\n{label} (server on CPU {server_cpu}, client on CPU {client_cpu})")
        print(f"{'':24}" + "".join(f"{AuthLevel(level).short_name:>20}" for level in LEVELS))
        for name in ("null call/s", "4 KiB echo/s", "connect+bind+call ms", "activation ms"):
            base = statistics.median(results[(name, AuthLevel.NONE)])
            cells = []
            for level in LEVELS:
                value = statistics.median(results[(name, level)])
                cells.append(f"{value:>12,.{1 if 'ms' in name else 0}f} ({value / base:.2f}x)")
            print(f"{name:24}" + "".join(f"{cell:>20}" for cell in cells))


if __name__ == "__main__":
    main()
