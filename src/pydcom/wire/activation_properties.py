"""Activation properties: the BLOB IRemoteSCMActivator carries in and out (MS-DCOM 2.2.22).

The BLOB is dwSize, dwReserved, then the CustomHeader and each property, every one of them its
own type serialization version 1 stream (MS-RPCE 2.2.6). It travels as the pObjectData of an
OBJREF_CUSTOM (MS-DCOM 2.2.18.6) inside an MInterfacePointer. ``encode_blob`` and
``decode_blob`` do the whole chain; ``ActivationRequest``/``ActivationReply`` name the parts.
"""

from __future__ import annotations

import functools
import struct
import uuid
from dataclasses import dataclass, field
from typing import Sequence

from pydcom import ndr
from pydcom.guid import GUID_NULL, guid_from_bytes, guid_to_bytes
from pydcom.memo import Memo
from pydcom.wire import ids
from pydcom.wire.errors import WireError
from pydcom.wire.objref import ObjRefCustom, decode_objref
from pydcom.wire.orpc import (
    COMVERSION,
    CURRENT_VERSION,
    DUALSTRINGARRAY,
    IID,
    OXID,
    MInterfacePointer,
)

MAX_ACTPROP_LIMIT = 10  # MS-DCOM 2.2.28.1
MAX_REQUESTED_INTERFACES = 0x8000
MAX_REQUESTED_PROTSEQS = 0x8000


class CustomHeader(ndr.Struct):
    """MS-DCOM 2.2.22.1"""
    totalSize = ndr.u32
    headerSize = ndr.u32
    dwReserved = ndr.u32
    destCtx = ndr.u32
    cIfs = ndr.u32
    classInfoClsid = ndr.GUID
    pclsid = ndr.unique(ndr.conformant(ndr.GUID, size_is="cIfs"))
    pSizes = ndr.unique(ndr.conformant(ndr.u32, size_is="cIfs"))
    pdwReserved = ndr.unique(ndr.u32)


class InstantiationInfoData(ndr.Struct):
    """MS-DCOM 2.2.22.2.1"""
    classId = ndr.GUID
    classCtx = ndr.u32
    actvflags = ndr.u32
    fIsSurrogate = ndr.i32
    cIID = ndr.u32
    instFlag = ndr.u32
    pIID = ndr.unique(ndr.conformant(IID, size_is="cIID"))
    thisSize = ndr.u32
    clientCOMVersion = COMVERSION


class _SpecialPropertiesHead(ndr.Struct):
    """MS-DCOM 2.2.22.2.2: the fields both definitions of SpecialPropertiesData begin with."""
    _abstract_ = True
    dwSessionId = ndr.u32
    fRemoteThisSessionId = ndr.i32
    fClientImpersonating = ndr.i32
    fPartitionIDPresent = ndr.i32
    dwDefaultAuthnLvl = ndr.u32
    guidPartition = ndr.GUID
    dwPRTFlags = ndr.u32
    dwOrigClsctx = ndr.u32
    dwFlags = ndr.u32


class SpecialPropertiesData(_SpecialPropertiesHead):
    """MS-DCOM 2.2.22.2.2"""
    Reserved1 = ndr.u32
    Reserved2 = ndr.u64
    Reserved3 = ndr.fixed_array(ndr.u32, 5)


class SpecialPropertiesDataAlternate(_SpecialPropertiesHead):
    """MS-DCOM 2.2.22.2.2, the alternate definition servers must also accept."""
    Reserved3 = ndr.fixed_array(ndr.u32, 8)


class InstanceInfoData(ndr.Struct):
    """MS-DCOM 2.2.22.2.3"""
    fileName = ndr.unique(ndr.wstring)
    mode = ndr.u32
    ifdROT = ndr.unique(MInterfacePointer)
    ifdStg = ndr.unique(MInterfacePointer)


class customREMOTE_REQUEST_SCM_INFO(ndr.Struct):
    """MS-DCOM 2.2.22.2.4.1"""
    ClientImpLevel = ndr.u32
    cRequestedProtseqs = ndr.u16
    pRequestedProtseqs = ndr.unique(ndr.conformant(ndr.u16, size_is="cRequestedProtseqs"))


class ScmRequestInfoData(ndr.Struct):
    """MS-DCOM 2.2.22.2.4"""
    pdwReserved = ndr.unique(ndr.u32)
    remoteRequest = ndr.unique(customREMOTE_REQUEST_SCM_INFO)


