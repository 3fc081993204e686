"""Run inside a network namespace (see test_addresses.py): a service on 0.0.0.0, reached from
another address of the namespace; prints what each side saw as JSON."""

from __future__ import annotations

import json
import sys

import pydcom
from pydcom.examples.calculator import CALC_CLSID
from pydcom.rpc import RpcClient
from pydcom.runtime.client import client_runtime
from pydcom.service.classes import ClassEntry, StaticClassStore
from pydcom.service.service import Service
from pydcom.hresult import ComError
from pydcom.wire import local
from pydcom.wire import object_exporter as oe
from pydcom.wire.orpc import dualstringarray_of

SERVER, CLIENT = sys.argv[1], sys.argv[2]


def server_alive2(host: str, port: int, source: str | None = None) -> list[str]:
    with RpcClient(host, port, source=source) as client:
        stub = client.call(oe.SYNTAX, oe.OP_SERVER_ALIVE2, oe.EmptyRequest().encode())
    bindings = dualstringarray_of(oe.ServerAlive2Response.decode(stub).ppdsaOrBindings)
    return [b.network_addr for b in bindings.string_bindings]


def main() -> None:
    classes = StaticClassStore([ClassEntry(CALC_CLSID, python="pydcom.examples.calculator:Calculator")])
    with Service(classes, ["0.0.0.0"], 0, grace=0.5) as service:
        port = service.port
        seen = {"port": port,
                "service_bindings": [b.network_addr for b in service.bindings().string_bindings],
                "alive2_from_outside": server_alive2(SERVER, port, CLIENT),
                "alive2_over_loopback": server_alive2("127.0.0.1", port)}
        with RpcClient(SERVER, port, source=CLIENT) as client:
            try:
                client.call(local.SYNTAX, local.OP_LIVE_OIDS, b"")
                seen["private_from_outside"] = "answered"
            except ComError as exc:
                seen["private_from_outside"] = exc.hresult
        calc = pydcom.dispatch(str(CALC_CLSID), machine=f"{SERVER}[{port}]")
        seen["add"] = calc.Add(2, 3)
        runtime = client_runtime()
        seen["oxid_endpoints"] = [info.endpoint[0] for info in runtime.oxids.entries()]
        seen["sources"] = sorted({c.local_address[0] for pool in runtime.connections.pools()
                                  for c in pool.idle()})
        calc.release()
        runtime.close()
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
