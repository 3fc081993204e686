"""The demo behind ``make demo``: an activation service standing for machine B, which lets in
only its account "demo" at packet integrity (NTLM), a client for machine A that knows
Demo.Calculator only by its registry entry, remote activation, late-bound calls through
IDispatch, and calls from many threads.

    python -m pydcom.demo [--host 127.0.0.2] [--threads 16] [--calls 200]
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from pydcom.examples.calculator import CALC_CLSID, Calculator, ICalculator  # noqa: F401

DEMO_APPID = uuid.UUID("5d3a1c9e-2f48-4b6a-9e0d-7c1b2a3f4e52")


def main(argv: list[str] | None = None) -> int:
    import pydcom
    from pydcom import accounts, registry
    from pydcom.hresult import ComError
    from pydcom.service.registry_store import RegistryClassStore
    from pydcom.service.service import Service
    from pydcom.runtime.credentials import server_auth

    parser = argparse.ArgumentParser(prog="python -m pydcom.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.2", help="the address standing for machine B")
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="pydcom-demo-") as folder:
        machine_b = registry.Registry(os.path.join(folder, "machine-b.sqlite3"))
        machine_b.register(registry.ClassEntry(CALC_CLSID, name="Demo Calculator",
                                               inproc_server="pydcom.examples.calculator:Calculator"))
        accounts_file = os.path.join(folder, "machine-b-accounts")
        password = secrets.token_urlsafe(12)
        accounts.add_user(accounts_file, "demo", password)
        service = Service(RegistryClassStore(machine_b), [args.host], 0, grace=2,
                          auth=server_auth(accounts_file, "integrity")).start()
        where = f"{args.host}[{service.port}]"
        print(f"machine B: activation service on {where}; Demo Calculator registered there "
              f"to run in a surrogate process; calls need NTLM at packet integrity or above")
        pydcom.initialize_security(pydcom.ClientAuth("demo", password))

        machine_a = registry.Registry(os.path.join(folder, "machine-a.sqlite3"))
        machine_a.register(registry.ClassEntry(CALC_CLSID, progid="Demo.Calculator", appid=DEMO_APPID))
        machine_a.set_appid(registry.AppIdEntry(DEMO_APPID, remote_server_name=where))
        registry.use(machine_a)
        print(f"machine A: Demo.Calculator -> {CALC_CLSID} -> AppID RemoteServerName {where}; "
              f"authenticates as 'demo', every PDU signed")
        try:
            start = time.perf_counter()
            calc = pydcom.dispatch("Demo.Calculator")
            print(f"activation: RemoteCreateInstance on {where} -> {calc} "
                  f"({(time.perf_counter() - start) * 1000:.1f} ms, server process started)")
            print(f"call: Add(2, 3) = {calc.Add(2, 3)}, served by process {calc.ProcessId()} "
                  f"(this is process {os.getpid()})")
            calc.Memory = 7
            print(f"property: Memory = 7, then Memory -> {calc.Memory}")
            print(f"call: Echo([1, 'a', 2.5]) -> {calc.Echo([1, 'a', 2.5])!r}")
            try:
                calc.Divide(1, 0)
            except ComError as exc:
                print(f"call: Divide(1, 0) -> {exc}")
            child = calc.Clone()
            print(f"call: Clone() -> {child}, whose Memory is {child.Memory}")
            child.release()

            errors: list[BaseException] = []
            lock = threading.Lock()

            def worker(index: int) -> int:
                done = 0
                for i in range(args.calls):
                    try:
                        if i % 50 == 0:  # now and then a fresh activation, from this thread
                            pydcom.dispatch("Demo.Calculator").release()
                        if calc.Add(index, i) != index + i:
                            raise AssertionError(f"Add({index}, {i}) is wrong")
                        done += 1
                    except Exception as exc:  # noqa: BLE001 - counted and shown below
                        with lock:
                            errors.append(exc)
                return done

            start = time.perf_counter()
            with ThreadPoolExecutor(args.threads) as pool:
                done = sum(pool.map(worker, range(args.threads)))
            elapsed = time.perf_counter() - start
            print(f"threads: {args.threads} threads made {done} calls and "
                  f"{args.threads * -(-args.calls // 50)} activations in {elapsed:.2f} s "
                  f"({done / elapsed:,.0f} calls/s), {len(errors)} errors")
            for exc in errors[:5]:
                print(f"  error: {exc!r}")
            calc.release()
            return 0 if not errors else 1
        finally:
            registry.use(None)
            service.close()
            machine_a.close()
            machine_b.close()
            print("service stopped; its server process follows it")


if __name__ == "__main__":
    sys.exit(main())