class ActivationContextInfoData(ndr.Struct):
    """MS-DCOM 2.2.22.2.5"""
    clientOK = ndr.i32
    bReserved1 = ndr.i32
    dwReserved1 = ndr.u32
    dwReserved2 = ndr.u32
    pIFDClientCtx = ndr.unique(MInterfacePointer)
    pIFDPrototypeCtx = ndr.unique(MInterfacePointer)


class LocationInfoData(ndr.Struct):
    """MS-DCOM 2.2.22.2.6"""
    machineName = ndr.unique(ndr.wstring)
    processId = ndr.u32
    apartmentId = ndr.u32
    contextId = ndr.u32


class COSERVERINFO(ndr.Struct):
    """MS-DCOM 2.2.22.2.7.1"""
    dwReserved1 = ndr.u32
    pwszName = ndr.unique(ndr.wstring)
    pdwReserved = ndr.unique(ndr.u32)
    dwReserved2 = ndr.u32


class SecurityInfoData(ndr.Struct):
    """MS-DCOM 2.2.22.2.7"""
    dwAuthnFlags = ndr.u32
    pServerInfo = ndr.unique(COSERVERINFO)
    pdwReserved = ndr.unique(ndr.u32)


class customREMOTE_REPLY_SCM_INFO(ndr.Struct):
    """MS-DCOM 2.2.22.2.8.1"""
    Oxid = OXID
    pdsaOxidBindings = ndr.unique(DUALSTRINGARRAY)
    ipidRemUnknown = ndr.GUID
    authnHint = ndr.u32
    serverVersion = COMVERSION


class ScmReplyInfoData(ndr.Struct):
    """MS-DCOM 2.2.22.2.8"""
    pdwReserved = ndr.unique(ndr.u32)
    remoteReply = ndr.unique(customREMOTE_REPLY_SCM_INFO)


class PropsOutInfo(ndr.Struct):
    """MS-DCOM 2.2.22.2.9"""
    cIfs = ndr.u32
    piid = ndr.unique(ndr.conformant(IID, size_is="cIfs"))
    phresults = ndr.unique(ndr.conformant(ndr.HRESULT, size_is="cIfs"))
    ppIntfData = ndr.unique(ndr.conformant(ndr.unique(MInterfacePointer), size_is="cIfs"))


PROPERTY_CLASSES: dict[uuid.UUID, type] = {
    ids.CLSID_InstantiationInfo: InstantiationInfoData,
    ids.CLSID_SpecialSystemProperties: SpecialPropertiesData,
    ids.CLSID_InstanceInfo: InstanceInfoData,
    ids.CLSID_ScmRequestInfo: ScmRequestInfoData,
    ids.CLSID_ActivationContextInfo: ActivationContextInfoData,
    ids.CLSID_ServerLocationInfo: LocationInfoData,
    ids.CLSID_SecurityInfo: SecurityInfoData,
    ids.CLSID_ScmReplyInfo: ScmReplyInfoData,
    ids.CLSID_PropsOutInfo: PropsOutInfo,
}
CLSID_OF = {cls: clsid for clsid, cls in PROPERTY_CLASSES.items()}
CLSID_OF[SpecialPropertiesDataAlternate] = ids.CLSID_SpecialSystemProperties


# --- the BLOB ---------------------------------------------------------------------------------
def serialize_property(prop: ndr.Struct) -> tuple[uuid.UUID, bytes]:
    """One property as the BLOB carries it: its CLSID and its own TS1 stream."""
    return CLSID_OF[type(prop)], ndr.ts1.serialize(prop)


def encode_properties(properties: list[ndr.Struct | tuple[uuid.UUID, bytes]]) -> bytes:
    """The activation properties BLOB (MS-DCOM 2.2.22) holding ``properties`` in order, each a
    structure or an already serialized (CLSID, stream) pair."""
    if not 1 <= len(properties) <= MAX_ACTPROP_LIMIT:
        raise WireError(f"an activation BLOB holds 1 to {MAX_ACTPROP_LIMIT} properties")
    pairs = [p if isinstance(p, tuple) else serialize_property(p) for p in properties]
    clsids = [clsid for clsid, _ in pairs]
    streams = [stream for _, stream in pairs]
    sizes = [len(s) for s in streams]

    return _blob_head(tuple(clsids), tuple(sizes)) + b"".join(streams)


