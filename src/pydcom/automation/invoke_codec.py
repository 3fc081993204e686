"""IDispatch::Invoke's request and response (MS-OAUT 3.1.4.4), written and read directly.

Invoke is the call every late-bound method call, property get and put makes, so its two
parameter lists are coded here field by field in the order of the IDL, with one struct call for
each run of fixed fields, instead of through the general NDR engine. The declarations in
``idispatch_wire`` (InvokeRequest, InvokeResponse) stay the reference: the property tests hold
both to the same bytes, and a request whose ORPCTHIS carries extensions is read by them.

Layouts (after NDR alignment; referent ids numbered in the order the pointers are met):

    request   ORPCTHIS{version, flags, reserved1, cid, extensions}  dispIdMember  riid  lcid
              dwFlags  DISPPARAMS{rgvarg*, rgdispidNamedArgs*, cArgs, cNamedArgs}
              [rgvarg: max_count, ids, VARIANTs]  [named: max_count, DISPIDs]
              cVarRef  rgVarRefIdx{max_count, u32s}  rgVarRef{max_count, ids, VARIANTs}
    response  ORPCTHAT{flags, extensions}  pVarResult{id, VARIANT}
              EXCEPINFO{wCode, wReserved, 3 BSTR ids, dwHelpContext, pvReserved,
              pfnDeferredFillIn, scode} [the three BSTR blobs]  pArgErr
              rgVarRef{max_count, ids, VARIANTs}  HRESULT
"""

from __future__ import annotations

import functools
import operator
import struct
from typing import Any, Sequence

from pydcom.automation import idispatch_wire as wire
from pydcom.automation.variant import (
    FIXED_VARIANTS,
    VT,
    Variant,
    VariantError,
    read_blob,
    read_variant,
    write_blob,
    write_variant,
)
from pydcom.memo import Memo
from pydcom.ndr.core import FIRST_REFERENT_ID, Reader, Writer
from pydcom.ndr.errors import NdrError
from pydcom.rpc.framing import Gathered
from pydcom.wire.ids import COM_MAJOR_VERSION, COM_MINOR_VERSION

IID_NULL_BYTES = bytes(16)
_REQUEST_HEAD = struct.Struct("<HHII16sIi16sIIIIII")  # through DISPPARAMS: 76 bytes
_ORPCTHAT = struct.Struct("<II")
_EXCEPINFO = struct.Struct("<HHIIIIIII")
_U32 = struct.Struct("<I")
_MAX_ARGS = 1 << 16  # more arguments than any automation call has; a count past it is an attack


class InvokeCall:
    """A decoded Invoke request (MS-OAUT 3.1.4.4): what the stub needs of it."""

    __slots__ = ("version", "flags", "cid", "dispid", "riid_null", "lcid", "dw_flags", "args",
                 "named", "varref_index", "varref")

    def __init__(self, version, flags, cid, dispid, riid_null, lcid, dw_flags, args, named,
                 varref_index, varref) -> None:
        self.version = version  # (major, minor) of ORPCTHIS
        self.flags = flags  # ORPCTHIS flags
        self.cid = cid  # the causality id, 16 wire bytes
        self.dispid = dispid
        self.riid_null = riid_null
        self.lcid = lcid
        self.dw_flags = dw_flags
        self.args = args
        self.named = named
        self.varref_index = varref_index
        self.varref = varref


_BOOL = int(VT.BOOL)


def _pointer_ids(w: Writer, count: int) -> None:
    first = w.next_id
    w.next_id = first + 4 * count
    w.buf += struct.pack(f"<{count}I", *range(first, first + 4 * count, 4))


def _write_variants(w: Writer, values: Sequence[Variant]) -> None:
    """A conformant array of VARIANT ([unique] wireVARIANT): max_count, ids, then each VARIANT
    with its own pointees (MS-OAUT 2.2.29.1)."""
    w.align(4)
    w.buf += _U32.pack(len(values))
    if values:
        _pointer_ids(w, len(values))
        for value in values:
            if not isinstance(value, Variant):
                raise VariantError(f"a VARIANT, not {type(value).__name__}")
            write_variant(w, value)


