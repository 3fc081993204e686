"""The service's SCM: remote activation through IRemoteSCMActivator and IActivation
(MS-DCOM 3.1.2.5.2).

A request names a CLSID and the IIDs wanted. The activator finds the class (REGDB_E_CLASSNOTREG
if it is unknown), finds the server process serving it (starting it if need be:
CO_E_SERVER_EXEC_FAILURE if it does not come up), and asks that process, in one local call, to
create the object (or take its class object, for RemoteGetClassObject) and marshal it as each
requested interface. The OBJREFs go to the client as they are, with the exporter's OXID,
bindings and Remote Unknown IPID (MS-DCOM 3.1.2.5.2.3).
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass

from pydcom import hresult
from pydcom.guid import GUID_NULL, format_guid
from pydcom.hresult import ComError
from pydcom.memo import Memo
from pydcom.rpc import Interface
from pydcom.rpc.calls import CallReceived
from pydcom.rpc.errors import RpcError
from pydcom.rpc.security import UNAUTHENTICATED, CallSecurity
from pydcom.runtime.client import ClientRuntime
from pydcom.runtime.endpoints import pick_endpoint
from pydcom.runtime.orpc_checks import check_orpcthis
from pydcom.runtime.permissions import GroupsOf, permits
from pydcom.service.classes import ClassStore
from pydcom.service.hosting import Hosting
from pydcom.service.resolver import ExporterRecord
from pydcom.wire import iactivation, ids, local
from pydcom.wire import iremotescmactivator as scm
from pydcom.wire.activation_properties import (
    ActivationReply,
    ActivationRequest,
    check_client_context,
    decode_props_out,
    reply_blob,
)
from pydcom.wire.errors import WireError
from pydcom.wire.orpc import (
    COMVERSION,
    CURRENT_VERSION,
    ORPCTHAT,
    dualstringarray_ndr,
)

log = logging.getLogger(__name__)
_activate_stubs = Memo(1024)  # (CLSID, IIDs, class object?, token, caller) -> its stub


@dataclass(frozen=True)
class Activated:
    """What a server process answered: the HRESULT of the creation, the exporter, one HRESULT
    per IID and the serialized PropsOutInfo; only ``hr`` when nothing was created."""

    hr: int
    record: ExporterRecord | None = None
    results: tuple[int, ...] = ()
    props_out: bytes = b""


class Activator:
    """The activation methods of one machine's service."""

    def __init__(self, classes: ClassStore, hosting: Hosting, runtime: ClientRuntime,
                 groups_of: GroupsOf = lambda user: frozenset()) -> None:
        """``groups_of(user)``: the groups a launch permission may name the caller by."""
        self.classes = classes
        self.groups_of = groups_of
        self.hosting = hosting
        self.runtime = runtime  # pooled connections to the server processes
        # Each exporter's ScmReplyInfo, serialized once: it is the same in every reply.
        self._scm_replies: dict[tuple, tuple[uuid.UUID, bytes]] = {}

    def interfaces(self) -> list[Interface]:
        # IRemoteSCMActivator opnums 0-2 are never used on the wire; calls to them fault
        # nca_s_op_rng_error like any opnum the interface lacks (MS-DCOM 3.1.2.5.2.2, <59>).
        return [
            Interface(scm.SCM_SYNTAX, {
                scm.OP_REMOTE_GET_CLASS_OBJECT: lambda call: self._scm(call, class_object=True),
                scm.OP_REMOTE_CREATE_INSTANCE: lambda call: self._scm(call, class_object=False),
            }, "IRemoteSCMActivator"),
            Interface(iactivation.ACTIVATION_SYNTAX,
                      {iactivation.OP_REMOTE_ACTIVATION: self._remote_activation},
                      "IActivation"),
        ]

    # -- the work ----------------------------------------------------------------------------
    def activate(self, clsid: uuid.UUID, iids: tuple[uuid.UUID, ...], class_object: bool,
                 security: CallSecurity = UNAUTHENTICATED) -> Activated:
        """Ask the server process of ``clsid`` (started if need be) for the object, if the
        caller ``security`` names may launch and activate it (MS-DCOM 3.1.2.5.2.3)."""
        entry = self.classes.lookup(clsid)
        if entry is None or not (entry.python or entry.command):
            return Activated(hresult.REGDB_E_CLASSNOTREG)
        # Launch and activation permission; and access, without which the object it would
        # make could not be called, so none is made.
        for kind, permission in (("launch", entry.launch_permission),
                                 ("access", entry.access_permission)):
            if not permits(permission, security, self.groups_of):
                log.info("activation of %s refused to %s: not in its %s permission",
                         format_guid(clsid), security.principal or "an anonymous caller", kind)
                return Activated(hresult.E_ACCESSDENIED)
        for attempt in (0, 1):
            record = self.hosting.server_for(entry)
            token = self.hosting.token_of(record.oxid)
            key = (clsid, iids, class_object, token, security.identity)
            stub = _activate_stubs.get(key)
            if stub is None:  # the same classes are asked for again and again
                stub = _activate_stubs.keep(key, local.ActivateRequest(
                    clsid, 1 if class_object else 0, len(iids), list(iids), token,
                    security.identity).encode())
            try:
                answer = local.ActivateResponse.decode(self.runtime.call(
                    pick_endpoint(record.bindings), local.SERVER_SYNTAX, local.OP_ACTIVATE, stub))
            except RpcError as exc:
                log.info("server of %s did not answer (%s)", format_guid(clsid), exc)
                if self.hosting.running(record.oxid):
                    # Alive but busy or refusing (its connection limit): a second server of
                    # the class would only split its objects. Said as it is.
                    raise
                # The server went away since it registered: start it again, once.
                self.hosting.forget(record.oxid)
                if attempt:
                    raise ComError(hresult.CO_E_SERVER_EXEC_FAILURE, str(exc)) from None
                continue
            if answer.count != len(iids) or len(answer.results) != len(iids):
                raise ComError(hresult.RPC_E_UNEXPECTED, "the server answered the wrong count")
            if not answer.propsOut:
                return Activated(answer.hr)
            return Activated(answer.hr, record, tuple(answer.results), answer.propsOut)
        raise AssertionError("unreachable")

    def _safely(self, clsid: uuid.UUID, iids: tuple[uuid.UUID, ...], class_object: bool,
                security: CallSecurity) -> Activated:
        try:
            return self.activate(clsid, iids, class_object, security)
        except ComError as exc:
            return Activated(exc.hresult)

    # -- IRemoteSCMActivator (MS-DCOM 3.1.2.5.2.3.2-3) ----------------------------------------
    def _scm(self, call: CallReceived, class_object: bool) -> bytes:
        started = time.perf_counter()
        clsid, code, answer = self._scm_reply(call, class_object)
        _log_activation(call, "RemoteGetClassObject" if class_object else "RemoteCreateInstance",
                        clsid, code, started)
        return answer

    def _scm_reply(self, call: CallReceived, class_object: bool
                   ) -> tuple[uuid.UUID | None, int, bytes]:
        """The answer, with the CLSID (None if unreadable) and HRESULT it carries."""
        if class_object:
            request = scm.RemoteGetClassObjectRequest.decode(call.stub, exact=False)
        else:
            request = scm.RemoteCreateInstanceRequest.decode(call.stub, exact=False)
        check_orpcthis(request.orpcthis, orpc=False)
        activation = problem = None
        try:
            activation = ActivationRequest.decode(request.pActProperties)
            if activation.client_context is not None:
                check_client_context(activation.client_context)
        except WireError as exc:
            problem = exc
        clsid = activation.clsid if activation is not None else None
        # Aggregation is refused ahead of any fault in the properties, as before they were
        # read for the log's sake.
        if not class_object and request.pUnkOuter is not None:
            return clsid, hresult.CLASS_E_NOAGGREGATION, self._scm_answer(
                hresult.CLASS_E_NOAGGREGATION)
        if activation is None or problem is not None:
            log.info("bad activation request from %s: %s", _peer(call), problem)
            code = hresult.RPC_E_INVALID_OBJREF if "context" in str(problem) else hresult.E_INVALIDARG
            return clsid, code, self._scm_answer(code)
        version = activation.client_version
        if version.MajorVersion != CURRENT_VERSION.MajorVersion:
            return clsid, hresult.RPC_E_VERSION_MISMATCH, self._scm_answer(
                hresult.RPC_E_VERSION_MISMATCH)
        done = self._safely(activation.clsid, activation.iids, class_object, call.security)
        record = done.record
        if record is None:
            return clsid, done.hr, self._scm_answer(done.hr)
        bindings = record.bindings.seen_by(call)
        negotiated = _negotiated(version)
        key = (record.oxid, bindings, negotiated.MinorVersion, record.authn_hint)
        scm_reply = self._scm_replies.get(key)
        if scm_reply is None:
            if len(self._scm_replies) > 256:
                self._scm_replies.clear()
            scm_reply = self._scm_replies[key] = ActivationReply(
                record.oxid, dualstringarray_ndr(bindings), record.ipid_rem_unknown,
                record.authn_hint, negotiated, activation.iids, done.results
            ).scm_reply_property()
        return clsid, done.hr, scm.RemoteActivationPropertiesResponse(
            ORPCTHAT(), reply_blob(done.props_out, scm_reply), done.hr).encode()

    @staticmethod
    def _scm_answer(code: int) -> bytes:
        return scm.RemoteActivationPropertiesResponse(ORPCTHAT(), None, code).encode()

    # -- IActivation (MS-DCOM 3.1.2.5.2.3.1) ----------------------------------------------------
    def _remote_activation(self, call: CallReceived) -> bytes:
        started = time.perf_counter()
        # j-Interop (and node-dcom) append 10 bytes after aRequestedProtseqs; Windows, and so
        # pydcom, reads the parameters and ignores what follows.
        request = iactivation.RemoteActivationRequest.decode(call.stub, exact=False)
        check_orpcthis(request.orpcthis, orpc=False)
        iids = tuple(request.pIIDs or ())
        count = len(iids)
        version = request.orpcthis.version
        if not 1 <= request.Interfaces <= 0x8000 or request.Interfaces != count:
            done = Activated(hresult.E_INVALIDARG)
        elif version.MajorVersion != CURRENT_VERSION.MajorVersion:
            done = Activated(hresult.RPC_E_VERSION_MISMATCH)
        else:
            done = self._safely(request.Clsid, iids, request.Mode == ids.MODE_GET_CLASS_OBJECT,
                                call.security)
        code, record, pointers = done.hr, done.record, None
        if record is not None and not code & 0x80000000:
            try:
                _, _, pointers = decode_props_out(done.props_out)
            except WireError as exc:
                log.warning("server of %s answered a bad PropsOutInfo: %s",
                            format_guid(request.Clsid), exc)
                code = hresult.RPC_E_UNEXPECTED
        _log_activation(call, "RemoteActivation", request.Clsid, code, started)
        if pointers is None:
            # A failed phr: NULL bindings, empty pointers, results all zero.
            return iactivation.RemoteActivationResponse(
                ORPCTHAT(), 0, None, GUID_NULL, 0, CURRENT_VERSION, code, [None] * count,
                [0] * count, 0).encode()
        return iactivation.RemoteActivationResponse(
            ORPCTHAT(), record.oxid, dualstringarray_ndr(record.bindings.seen_by(call)),
            record.ipid_rem_unknown, record.authn_hint, _negotiated(version), code,
            list(pointers), list(done.results), 0).encode()


def _peer(call: CallReceived) -> str:
    """The caller's address as "host[port]", the way pydcom writes endpoints."""
    if call.connection is None:
        return "unknown"
    host, port = call.connection.peer[:2]
    return f"{host}[{port}]"


def _log_activation(call: CallReceived, method: str, clsid: uuid.UUID | None, code: int,
                    started: float) -> None:
    # Checked first: the GUID and HRESULT texts cost more than the rest of a cached reply.
    if log.isEnabledFor(logging.INFO):
        log.info("activation of %s from %s by %s: %s in %.1f ms",
                 format_guid(clsid) if clsid is not None else "?", _peer(call), method,
                 hresult.label_of(code), (time.perf_counter() - started) * 1000)


def _negotiated(client: COMVERSION) -> COMVERSION:
    """The version both sides speak: ours, or the client's lower minor (MS-DCOM 1.7)."""
    return COMVERSION(CURRENT_VERSION.MajorVersion,
                      min(CURRENT_VERSION.MinorVersion, client.MinorVersion))