@functools.lru_cache(maxsize=256)  # the same classes and sizes come back: replies for one class
def _blob_head(clsids: tuple[uuid.UUID, ...], sizes: tuple[int, ...]) -> bytes:
    """dwSize, dwReserved and the serialized CustomHeader: 16 bytes of TS1 headers, then 48
    fixed bytes and the two counted arrays (4 + 16n and 4 + 4n bytes), padded to 8."""
    count = len(clsids)
    header_size = 16 + ((56 + 20 * count + 7) & ~7)
    total = header_size + sum(sizes)
    header = ndr.ts1.serialize(CustomHeader(
        totalSize=total, headerSize=header_size, destCtx=ids.MSHCTX_DIFFERENTMACHINE,
        cIfs=count, classInfoClsid=GUID_NULL, pclsid=list(clsids), pSizes=list(sizes)))
    assert len(header) == header_size
    return struct.pack("<II", total, 0) + header


def decode_properties(blob: bytes) -> dict[uuid.UUID, ndr.Struct]:
    """The properties of a BLOB by CLSID; unknown ones are skipped (MS-DCOM 3.1.2.5.2.3)."""
    if len(blob) < 8:
        raise WireError("activation BLOB shorter than its 8-byte header")
    total, _reserved = struct.unpack_from("<II", blob)
    if total > len(blob) - 8:
        raise WireError(f"activation BLOB says {total} bytes, has {len(blob) - 8}")
    if total < 16:
        raise WireError("activation BLOB too short for its CustomHeader")
    header_end = 8 + 16 + struct.unpack_from("<I", blob, 16)[0]
    if header_end > 8 + total:
        raise WireError("CustomHeader runs past the activation BLOB")
    header = _decode_property(GUID_NULL, blob[8:header_end])
    count = header.cIfs
    if not 1 <= count <= MAX_ACTPROP_LIMIT or header.pclsid is None or header.pSizes is None:
        raise WireError(f"CustomHeader with {count} properties")
    offset = 8 + header.headerSize
    properties: dict[uuid.UUID, ndr.Struct] = {}
    for clsid, size in zip(header.pclsid, header.pSizes):
        if offset + size > 8 + total:
            raise WireError("activation property runs past the BLOB")
        stream = blob[offset:offset + size]
        offset += size
        if clsid in PROPERTY_CLASSES:
            properties[clsid] = _decode_property(clsid, stream)
    return properties


# Requests from one client repeat their properties, and replies from one exporter repeat their
# ScmReplyInfo: decoded properties are kept by their bytes (read-only, bounded).
_decoded = Memo(4096)  # (CLSID, stream) -> property
_requests = Memo(4096)  # BLOB -> ActivationRequest
_good_contexts = Memo(4096)  # marshaled context -> True


def _decode_property(clsid: uuid.UUID, stream: bytes) -> ndr.Struct:
    cls = PROPERTY_CLASSES.get(clsid, CustomHeader)  # GUID_NULL: the header itself
    if cls is PropsOutInfo:  # new in every reply: read directly, never kept
        return _props_out_read(stream) or _deserialize(cls, stream)
    key = (clsid, stream)
    found = _decoded.get(key)
    if found is None:
        found = _decoded.keep(key, _deserialize(cls, stream), len(stream))
    return found


def _deserialize(cls: type, stream: bytes) -> ndr.Struct:
    try:
        if cls is SpecialPropertiesData and _body_length(stream) < 88:
            cls = SpecialPropertiesDataAlternate
        (value,) = ndr.ts1.deserialize(stream, cls)
    except ndr.NdrError as exc:
        raise WireError(f"bad {cls.__name__}: {exc}") from None
    return value


def _body_length(stream: bytes) -> int:
    return struct.unpack_from("<I", stream, 8)[0] if len(stream) >= 12 else 0


def wrap_blob(blob: bytes, incoming: bool) -> MInterfacePointer:
    """The BLOB as the MInterfacePointer IRemoteSCMActivator passes (an OBJREF_CUSTOM)."""
    objref = ObjRefCustom(ids.IID_IActivationPropertiesIn if incoming else ids.IID_IActivationPropertiesOut,
                          ids.CLSID_ActivationPropertiesIn if incoming else ids.CLSID_ActivationPropertiesOut,
                          blob)
    data = objref.encode()
    return MInterfacePointer(len(data), data)