def encode_request(cid: bytes, dispid: int, flags: int, args: Sequence[Variant],
                   named: Sequence[int], varref_index: Sequence[int],
                   varref: Sequence[Variant], lcid: int = 0x0400) -> bytes | bytearray | Gathered:
    """IDispatch::Invoke's [in] side (MS-OAUT 3.1.4.4) after an ORPCTHIS without extensions."""
    if not named and not varref and all(type(v) is Variant and v.vt in FIXED_VTS for v in args):
        fixed = encode_fixed_request(cid, dispid, flags, [v.vt for v in args],
                                     [v.value for v in args], lcid)
        if fixed is not None:
            return fixed
    w = Writer(gather=True)
    next_id = FIRST_REFERENT_ID
    args_id = next_id if args else 0
    next_id += 4 if args else 0
    named_id = next_id if named else 0
    next_id += 4 if named else 0
    w.next_id = next_id
    w.buf += _REQUEST_HEAD.pack(COM_MAJOR_VERSION, COM_MINOR_VERSION, 0, 0, cid, 0, dispid,
                                IID_NULL_BYTES, lcid, flags, args_id, named_id, len(args),
                                len(named))
    if args:
        _write_variants(w, args)
    if named:
        w.align(4)
        w.buf += struct.pack(f"<I{len(named)}i", len(named), *named)
    w.align(4)
    count = len(varref)
    w.buf += struct.pack(f"<II{count}I", count, count, *varref_index)
    _write_variants(w, varref)
    return _stub_of(w)


def _read_variants(r: Reader, count: int, what: str) -> list:
    """``count`` [unique] VARIANT pointers and their VARIANTs; None for a NULL one."""
    if count > _MAX_ARGS:
        raise r.error(f"{count} {what}")
    r.check_count(count, 4, what)
    ids = r.unpack(struct.Struct(f"<{count}I")) if count else ()
    return [read_variant(r) if referent else None for referent in ids]


def _read_counted(r: Reader, expected: int, what: str) -> int:
    r.align(4)
    max_count = r.u32()
    if max_count != expected:
        raise r.error(f"{what}: max_count {max_count} disagrees with its count {expected}")
    return max_count


def decode_request(stub: bytes) -> InvokeCall:
    """IDispatch::Invoke's [in] side; bytes after it are ignored (MS-OAUT 3.1.4.4). NdrError
    for anything malformed."""
    fixed = decode_fixed_request(stub)
    if fixed is not None:
        version, flags, cid, dispid, riid_null, lcid, dw_flags, vts, values = fixed
        return InvokeCall(version, flags, cid, dispid, riid_null, lcid, dw_flags,
                          [Variant(vt, value) for vt, value in zip(vts, values)], [], [], [])
    r = Reader(stub)
    r.path.append("InvokeRequest")
    (major, minor, flags, _reserved, cid, extensions, dispid, riid, lcid, dw_flags, args_id,
     named_id, arg_count, named_count) = r.unpack(_REQUEST_HEAD)
    if extensions:
        return _decode_request_generic(stub)
    args = named = []
    if args_id:
        _read_counted(r, arg_count, "rgvarg")
        args = _read_variants(r, arg_count, "rgvarg")
    elif arg_count:
        raise r.error(f"cArgs {arg_count} with a NULL rgvarg")
    if named_id:
        _read_counted(r, named_count, "rgdispidNamedArgs")
        r.check_count(named_count, 4, "rgdispidNamedArgs")
        named = list(r.unpack(struct.Struct(f"<{named_count}i")))
    elif named_count:
        raise r.error(f"cNamedArgs {named_count} with a NULL rgdispidNamedArgs")
    r.align(4)
    varref_count = r.u32()
    _read_counted(r, varref_count, "rgVarRefIdx")
    r.check_count(varref_count, 4, "rgVarRefIdx")
    index = list(r.unpack(struct.Struct(f"<{varref_count}I")))
    _read_counted(r, varref_count, "rgVarRef")
    varref = _read_variants(r, varref_count, "rgVarRef")
    return InvokeCall((major, minor), flags, cid, dispid, riid == IID_NULL_BYTES, lcid,
                      dw_flags, args, named, index, varref)


def _decode_request_generic(stub: bytes) -> InvokeCall:
    request = wire.InvokeRequest.decode(stub, exact=False)
    this = request.orpcthis
    params = request.pDispParams
    args = params.rgvarg or []
    named = params.rgdispidNamedArgs or []
    if params.cArgs != len(args) or params.cNamedArgs != len(named):
        raise NdrError("DISPPARAMS counts disagree with its arrays")
    return InvokeCall((this.version.MajorVersion, this.version.MinorVersion), this.flags,
                      this.cid.bytes_le, request.dispIdMember,
                      request.riid.int == 0, request.lcid, request.dwFlags, list(args),
                      list(named), list(request.rgVarRefIdx), list(request.rgVarRef))


