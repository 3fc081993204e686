"""The demo behind ``make demo``: a DCE/RPC server on loopback and calls from many threads.

    python -m pydcom.demo [--host 127.0.0.1] [--threads 16] [--calls 200]
"""

from __future__ import annotations

import argparse
import struct
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from pydcom.rpc import Interface, RpcClient, RpcFault, RpcServer, SyntaxId

CALCULATOR = SyntaxId(uuid.UUID("5d3a1c9e-2f48-4b6a-9e0d-7c1b2a3f4e51"), 1, 0)
ECHO = SyntaxId(uuid.UUID("8e2b4d6f-1a3c-4e5d-9f70-6b5a4c3d2e1f"), 1, 0)
_PAIR = struct.Struct("<ii")
_INT = struct.Struct("<i")


def _add(call) -> bytes:
    a, b = _PAIR.unpack(call.stub)
    return _INT.pack(a + b)


def _divide(call) -> bytes:
    a, b = _PAIR.unpack(call.stub)
    if b == 0:
        raise RpcFault(0x1C000001, "integer divide by zero")  # nca_s_fault_int_div_by_zero
    return _INT.pack(a // b)


def serve(host: str) -> RpcServer:
    return RpcServer(host, 0, name="demo", interfaces=[
        Interface(CALCULATOR, {0: _add, 1: _divide}, "calculator"),
        Interface(ECHO, {0: lambda call: call.stub}, "echo"),
    ]).start()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pydcom.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args(argv)

    server = serve(args.host)
    host, port = server.address
    print(f"server: DCE/RPC on {host}[{port}] serving calculator {CALCULATOR} and echo {ECHO}")
    try:
        with RpcClient(host, port) as client:
            outcome = client.bind(CALCULATOR)
            print(f"bind: context {outcome.accepted[CALCULATOR]} accepted over NDR 2.0, "
                  f"association group 0x{client.assoc_group_id:x}, "
                  f"fragments up to {client.max_xmit_frag} bytes, features 0x{client.features:x}")
            total = _INT.unpack(client.call(CALCULATOR, 0, _PAIR.pack(2, 3)))[0]
            print(f"call: Add(2, 3) = {total}")
            try:
                client.call(CALCULATOR, 1, _PAIR.pack(1, 0))
            except RpcFault as fault:
                print(f"call: Divide(1, 0) -> fault 0x{fault.status:08X}, "
                      f"reported as {fault.name} 0x{fault.hresult:08X}")
            try:
                client.call(CALCULATOR, 9)
            except RpcFault as fault:
                print(f"call: opnum 9 -> fault 0x{fault.status:08X} ({fault.name})")
            payload = bytes(range(256)) * 4096
            start = time.perf_counter()
            assert client.call(ECHO, 0, payload) == payload
            print(f"alter_context + call: echo of {len(payload) >> 10} KiB in "
                  f"{-(-len(payload) // client.max_xmit_frag)} fragments each way, "
                  f"{(time.perf_counter() - start) * 1000:.1f} ms")

        errors: list[BaseException] = []
        clients = [RpcClient(host, port) for _ in range(4)]

        def worker(index: int) -> int:
            client = clients[index % len(clients)]
            done = 0
            for i in range(args.calls):
                try:
                    got = _INT.unpack(client.call(CALCULATOR, 0, _PAIR.pack(index, i)))[0]
                    if got != index + i:
                        raise AssertionError(f"Add({index}, {i}) = {got}")
                    done += 1
                except Exception as exc:  # noqa: BLE001 - counted and reported below
                    errors.append(exc)
            return done

        start = time.perf_counter()
        with ThreadPoolExecutor(args.threads) as pool:
            done = sum(pool.map(worker, range(args.threads)))
        elapsed = time.perf_counter() - start
        for client in clients:
            client.close()
        print(f"threads: {args.threads} threads on {len(clients)} connections made {done} calls "
              f"in {elapsed:.2f} s ({done / elapsed:,.0f} calls/s), {len(errors)} errors")
        for exc in errors[:5]:
            print(f"  error: {exc!r}")
        return 0 if not errors else 1
    finally:
        server.close()
        print("server: closed")


if __name__ == "__main__":
    sys.exit(main())