def unwrap_blob(pointer: MInterfacePointer | None, incoming: bool) -> bytes:
    if pointer is None:
        raise WireError("activation properties missing")
    objref = decode_objref(pointer.abData)
    expected = ids.CLSID_ActivationPropertiesIn if incoming else ids.CLSID_ActivationPropertiesOut
    if not isinstance(objref, ObjRefCustom) or objref.clsid != expected:
        raise WireError("activation properties are not an OBJREF_CUSTOM of the right class")
    return objref.object_data


# --- what the two sides say -------------------------------------------------------------------
@dataclass(frozen=True)
class ActivationRequest:
    """What a client asks of IRemoteSCMActivator (MS-DCOM 3.1.2.5.2.3.2-3)."""

    clsid: uuid.UUID
    iids: tuple[uuid.UUID, ...]
    client_version: COMVERSION = field(default_factory=lambda: CURRENT_VERSION)
    class_context: int = ids.CLSCTX_REMOTE_SERVER
    protseqs: tuple[int, ...] = (7,)
    server_name: str | None = None
    client_context: bytes | None = None  # a marshaled client Context OBJREF, if any

    def properties(self) -> list[ndr.Struct]:
        """The properties in the order Windows sends them."""
        props: list[ndr.Struct] = [
            SpecialPropertiesData(dwSessionId=0xFFFFFFFF, dwDefaultAuthnLvl=2,
                                  dwOrigClsctx=self.class_context, Reserved3=[0] * 5),
            InstantiationInfoData(self.clsid, self.class_context, 0, 0, len(self.iids), 0,
                                  list(self.iids), 0, self.client_version),
            ActivationContextInfoData(pIFDClientCtx=MInterfacePointer(
                len(self.client_context), self.client_context) if self.client_context else None),
        ]
        if self.server_name is not None:
            props.append(SecurityInfoData(pServerInfo=COSERVERINFO(pwszName=self.server_name)))
        props.append(LocationInfoData())
        props.append(ScmRequestInfoData(remoteRequest=customREMOTE_REQUEST_SCM_INFO(
            ids.RPC_C_IMP_LEVEL_IDENTIFY, len(self.protseqs), list(self.protseqs))))
        return props

    def encode(self) -> MInterfacePointer:
        return wrap_blob(encode_properties(self.properties()), incoming=True)

    @classmethod
    def decode(cls, pointer: MInterfacePointer | None) -> "ActivationRequest":
        """The request a BLOB holds. A client sends the same BLOB for the same class and
        interfaces, so parsed requests are kept by their bytes (bounded)."""
        raw = pointer.abData if pointer is not None else b""
        found = _requests.get(raw)
        if found is None:
            found = _requests.keep(raw, cls._decode(pointer), len(raw))
        return found

    @classmethod
    def _decode(cls, pointer: MInterfacePointer | None) -> "ActivationRequest":
        props = decode_properties(unwrap_blob(pointer, incoming=True))
        inst = props.get(ids.CLSID_InstantiationInfo)
        scm = props.get(ids.CLSID_ScmRequestInfo)
        if not isinstance(inst, InstantiationInfoData) or scm is None \
                or ids.CLSID_ServerLocationInfo not in props:
            raise WireError("activation request lacks InstantiationInfo, ScmRequestInfo or "
                            "LocationInfo (MS-DCOM 3.1.2.5.2.3)")
        if not 1 <= inst.cIID <= MAX_REQUESTED_INTERFACES or not inst.pIID:
            raise WireError(f"activation request for {inst.cIID} interfaces")
        request = scm.remoteRequest
        protseqs = tuple(request.pRequestedProtseqs or ()) if request is not None else ()
        context = props.get(ids.CLSID_ActivationContextInfo)
        client_ctx = context.pIFDClientCtx.abData if isinstance(
            context, ActivationContextInfoData) and context.pIFDClientCtx else None
        return cls(inst.classId, tuple(inst.pIID), inst.clientCOMVersion, inst.classCtx,
                   protseqs, None, client_ctx)