def _write_excepinfo(w: Writer, wcode: int, source: str | None, description: str | None,
                     help_file: str | None, help_context: int, scode: int) -> None:
    w.align(4)
    first = w.next_id
    w.next_id = first + 12
    w.buf += _EXCEPINFO.pack(wcode, 0, first, first + 4, first + 8, help_context, 0, 0, scode)
    for text in (source, description, help_file):  # each BSTR travels, NULL ones as such
        write_blob(w, text)


def encode_response(result: Variant | None, error, arg_error: int, varref: Sequence[Variant],
                    hr: int) -> bytes | bytearray | Gathered:
    """IDispatch::Invoke's [out] side (MS-OAUT 3.1.4.4) with an ORPCTHAT without extensions.
    ``error`` is a DispatchError (its EXCEPINFO) or None (an empty one)."""
    if error is None and not varref and not arg_error and result is not None:
        fixed = encode_fixed_response(result.vt, result.value, hr) \
            if type(result) is Variant else None
        if fixed is not None:
            return fixed
    w = Writer(gather=True)
    w.buf += _ORPCTHAT.pack(0, 0)
    if result is None:
        w.buf += _U32.pack(0)
    else:
        w.buf += _U32.pack(w.referent_id())
        write_variant(w, result)
    if error is None:
        _write_excepinfo(w, 0, None, None, None, 0, 0)
    else:
        _write_excepinfo(w, error.wcode, error.source or None, error.description or None,
                         error.help_file, error.help_context, 0 if error.wcode else error.scode)
    w.align(4)
    w.buf += _U32.pack(arg_error & 0xFFFFFFFF)
    _write_variants(w, varref)
    w.align(4)
    w.buf += _U32.pack(hr & 0xFFFFFFFF)
    return _stub_of(w)


def _stub_of(w: Writer) -> bytearray | Gathered:
    """The buffer itself, or with a megabyte of bytes held, the parts around it: a large
    argument or result is not copied once more on its way to the wire."""
    return Gathered(w.parts()) if w.held else w.buf


class InvokeAnswer:
    """A decoded Invoke response (MS-OAUT 3.1.4.4)."""

    __slots__ = ("result", "excepinfo", "arg_error", "varref", "hr")

    def __init__(self, result, excepinfo, arg_error, varref, hr) -> None:
        self.result = result  # a Variant, or None for a NULL pointer
        self.excepinfo = excepinfo  # (wCode, source, description, help file, context, scode)
        self.arg_error = arg_error
        self.varref = varref
        self.hr = hr


def _read_bstr_pointer(r: Reader, referent: int) -> str | None:
    return read_blob(r) if referent else None


def decode_response(stub: bytes) -> InvokeAnswer:
    """IDispatch::Invoke's [out] side (MS-OAUT 3.1.4.4); NdrError for anything malformed, and
    for bytes left over past the alignment padding."""
    fixed = decode_fixed_response(stub)
    if fixed is not None:
        hr, vt, value, arg_error = fixed
        return InvokeAnswer(Variant(vt, value), (0, None, None, None, 0, 0), arg_error, [], hr)
    r = Reader(stub)
    r.path.append("InvokeResponse")
    _flags, extensions = r.unpack(_ORPCTHAT)
    if extensions:
        return _decode_response_generic(stub)
    result = read_variant(r) if r.u32() else None
    r.align(4)
    wcode, _reserved, source_id, description_id, file_id, context, _r1, _r2, scode = \
        r.unpack(_EXCEPINFO)
    source = _read_bstr_pointer(r, source_id)
    description = _read_bstr_pointer(r, description_id)
    help_file = _read_bstr_pointer(r, file_id)
    r.align(4)
    arg_error = r.u32()
    r.align(4)
    count = r.u32()
    varref = _read_variants(r, count, "rgVarRef")
    r.align(4)
    hr = r.u32()
    if r.end - r.pos > 7:
        raise r.error(f"{r.end - r.pos} bytes after the response")
    return InvokeAnswer(result, (wcode, source, description, help_file, context, scode),
                        arg_error, varref, hr)


