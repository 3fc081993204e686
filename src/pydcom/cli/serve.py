"""pydcom serve: the machine's activation service (IObjectExporter, IRemoteSCMActivator,
IActivation) on the addresses given, until interrupted."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading

from pydcom import accounts
from pydcom.cli.common import CliError, UsageError, add_command, open_from
from pydcom.rpc.security import AuthLevel
from pydcom.runtime.credentials import server_auth
from pydcom.runtime.endpoints import RESOLVER_PORT
from pydcom.runtime.exporter import DEFAULT_PING_PERIOD
from pydcom.service.registry_store import RegistryClassStore
from pydcom.service.service import Service

LEVELS = ("none", "connect", "integrity", "privacy")


def add_commands(commands: argparse._SubParsersAction) -> None:
    p = add_command(commands, "serve", run, "run the activation service")
    p.add_argument("--bind", action="append", metavar="ADDR",
                   help="an address to listen on (repeatable; default 127.0.0.1)")
    p.add_argument("--port", type=int, default=RESOLVER_PORT,
                   help="TCP port (default 135; 0 picks a free one; clients name a machine on "
                        "another port host[port])")
    p.add_argument("--ping-period", type=float, default=DEFAULT_PING_PERIOD, metavar="SECONDS",
                   help="the ping period clients keep (MS-DCOM: 120 s; shorter needs "
                        "--short-ping-period)")
    p.add_argument("--short-ping-period", action="store_true",
                   help="allow a --ping-period under 120 s, for tests: Windows clients ping "
                        "every 120 s whatever the service says, and would lose their objects")
    p.add_argument("--start-timeout", type=float, default=30.0, metavar="SECONDS",
                   help="how long a starting server may take to register its classes")
    p.add_argument("--grace", type=float, default=5.0, metavar="SECONDS",
                   help="how long a server with no objects left lives on")
    p.add_argument("--min-auth-level", choices=LEVELS, default="integrity",
                   help="the least authentication a call needs (default integrity, as hardened "
                        "Windows asks); ServerAlive2 is always open")
    p.add_argument("--accounts", metavar="PATH",
                   help=f"the accounts NTLM logons are checked against (default: "
                        f"${accounts.ENV_ACCOUNTS}, else '{accounts.FILE_NAME}' beside the "
                        "registry file; see pydcom users)")
    p.add_argument("-v", "--verbose", action="count", default=0,
                   help="-v: say each activation, server process and refused connection; "
                        "-vv: also each ping set")


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.port < 65536:
        raise UsageError(f"pydcom serve: --port {args.port} is not 0-65535")
    for option, value, least in (("--ping-period", args.ping_period, None),
                                 ("--start-timeout", args.start_timeout, None),
                                 ("--grace", args.grace, 0.0)):
        if not (value > 0 if least is None else value >= least):
            raise UsageError(f"pydcom serve: {option} {value:g} must be "
                             f"{'positive' if least is None else 'zero or more'}")
    if args.ping_period < DEFAULT_PING_PERIOD and not args.short_ping_period:
        raise UsageError(f"pydcom serve: --ping-period {args.ping_period:g} is under the "
                         f"{DEFAULT_PING_PERIOD:g} s Windows clients ping at (MS-DCOM 3.2.6.1); "
                         "add --short-ping-period to allow it")
    logging.basicConfig(level=logging.WARNING - 10 * min(args.verbose, 2),
                        format="pydcom serve: %(message)s")
    accounts_path = os.path.abspath(args.accounts or
                                    accounts.default_accounts_path(args.registry))
    auth = server_auth(accounts_path, args.min_auth_level)  # a bad file fails here, said
    classes = RegistryClassStore(open_from(args))
    service = Service(classes, args.bind or ["127.0.0.1"], args.port,
                      ping_period=args.ping_period, start_timeout=args.start_timeout,
                      grace=args.grace, auth=auth)
    try:
        service.start()
    except OSError as exc:
        raise CliError(f"pydcom serve: cannot listen on {exc.filename}: "
                       f"{exc.strerror or exc}") from None
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print(f"pydcom serve: listening on {', '.join(f'{h}[{service.port}]' for h in service.hosts)}",
          flush=True)
    if auth.min_level > AuthLevel.NONE and not os.path.exists(accounts_path):
        logging.getLogger("pydcom.cli").warning(
            "no accounts file %s: every call but ServerAlive2 will be refused until "
            "'pydcom users add NAME' makes one", accounts_path)
    try:
        stop.wait()
    finally:
        service.close()
    return 0