@dataclass(frozen=True)
class ActivationReply:
    """What IRemoteSCMActivator answers: the exporter and one result per requested IID."""

    oxid: int
    oxid_bindings: DUALSTRINGARRAY
    ipid_rem_unknown: uuid.UUID
    authn_hint: int
    server_version: COMVERSION
    iids: tuple[uuid.UUID, ...]
    results: tuple[int, ...]
    interfaces: tuple[MInterfacePointer | None, ...] = field(default=())

    def encode(self, scm_reply: tuple[uuid.UUID, bytes] | None = None) -> MInterfacePointer:
        """The reply BLOB; ``scm_reply`` may be this exporter's ScmReplyInfo serialized before
        (``scm_reply_property()``), which is the same for every activation it serves."""
        return reply_blob(props_out_stream(self.iids, self.results, self.interfaces),
                          scm_reply or self.scm_reply_property())

    def scm_reply_property(self) -> tuple[uuid.UUID, bytes]:
        return serialize_property(ScmReplyInfoData(remoteReply=customREMOTE_REPLY_SCM_INFO(
            self.oxid, self.oxid_bindings, self.ipid_rem_unknown, self.authn_hint,
            self.server_version)))

    @classmethod
    def decode(cls, pointer: MInterfacePointer | None) -> "ActivationReply":
        props = decode_properties(unwrap_blob(pointer, incoming=False))
        out = props.get(ids.CLSID_PropsOutInfo)
        scm = props.get(ids.CLSID_ScmReplyInfo)
        if not isinstance(out, PropsOutInfo) or not isinstance(scm, ScmReplyInfoData) \
                or scm.remoteReply is None or scm.remoteReply.pdsaOxidBindings is None:
            raise WireError("activation reply lacks PropsOutInfo or ScmReplyInfo")
        reply = scm.remoteReply
        iids, results, interfaces = _props_out_arrays(out)
        return cls(reply.Oxid, reply.pdsaOxidBindings, reply.ipidRemUnknown, reply.authnHint,
                   reply.serverVersion, iids, results, interfaces)


def _props_out_arrays(value: PropsOutInfo) -> tuple[tuple, tuple, tuple]:
    """(IIDs, HRESULTs, interface pointers); WireError if they disagree with cIfs."""
    arrays = tuple(value.piid or ()), tuple(value.phresults or ()), tuple(value.ppIntfData or ())
    if not all(len(array) == value.cIfs for array in arrays):
        raise WireError("PropsOutInfo arrays disagree with cIfs")
    return arrays


def props_out_stream(iids: Sequence[uuid.UUID], results: Sequence[int],
                     pointers: Sequence[MInterfacePointer | None]) -> bytes:
    """PropsOutInfo (MS-DCOM 2.2.22.2.9) serialized as the reply BLOB carries it: what a server
    process answers for the interfaces it was asked for."""
    try:
        return _props_out_direct(iids, results, pointers)
    except (AttributeError, TypeError, struct.error, ndr.NdrError):
        pass  # the general encoder names what is wrong
    return ndr.ts1.serialize(PropsOutInfo(len(iids), list(iids), list(results), list(pointers)))


def decode_props_out(stream: bytes) -> tuple[tuple, tuple, tuple]:
    """The (IIDs, HRESULTs, interface pointers) of a ``props_out_stream``; WireError if it is
    malformed or its arrays disagree with its count."""
    return _props_out_arrays(_decode_property(ids.CLSID_PropsOutInfo, stream))


# PropsOutInfo (MS-DCOM 2.2.22.2.9, in a type serialization stream, MS-RPCE 2.2.6) is on every
# activation's path twice (the server process writes it, the client reads it), and always in
# one form: cIfs, three non-NULL arrays of cIfs elements, then the interface pointers'
# MInterfacePointers in order, with Windows' referent ids (C706 14.3.12.3). That form is
# written and read here in a few struct calls; anything else takes the general NDR code, which
# gives the same bytes and values for this form (tests hold both to it).
_PROPS_OUT_HEAD = struct.Struct("<IIIII")  # cIfs, referent ids of the arrays, piid's max_count
_TWO_U32 = struct.Struct("<II")
_FIRST_REFERENT_ID = 0x00020000