def _decode_response_generic(stub: bytes) -> InvokeAnswer:
    answer = wire.InvokeResponse.decode(stub)
    info = answer.pExcepInfo
    return InvokeAnswer(answer.pVarResult, (info.wCode, info.bstrSource, info.bstrDescription,
                                            info.bstrHelpFile, info.dwHelpContext, info.scode),
                        answer.pArgErr, list(answer.rgVarRef or ()), answer.hr)


# -- the fixed forms: one struct per list of VARTYPEs ---------------------------------------------
# Positional arguments and a result of fixed-size VARIANTs (numbers, booleans, dates, VT_ERROR,
# VT_EMPTY, VT_NULL), no named or by-reference arguments and no exception: what nearly every
# call carries. The whole request, or the whole response, is then one struct, built once per
# list of VARTYPEs, so that coding it is one struct call. The decoders answer None for any other
# form, which the code above then reads (and, for malformed input, explains). Values are in
# Variant form (a VT_BOOL's is a bool).
_EMPTY_VT = int(VT.EMPTY)
_THREE_U32 = struct.Struct("<III")
_NULL_BLOB = (0, 0xFFFFFFFF, 0)  # a NULL BSTR's FLAGGED_WORD_BLOB (MS-OAUT 2.2.23.2)
# EXCEPINFO with three NULL BSTRs after it, pArgErr, rgVarRef's max_count, the HRESULT
_EMPTY_TAIL = "HHIIIIIII" + "III" * 3 + "III"
_TAIL_FIELDS = 21
_MAX_FIXED_ARGS = 64  # layouts kept are per list of VARTYPEs: longer lists take the general path
_IDS = [struct.Struct(f"<{n}I") for n in range(_MAX_FIXED_ARGS + 1)]  # rgvarg's referent ids


def _variant_format(vt: int, offset: int) -> tuple[str, int]:
    pad = -offset % 8
    layout = FIXED_VARIANTS[vt][0]
    return "x" * pad + layout.format.lstrip("<"), offset + pad + layout.size


def _variant_fields(vt: int) -> tuple:
    """A fixed-size VARIANT's fields before its value: clSize, rpcReserved, vt, three
    reserved, the discriminant (MS-OAUT 2.2.29.2)."""
    return FIXED_VARIANTS[vt][1], 0, vt, 0, 0, 0, vt


@functools.lru_cache(maxsize=1024)
def _request_template(vts: tuple[int, ...]) -> tuple[struct.Struct, list, tuple[int, ...]]:
    """The request layout for these VARTYPEs, its fields with every constant in place, and
    where each VARIANT's value goes (-1: it has none; the cid, dispid, lcid and dwFlags go at
    4, 6, 8 and 9)."""
    count = len(vts)
    fmt, offset = _REQUEST_HEAD.format.lstrip("<"), _REQUEST_HEAD.size
    fields = [COM_MAJOR_VERSION, COM_MINOR_VERSION, 0, 0, None, 0, None, IID_NULL_BYTES, None,
              None, FIRST_REFERENT_ID if count else 0, 0, count, 0]
    if count:  # rgvarg's max_count, then its referent ids
        fmt += "I" * (1 + count)
        offset += 4 + 4 * count
        fields.append(count)
        fields.extend(range(FIRST_REFERENT_ID + 4, FIRST_REFERENT_ID + 4 + 4 * count, 4))
    places = []
    for vt in vts:
        part, offset = _variant_format(vt, offset)
        fmt += part
        fields += _variant_fields(vt)
        if vt in _HAS_VALUE:
            fields.append(None)
            places.append(len(fields) - 1)
        else:
            places.append(-1)
    fields += (0, 0, 0)  # cVarRef, and the max_counts of rgVarRefIdx and rgVarRef
    return struct.Struct("<" + fmt + "x" * (-offset % 4) + "III"), fields, tuple(places)


@functools.lru_cache(maxsize=64)
def _response_layout(vt: int) -> struct.Struct:
    """ORPCTHAT{flags, extensions}, the result's referent id, the VARIANT, the empty tail."""
    part, offset = _variant_format(vt, 12)
    return struct.Struct("<III" + part + "x" * (-offset % 4) + _EMPTY_TAIL)


_HAS_VALUE = frozenset(vt for vt, (layout, _) in FIXED_VARIANTS.items() if layout.size > 20)
FIXED_VTS = frozenset(FIXED_VARIANTS)


