"""Registrations as TOML, so a machine's configuration can be versioned, reviewed and copied.

    format = 1

    [[class]]
    clsid = "{...}"
    progid = "Demo.Calculator.1"
    inproc_server = "demo.calc:Calculator"
    threading_model = "Both"

    [[appid]]
    appid = "{...}"
    remote_server_name = "hostb[4135]"

Keys are the field names of ``ClassEntry`` and ``AppIdEntry``; a field at its default is left
out. Reading is strict: an unknown key, a wrong type or a duplicate GUID is an error.
"""

from __future__ import annotations

import dataclasses
import sys
import uuid
from collections.abc import Iterable
from typing import Any

from pydcom import hresult
from pydcom.guid import format_guid
from pydcom.hresult import ComError
from pydcom.registry.model import AppIdEntry, ClassEntry, ThreadingModel

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10: the tomli dependency, needed only to read TOML
    try:
        import tomli as tomllib
    except ImportError:
        tomllib = None

FORMAT = 1
_TABLES = {"class": ClassEntry, "appid": AppIdEntry}
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f",
            "\r": "\\r"}


def dumps(classes: Iterable[ClassEntry], appids: Iterable[AppIdEntry], *,
          header: bool = True) -> str:
    """The TOML text of these entries (classes first, then AppIDs, each sorted by GUID)."""
    lines = ["# pydcom registry: load with `pydcom registry import FILE`", f"format = {FORMAT}"]
    lines = lines if header else []
    for table, entries in (("class", classes), ("appid", appids)):
        key = "clsid" if table == "class" else "appid"
        for entry in sorted(entries, key=lambda e: str(getattr(e, key))):
            lines += ["", f"[[{table}]]"]
            lines += [f"{name} = {_value(value)}" for name, value in _fields(entry)]
    return "\n".join(lines).lstrip("\n") + "\n"


def loads(text: str) -> tuple[list[ClassEntry], list[AppIdEntry]]:
    """Parse and validate; ComError(E_INVALIDARG) naming the entry at fault."""
    if tomllib is None:
        raise ComError(hresult.E_NOTIMPL, "reading TOML on Python 3.10 needs the tomli package")
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ComError(hresult.E_INVALIDARG, f"not valid TOML: {exc}") from None
    unknown = set(document) - {"format", *_TABLES}
    if unknown:
        raise ComError(hresult.E_INVALIDARG, f"unknown top-level key(s): {', '.join(sorted(unknown))}")
    if document.get("format", FORMAT) != FORMAT:
        raise ComError(hresult.E_INVALIDARG, f"format {document['format']!r} is not {FORMAT}")
    return _entries(document, "class"), _entries(document, "appid")  # type: ignore[return-value]


def _entries(document: dict[str, Any], table: str) -> list[Any]:
    kind = _TABLES[table]
    tables = document.get(table, [])
    if not isinstance(tables, list):
        raise ComError(hresult.E_INVALIDARG, f"{table} must be an array of tables ([[{table}]])")
    allowed = {f.name for f in dataclasses.fields(kind)}
    entries, seen = [], set()
    key_field = dataclasses.fields(kind)[0].name
    for number, fields in enumerate(tables, 1):
        where = f"[[{table}]] #{number}"
        if not isinstance(fields, dict):
            raise ComError(hresult.E_INVALIDARG, f"{where} is not a table")
        unknown = set(fields) - allowed
        if unknown:
            raise ComError(hresult.E_INVALIDARG, f"{where}: unknown key(s) "
                           f"{', '.join(sorted(unknown))}")
        try:
            entry = kind(**fields)
        except TypeError as exc:  # a required key is missing
            raise ComError(hresult.E_INVALIDARG, f"{where}: {exc}") from None
        except ComError as exc:
            raise ComError(exc.hresult, f"{where}: {exc.detail}") from None
        key = getattr(entry, key_field)
        if key in seen:
            raise ComError(hresult.E_INVALIDARG, f"{where}: {format_guid(key)} appears twice")
        seen.add(key)
        entries.append(entry)
    return entries


def _fields(entry: ClassEntry | AppIdEntry) -> Iterable[tuple[str, Any]]:
    for field in dataclasses.fields(entry):
        value = getattr(entry, field.name)
        if value != field.default or field.name == "threading_model":
            yield field.name, value


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, uuid.UUID):
        return _string(format_guid(value))
    if isinstance(value, ThreadingModel):
        return _string(value.value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {value!r}")


def _string(text: str) -> str:
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'