def _props_out_direct(iids: Sequence[uuid.UUID], results: Sequence[int],
                      pointers: Sequence[MInterfacePointer | None]) -> bytes:
    count = len(iids)
    if not count or len(results) != count or len(pointers) != count:
        raise TypeError("not the common form")
    body = bytearray(_PROPS_OUT_HEAD.pack(count, _FIRST_REFERENT_ID, _FIRST_REFERENT_ID + 4,
                                          _FIRST_REFERENT_ID + 8, count))
    body += b"".join([guid_to_bytes(iid) for iid in iids])
    body += struct.pack(f"<I{count}I", count, *results)
    referent_ids, next_id = [], _FIRST_REFERENT_ID + 12
    for pointer in pointers:
        referent_ids.append(0 if pointer is None else next_id)
        next_id += 0 if pointer is None else 4
    body += struct.pack(f"<I{count}I", count, *referent_ids)
    for pointer in pointers:
        if pointer is not None:
            data = bytes(pointer.abData)
            if pointer.ulCntData != len(data):
                raise TypeError("ulCntData disagrees with abData")
            body += bytes(-len(body) % 4) + _TWO_U32.pack(len(data), len(data)) + data
    return ndr.ts1.COMMON_HEADER + ndr.ts1.frame(body)


def _props_out_read(stream: bytes) -> PropsOutInfo | None:
    """The PropsOutInfo of a stream in the common form, or None to take the general path."""
    if len(stream) < 36 or stream[:8] != ndr.ts1.COMMON_HEADER:
        return None
    try:
        start, length = ndr.ts1.body_span(stream)
    except ndr.NdrError:
        return None  # the general decoder names the fault
    end = start + length
    count, piid, phresults, pintf, iid_count = _PROPS_OUT_HEAD.unpack_from(stream, start)
    offset = start + 20
    if (not count or not piid or not phresults or not pintf
            or iid_count != count or offset + 24 * count + 8 > end):
        return None
    iids = [guid_from_bytes(stream[i:i + 16]) for i in range(offset, offset + 16 * count, 16)]
    offset += 16 * count
    counted = struct.Struct(f"<I{count}I")
    result_count, *results = counted.unpack_from(stream, offset)
    pointer_count, *referent_ids = counted.unpack_from(stream, offset + 4 + 4 * count)
    if result_count != count or pointer_count != count:
        return None
    offset += 8 + 8 * count
    pointers: list[MInterfacePointer | None] = []
    for referent_id in referent_ids:
        if not referent_id:
            pointers.append(None)
            continue
        offset += -offset % 4
        if offset + 8 > end:
            return None
        max_count, size = _TWO_U32.unpack_from(stream, offset)
        offset += 8
        if max_count != size or offset + size > end:
            return None
        pointers.append(MInterfacePointer(size, stream[offset:offset + size]))
        offset += size
    return PropsOutInfo(count, iids, results, pointers)


def reply_blob(props_out: bytes, scm_reply: tuple[uuid.UUID, bytes]) -> MInterfacePointer:
    """The reply BLOB from a serialized PropsOutInfo and ScmReplyInfo, in the order Windows
    sends them: PropsOutInfo first."""
    return wrap_blob(encode_properties([(ids.CLSID_PropsOutInfo, props_out), scm_reply]),
                     incoming=False)


# --- the client context (MS-DCOM 2.2.20) --------------------------------------------------------
CTXMSHLFLAGS_BYVAL = 0x2
_CONTEXT = struct.Struct("<HH16sIIIIIII")


def client_context(context_id: uuid.UUID | None = None) -> bytes:
    """A marshaled empty client context: OBJREF_CUSTOM(CLSID_ContextMarshaler, IID_IContext)."""
    data = _CONTEXT.pack(1, 1, (context_id or uuid.uuid4()).bytes_le, CTXMSHLFLAGS_BYVAL, 0, 0,
                         0, 0, 0, 1)
    return ObjRefCustom(ids.IID_IContext, ids.CLSID_ContextMarshaler, data).encode()


def check_client_context(raw: bytes) -> None:
    """MS-DCOM 3.1.2.5.2.3: a client context must be a Context OBJREF_CUSTOM with no extents."""
    if raw in _good_contexts:
        return
    _check_client_context(raw)
    _good_contexts.keep(raw, True, len(raw))


def _check_client_context(raw: bytes) -> None:
    objref = decode_objref(raw)
    if not isinstance(objref, ObjRefCustom) or objref.clsid != ids.CLSID_ContextMarshaler:
        raise WireError("client context is not an OBJREF_CUSTOM of CLSID_ContextMarshaler")
    if len(objref.object_data) < _CONTEXT.size:
        raise WireError("client context cut short")
    fields = _CONTEXT.unpack_from(objref.object_data)
    if fields[0] != 1 or fields[5] or fields[6]:
        raise WireError("client context with a wrong version or with extents")