_CID_TO_DISPID = struct.Struct("<16sIi")  # cid, ORPCTHIS extensions, dispIdMember: at 12
_LCID_FLAGS = struct.Struct("<II")  # lcid, dwFlags: at 52
_VALUE_PACKERS = {code: struct.Struct("<" + code).pack_into for code in "bBhHiIfqQd"}


def _value_at(vt: int, offset: int) -> tuple[Any, int]:
    """Where a fixed-size VARIANT placed at ``offset`` (8-aligned) has its value, and the
    pack_into that writes it; (None, -1) for one without (VT_EMPTY, VT_NULL)."""
    layout = FIXED_VARIANTS[vt][0]
    if layout.size == 20:
        return None, -1
    code = layout.format[-1]
    return _VALUE_PACKERS[code], offset + layout.size - struct.calcsize(code)


@functools.lru_cache(maxsize=1024)
def _request_blank(vts: tuple[int, ...]) -> tuple[bytes, tuple[tuple[Any, int, bool], ...]]:
    """The request for these VARTYPEs with zeros where the cid, dispid, lcid, dwFlags and the
    values go, and per value how to write it: (pack_into or None, offset, is VT_BOOL)."""
    layout, template, _ = _request_template(vts)
    blank = layout.pack(*(b"" if i == 4 else 0 if field is None else field
                          for i, field in enumerate(template)))
    offset = _REQUEST_HEAD.size + (4 + 4 * len(vts) if vts else 0)
    writers = []
    for vt in vts:
        offset += -offset % 8
        pack_into, at = _value_at(vt, offset)
        writers.append((pack_into, at, vt == _BOOL))
        offset += FIXED_VARIANTS[vt][0].size
    return blank, tuple(writers)


def encode_fixed_request(cid: bytes, dispid: int, flags: int, vts: Sequence[int],
                         values: Sequence, lcid: int = 0x0400) -> bytearray | None:
    """Invoke's request for positional arguments of fixed-size VARTYPEs ``vts`` (each in
    ``FIXED_VTS``) and their ``values`` (rgvarg order, last first); None if they cannot take
    this form. Written over the layout's bytes made once per list of VARTYPEs: only the
    cid, dispid, lcid, dwFlags and the values change from call to call."""
    vts = tuple(vts)
    if len(vts) > _MAX_FIXED_ARGS:
        return None
    try:
        return _fill(_request_blank(vts), cid, dispid, lcid, flags, values)
    except (struct.error, TypeError):
        return None  # a value its VARTYPE cannot hold: the general writer says which


def _fill(blank_and_writers: tuple[bytes, tuple], cid: bytes, dispid: int, lcid: int,
          flags: int, values: Sequence) -> bytearray:
    """A request blank (``_request_blank``) with this call's fields and ``values`` written
    in; struct.error or TypeError for a value its VARTYPE cannot hold."""
    blank, writers = blank_and_writers
    stub = bytearray(blank)
    _CID_TO_DISPID.pack_into(stub, 12, cid, 0, dispid)
    _LCID_FLAGS.pack_into(stub, 52, lcid, flags)
    for (pack_into, at, boolean), value in zip(writers, values):
        if pack_into is not None:
            pack_into(stub, at, (-1 if value else 0) if boolean else value)
    return stub


_MAX_SHAPES = 256
_plain_blanks = Memo(_MAX_SHAPES)  # argument types -> their request blank, ints as VT_I4


def encode_plain_request(cid: bytes, dispid: int, flags: int, args: Sequence,
                         lcid: int = 0x0400) -> bytearray | None:
    """``encode_fixed_request`` for arguments in calling order (first first) that are numbers
    and booleans, each as the VARTYPE ``plain_vt`` gives it; None when one is not."""
    # Arguments of types seen before take their blank by their types alone, ints as VT_I4:
    # one that VT_I4 cannot hold fails its pack, and the VARTYPEs are then worked out below.
    types = tuple(map(type, args))
    found = _plain_blanks.get(types)
    if found is not None:
        try:
            return _fill(found, cid, dispid, lcid, flags, args[::-1])
        except struct.error:
            pass
    vts = [plain_vt(value) for value in reversed(args)]
    if None in vts:
        return None
    if _I8 not in vts and len(vts) <= _MAX_FIXED_ARGS:
        _plain_blanks.keep(types, _request_blank(tuple(vts)))
    return encode_fixed_request(cid, dispid, flags, vts, args[::-1], lcid)


