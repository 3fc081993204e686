"""Method calls on Demo.Calculator, through IDispatch and through the NDR-declared ICalculator,
beside raw sockets, ZeroMQ REQ/REP and Pyro5 measured in the same run (bench/peers.py).

    python bench/bench_automation.py [--seconds 1] [--rounds 3] [--threads 1 8]

- ``calc.Add(1, 2)`` late-bound (pydcom.dispatch: IDispatch::Invoke, MS-OAUT 3.1.4.4), and
  early-bound through ICalculator (an ORPC method declared in NDR), 1 and 8 client threads;
- ``calc.Echo(data)`` with 1 MiB of bytes (a SAFEARRAY of VT_UI1 out and back), MB/s counting
  the payload once per round trip, as peers.py counts its 1 MiB echo.

The pydcom side is a real deployment: `pydcom serve`'s Service with Demo.Calculator in a
surrogate process, both pinned with taskset to the server CPU; the client threads pinned to the
client CPU: the same CPU, then split across two. Rounds alternate pydcom and the peers, and
medians are shown with each figure's ratio to raw sockets and to ZeroMQ. A benchmark, not a
test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [os.path.join(ROOT, "src"), HERE]

import peers  # noqa: E402

import pydcom  # noqa: E402
from pydcom import registry  # noqa: E402
from pydcom.examples.calculator import CALC_CLSID, ICALCULATOR_IID  # noqa: E402

HOST = "127.0.0.1"
MIB = 1024 * 1024


def serve() -> None:
    """The pydcom side: a service on HOST with Demo.Calculator; its port on stdout."""
    from pydcom.service.registry_store import RegistryClassStore
    from pydcom.service.service import Service

    with tempfile.TemporaryDirectory(prefix="pydcom-bench-") as folder:
        reg = registry.Registry(os.path.join(folder, "server.sqlite3"))
        reg.register(registry.ClassEntry(CALC_CLSID, progid="Demo.Calculator",
                                         inproc_server="pydcom.examples.calculator:Calculator"))
        service = Service(RegistryClassStore(reg), [HOST], 0, grace=600).start()
        print(service.port, flush=True)
        sys.stdin.read()
        service.close()
        reg.close()


class PydcomServer:
    def __init__(self, cpu: int) -> None:
        self.process = subprocess.Popen(
            ["taskset", "-c", str(cpu), sys.executable, __file__, "--serve"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        line = self.process.stdout.readline()
        if not line.strip():
            self.stop()
            raise RuntimeError("the pydcom service did not start")
        self.where = f"{HOST}[{int(line)}]"

    def stop(self) -> None:
        try:
            self.process.stdin.close()
            self.process.wait(peers.TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(peers.TIMEOUT)


def measure_pydcom(where: str, reg: registry.Registry, client_cpu: int, seconds: float,
                   threads: int) -> dict[str, float]:
    def late_bound():
        calc = pydcom.dispatch(str(CALC_CLSID), machine=where, registry=reg)
        return (lambda: calc.Add(1, 2)), calc.release

    def early_bound():
        calc = pydcom.create_instance(str(CALC_CLSID), pydcom.CLSCTX.REMOTE_SERVER,
                                      pydcom.ServerInfo(where), iid=ICALCULATOR_IID, registry=reg)
        return (lambda: calc.Add(1, 2)), calc.release

    payload = bytes(MIB)

    def echo():
        calc = pydcom.dispatch(str(CALC_CLSID), machine=where, registry=reg)
        return (lambda: calc.Echo(payload)), calc.release

    affinity = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {client_cpu})
    try:
        return {
            "idispatch": peers.calls_per_second(late_bound, seconds, threads, warmup=50),
            "ndr": peers.calls_per_second(early_bound, seconds, threads, warmup=50),
            "echo_mb_per_s": peers.calls_per_second(echo, seconds, threads) * MIB / 1e6,
        }
    finally:
        os.sched_setaffinity(0, affinity)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; medians shown")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return
    print(f"{args.seconds:g} s per measurement, median of {args.rounds} alternating rounds")
    with tempfile.TemporaryDirectory(prefix="pydcom-bench-") as folder:
        reg = registry.Registry(os.path.join(folder, "client.sqlite3"))
        for label, server_cpu, client_cpu in peers.placements():
            server = PydcomServer(server_cpu)
            try:
                samples: dict[int, list[tuple[dict, dict]]] = {n: [] for n in args.threads}
                for _ in range(args.rounds):
                    for n in args.threads:
                        ours = measure_pydcom(server.where, reg, client_cpu, args.seconds, n)
                        theirs = peers.measure_peers(server_cpu, client_cpu, args.seconds, n,
                                                     rounds=1)
                        samples[n].append((ours, theirs))
            finally:
                server.stop()
            print(f"\n== {label}: servers on CPU {server_cpu}, client threads on CPU {client_cpu}")
            for n, rounds in samples.items():
                ours = {k: statistics.median(r[0][k] for r in rounds) for k in rounds[0][0]}
                theirs = {p: {k: statistics.median(r[1][p][k] for r in rounds)
                              for k in ("calls_per_s", "echo_mb_per_s")} for p in peers.PEERS}
                raw, zmq, pyro = (theirs[p]["calls_per_s"] for p in peers.PEERS)
                print(f"-- {n} client thread{'s' if n > 1 else ''}")
                print(f"   raw socket ping-pong      {raw:10,.0f} calls/s")
                print(f"   ZeroMQ REQ/REP            {zmq:10,.0f} calls/s   {zmq / raw:.2f}x raw")
                print(f"   Pyro5                     {pyro:10,.0f} calls/s   {pyro / raw:.2f}x raw")
                for key, what in (("idispatch", "Add through IDispatch"),
                                  ("ndr", "Add through ICalculator")):
                    rate = ours[key]
                    print(f"   {what:25} {rate:10,.0f} calls/s   {rate / raw:.2f}x raw   "
                          f"{rate / zmq:.2f}x ZeroMQ   {rate / pyro:.2f}x Pyro5")
                raw_mb, zmq_mb, pyro_mb = (theirs[p]["echo_mb_per_s"] for p in peers.PEERS)
                mb = ours["echo_mb_per_s"]
                print(f"   1 MiB echo: raw {raw_mb:,.0f} MB/s, ZeroMQ {zmq_mb:,.0f}, Pyro5 "
                      f"{pyro_mb:,.0f}; Echo through IDispatch {mb:,.0f} MB/s = "
                      f"{mb / raw_mb:.2f}x raw, {mb / zmq_mb:.2f}x ZeroMQ")
        reg.close()


if __name__ == "__main__":
    main()
