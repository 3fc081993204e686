"""Who this process is on the network, and whom its servers let in.

Client side: the ``ClientAuth`` each machine gets (the COAUTHINFO role, MS-DCOM 2.2.22.2.1): the
one a ``ServerInfo(name, auth=...)`` gave for that machine, else the process's own, from the
environment (PYDCOM_USER, PYDCOM_PASSWORD, PYDCOM_AUTH_LEVEL), else none.

Server side: the ``ServerAuth`` of a service and of the server processes it starts, NTLM
against the machine's accounts file (pydcom.accounts), with the least level a call needs; and
the SECURITYBINDINGs (MS-DCOM 2.2.19.4) that tell clients to authenticate.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Mapping

from pydcom import ntlm
from pydcom.rpc.security import AUTHN_WINNT, AuthLevel, ClientAuth, ServerAuth
from pydcom.runtime.permissions import Permission, permits
from pydcom.wire.dualstringarray import SecurityBinding

ENV_USER = "PYDCOM_USER"  # "user" or "DOMAIN\\user"
ENV_PASSWORD = "PYDCOM_PASSWORD"
ENV_AUTH_LEVEL = "PYDCOM_AUTH_LEVEL"  # connect, integrity (the default) or privacy
# What a service tells the server processes it starts, so that their exporters ask what it asks.
ENV_SERVER_AUTH_LEVEL = "PYDCOM_SERVER_AUTH_LEVEL"
ENV_SERVER_ACCOUNTS = "PYDCOM_SERVER_ACCOUNTS"
ENV_SERVER_ACCESS = "PYDCOM_SERVER_ACCESS"  # the class's AppID access permission, JSON


def client_auth(user: str, password: str, level: int | str = AuthLevel.PKT_INTEGRITY
                ) -> ClientAuth:
    """A ClientAuth from ``user`` or ``DOMAIN\\user``, a password and a level."""
    domain, _, name = user.rpartition("\\")
    if isinstance(level, str):
        level = AuthLevel.named(level)
    return ClientAuth(name, password, domain, level=level)


def client_auth_from_environment(env: Mapping[str, str] = os.environ) -> ClientAuth | None:
    """The process's own credentials: PYDCOM_USER and PYDCOM_PASSWORD, at PYDCOM_AUTH_LEVEL."""
    user = env.get(ENV_USER)
    if not user:
        return None
    return client_auth(user, env.get(ENV_PASSWORD, ""), env.get(ENV_AUTH_LEVEL) or "integrity")


class Credentials:
    """The ClientAuth for each host: an immutable map replaced whole under one lock."""

    def __init__(self, default: ClientAuth | None = None) -> None:
        self.default = default
        self._by_host: dict[str, ClientAuth] = {}
        self._lock = threading.Lock()

    def set_default(self, auth: ClientAuth | None) -> None:
        with self._lock:
            self.default = auth

    def for_host(self, host: str) -> ClientAuth | None:
        return self._by_host.get(host.lower(), self.default)

    def remember(self, host: str, auth: ClientAuth) -> None:
        """Use ``auth`` for every connection to ``host`` from now on (its service, its
        resolver and its exporters), as a COSERVERINFO's credentials do."""
        with self._lock:
            self._by_host = {**self._by_host, host.lower(): auth}


def ntlm_machine_name() -> str:
    """This machine's NetBIOS-style name, as the NTLM CHALLENGE names it."""
    return ntlm.machine_names()[0]


def security_bindings(auth: ServerAuth | None) -> tuple[SecurityBinding, ...]:
    """The SECURITYBINDINGs a resolver or exporter advertises: NTLM with the machine's name
    when it authenticates, none when it does not."""
    if auth is None:
        return ()
    return (SecurityBinding(AUTHN_WINNT, ntlm_machine_name()),)


def server_auth(accounts_path: str, min_level: int | str, access: Permission = None
                ) -> ServerAuth:
    """NTLM against the accounts file (re-read when it changes), needing ``min_level``; with
    ``access`` (an AccessPermission, ``pydcom.runtime.permissions``) every call is checked
    against it too."""
    from pydcom.accounts import (
        AccountsSource,  # the file is only read where a server runs
    )

    source = AccountsSource(accounts_path)
    if isinstance(min_level, str):
        min_level = AuthLevel.named(min_level)

    def groups_of(user: str) -> frozenset[str]:
        return source.current().groups_of(user)

    authorize = None
    if access is not None:
        def authorize(security) -> bool:
            return permits(access, security, groups_of)

    return ServerAuth(lambda user, domain: source.current().nt_hash_of(user, domain),
                      min_level=min_level, accounts_path=accounts_path, groups_of=groups_of,
                      authorize=authorize)


def server_environment(auth: ServerAuth | None, access: Permission = None) -> dict[str, str]:
    """What a service puts in a server process's environment for ``server_auth_from_environment``:
    its accounts and level, and the access permission of the class the process serves (read
    when the process starts, as Windows reads an AppID's AccessPermission)."""
    if auth is None or auth.accounts_path is None:
        return {}
    env = {ENV_SERVER_AUTH_LEVEL: AuthLevel(auth.min_level).short_name,
           ENV_SERVER_ACCOUNTS: auth.accounts_path}
    if access is not None:
        env[ENV_SERVER_ACCESS] = json.dumps(list(access))
    return env


def server_auth_from_environment(env: Mapping[str, str] = os.environ) -> ServerAuth | None:
    """A server process's ServerAuth, as the service that started it asks; None without one."""
    path = env.get(ENV_SERVER_ACCOUNTS)
    if not path:
        return None
    access = env.get(ENV_SERVER_ACCESS)
    return server_auth(path, env.get(ENV_SERVER_AUTH_LEVEL) or "integrity",
                       tuple(json.loads(access)) if access else None)