def _request_shape(vts: tuple[int, ...]) -> tuple:
    """How to read a request of these VARTYPEs in one struct call: its layout; a getter of
    every field the reading below checks (ORPCTHIS extensions, rgdispidNamedArgs and its
    count, cArgs, rgvarg's max_count or its NULL pointer, each VARIANT's vt and discriminant,
    the three zeros after DISPPARAMS) and what they must hold; where each value is (None: it
    has none) and whether it is a VT_BOOL; the number of arguments."""
    layout = _request_template(vts)[0]
    count = len(vts)
    checked, expected = [5, 11, 13, 12], [0, 0, 0, count]
    if count:
        checked.append(14)  # rgvarg's max_count; its pointer (10) and referent ids: not zero
        index = 15 + count
    else:
        checked.append(10)  # a NULL rgvarg
        index = 14
    expected.append(count if count else 0)
    values = []
    for vt in vts:
        checked += (index + 2, index + 6)
        expected += (vt, vt)
        has_value = vt in _HAS_VALUE
        values.append((index + 7 if has_value else None, vt == _BOOL))
        index += 8 if has_value else 7
    checked += (index, index + 1, index + 2)
    expected += (0, 0, 0)
    return layout, operator.itemgetter(*checked), tuple(expected), tuple(values), count, vts


_shapes = Memo(_MAX_SHAPES)  # stub length -> the shape of the last request of that length


def decode_fixed_request(stub: bytes) -> tuple | None:
    """A request of encode_fixed_request's form: ((major, minor), ORPCTHIS flags, cid,
    dispid, riid is IID_NULL, lcid, dwFlags, VARTYPEs, values in rgvarg order); bytes after it
    are ignored (MS-OAUT 3.1.4.4). None for any other form.

    A method called again is called with a stub of the same length and the same layout: the
    shape read last at that length is tried first, its fields checked as the reading below
    checks them, in one struct call."""
    end = len(stub)
    shape = _shapes.get(end)
    if shape is not None:
        layout, checked, expected, reads, count, vts = shape
        fields = layout.unpack_from(stub)
        if checked(fields) == expected and (
                not count or fields[10] and 0 not in fields[15:15 + count]):
            return ((fields[0], fields[1]), fields[2], fields[4], fields[6],
                    fields[7] == IID_NULL_BYTES, fields[8], fields[9], list(vts),
                    [None if at is None else fields[at] != 0 if boolean else fields[at]
                     for at, boolean in reads])
    if end < _REQUEST_HEAD.size + 12:
        return None
    (major, minor, flags, _reserved, cid, extensions, dispid, riid, lcid, dw_flags, args_id,
     named_id, count, named_count) = _REQUEST_HEAD.unpack_from(stub)
    if extensions or named_id or named_count or (args_id == 0) != (count == 0) or \
            count > _MAX_FIXED_ARGS:
        return None
    pos = _REQUEST_HEAD.size
    if count:
        if _U32.unpack_from(stub, pos)[0] != count or 0 in _IDS[count].unpack_from(stub, pos + 4):
            return None
        pos += 4 + 4 * count
    vts, values = [], []
    for _ in range(count):
        pos += -pos % 8
        if pos + 20 > end:
            return None
        vt = stub[pos + 8] | stub[pos + 9] << 8
        fixed = FIXED_VARIANTS.get(vt)
        if fixed is None:
            return None
        layout = fixed[0]
        if pos + layout.size > end:
            return None
        fields = layout.unpack_from(stub, pos)
        if fields[6] != vt:  # the discriminant
            return None
        vts.append(vt)
        values.append(None if len(fields) == 7 else fields[7] != 0 if vt == _BOOL else fields[7])
        pos += layout.size
    pos += -pos % 4
    if pos + 12 > end or _THREE_U32.unpack_from(stub, pos) != (0, 0, 0):
        return None
    _shapes.keep(end, _request_shape(tuple(vts)))
    return ((major, minor), flags, cid, dispid, riid == IID_NULL_BYTES, lcid, dw_flags, vts,
            values)


@functools.lru_cache(maxsize=64)
def _response_blank(vt: int) -> tuple[bytes, Any, int]:
    """The response with a result of VARTYPE ``vt``, zeros where its value and the HRESULT
    go, and the pack_into and offset of the value (None, -1 for VT_EMPTY and VT_NULL)."""
    first = FIRST_REFERENT_ID + 4
    fields = [0, 0, FIRST_REFERENT_ID, *_variant_fields(vt)]
    if vt in _HAS_VALUE:
        fields.append(0)
    fields += (0, 0, first, first + 4, first + 8, 0, 0, 0, 0, *_NULL_BLOB, *_NULL_BLOB,
               *_NULL_BLOB, 0, 0, 0)
    return (_response_layout(vt).pack(*fields), *_value_at(vt, 16))


def encode_fixed_response(vt: int, value: object, hr: int) -> bytes | bytearray | None:
    """Invoke's response with a result of fixed-size VARTYPE ``vt``, no exception and no
    by-reference argument (MS-OAUT 3.1.4.4); None if ``vt`` is not one. Written over the
    layout's bytes made once per VARTYPE."""
    if vt not in FIXED_VARIANTS:
        return None
    blank, pack_into, at = _response_blank(vt)
    data = bytearray(blank)
    try:
        if pack_into is not None:
            pack_into(data, at, (-1 if value else 0) if vt == _BOOL else value)
        _U32.pack_into(data, len(data) - 4, hr & 0xFFFFFFFF)
    except (struct.error, TypeError):
        return None
    return data


@functools.lru_cache(maxsize=64)
def _response_check(vt: int) -> tuple[int, bytes, int, bytes, Any]:
    """How to recognise encode_fixed_response's own bytes for ``vt`` by two comparisons:
    its length, the bytes before the value, where the value ends, the bytes from there to
    pArgErr, and the unpack_from of the value (None without one)."""
    blank, pack_into, at = _response_blank(vt)
    if pack_into is None:
        return len(blank), blank[:-8], len(blank) - 8, b"", None
    code = FIXED_VARIANTS[vt][0].format[-1]
    end = at + struct.calcsize(code)
    return len(blank), blank[:at], end, blank[end:-8], struct.Struct("<" + code).unpack_from


_TAIL = struct.Struct("<II")  # pArgErr, the HRESULT


def decode_fixed_response(data: bytes) -> tuple[int, int, object, int] | None:
    """(HRESULT, the result's VARTYPE, its value, pArgErr) of a response of
    encode_fixed_response's form (any pArgErr); None for any other form."""
    if len(data) < 40:
        return None
    vt = data[24] | data[25] << 8  # the VARIANT's vt, after ORPCTHAT, its id and the padding
    if vt not in FIXED_VARIANTS:
        return None
    # The bytes pydcom writes itself (its referent ids, no padding after): two comparisons.
    size, head, end, tail, unpack_value = _response_check(vt)
    if len(data) == size and data.startswith(head) and data[end:-8] == tail:
        arg_error, hr = _TAIL.unpack_from(data, size - 8)
        if unpack_value is None:
            return hr, vt, None, arg_error
        value = unpack_value(data, len(head))[0]
        return hr, vt, (value != 0 if vt == _BOOL else value), arg_error
    layout = _response_layout(vt)
    if not 0 <= len(data) - layout.size <= 7:
        return None
    fields = layout.unpack_from(data)
    has_value = vt in _HAS_VALUE
    at = 11 if has_value else 10  # where EXCEPINFO starts: after ORPCTHAT, the id, the VARIANT
    if fields[1] or not fields[2] or fields[9] != vt or fields[at] or fields[at + 8] or \
            not all(fields[at + 2:at + 5]) or fields[at + 9:at + 18] != _NULL_BLOB * 3 or \
            fields[at + 19]:
        return None
    value = fields[10] if has_value else None
    if vt == _BOOL:
        value = value != 0
    return fields[-1], vt, value, fields[at + 18]


# -- plain values: numbers and booleans, as Dispatch and the dispatcher hold them -------------
PLAIN_VTS = frozenset(int(vt) for vt in (VT.I1, VT.UI1, VT.I2, VT.UI2, VT.I4, VT.UI4, VT.INT,
                                        VT.UINT, VT.R4, VT.I8, VT.UI8, VT.R8, VT.BOOL))
_I4_RANGE = range(-(1 << 31), 1 << 31)
_I8_RANGE = range(-(1 << 63), 1 << 63)
_I8 = int(VT.I8)


def plain_vt(value: object) -> int | None:
    """The VARTYPE a number or boolean travels as (convert.to_variant's choice), or None."""
    kind = type(value)
    if kind is int:
        return VT.I4 if value in _I4_RANGE else VT.I8 if value in _I8_RANGE else None
    if kind is float:
        return VT.R8
    if kind is bool:
        return VT.BOOL
    return None
