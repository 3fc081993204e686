"""DispatchError: an automation exception, DISP_E_EXCEPTION with its EXCEPINFO (MS-OAUT 2.2.34)."""

from __future__ import annotations

from pydcom import hresult
from pydcom.hresult import ComError


class DispatchError(ComError):
    """What a server's method raised, as IDispatch::Invoke reports it (MS-OAUT 3.1.4.4): the
    HRESULT is DISP_E_EXCEPTION; ``scode`` is the error itself, ``source`` who raised it and
    ``description`` what it said. A server method may raise one to choose all of these."""

    def __init__(self, description: str, source: str = "", scode: int = hresult.E_FAIL, *,
                 help_file: str | None = None, help_context: int = 0, wcode: int = 0) -> None:
        self.description = description
        self.source = source
        self.scode = scode & 0xFFFFFFFF
        self.help_file = help_file
        self.help_context = help_context
        self.wcode = wcode
        super().__init__(hresult.DISP_E_EXCEPTION, self._detail())
        self.args = (description, source, self.scode)

    def _detail(self) -> str:
        code = self.scode or self.wcode
        where = f"{self.source}: " if self.source else ""
        return f"{where}{self.description} ({hresult.name_of(code) if self.scode else code})"

    def __reduce__(self):
        return (_rebuild, (self.description, self.source, self.scode, self.help_file,
                           self.help_context, self.wcode))

    def __repr__(self) -> str:
        return (f"DispatchError({self.description!r}, source={self.source!r}, "
                f"scode=0x{self.scode:08X})")


def _rebuild(description, source, scode, help_file, help_context, wcode) -> DispatchError:
    return DispatchError(description, source, scode, help_file=help_file,
                         help_context=help_context, wcode=wcode)


# Python exceptions with an automation error of their own (MS-ERREF 2.1.1); others are E_FAIL.
_SCODES: tuple[tuple[type[BaseException], int], ...] = (
    (ZeroDivisionError, hresult.DISP_E_DIVBYZERO),
    (OverflowError, hresult.DISP_E_OVERFLOW),
    (MemoryError, hresult.E_OUTOFMEMORY),
    (NotImplementedError, hresult.E_NOTIMPL),
    (PermissionError, hresult.E_ACCESSDENIED),
)


def as_dispatch_error(exc: BaseException, source: str) -> DispatchError:
    """The EXCEPINFO a Python exception raised by a served method becomes: its type and message
    as the description; a ComError keeps its own HRESULT as the scode."""
    if isinstance(exc, DispatchError):
        return exc
    if isinstance(exc, ComError):
        return DispatchError(exc.detail or hresult.message_of(exc.hresult), source, exc.hresult)
    scode = next((code for kind, code in _SCODES if isinstance(exc, kind)), hresult.E_FAIL)
    text = str(exc)
    return DispatchError(f"{type(exc).__name__}: {text}" if text else type(exc).__name__,
                         source, scode)


def error_of(wcode: int, source: str | None, description: str | None, help_file: str | None,
             help_context: int, scode: int) -> DispatchError | None:
    """The DispatchError an answered EXCEPINFO describes (MS-OAUT 2.2.34), or None if it is
    empty."""
    if not (wcode or scode or description or source):
        return None
    return DispatchError(description or "", source or "",
                         scode or (hresult.E_FAIL if not wcode else 0),
                         help_file=help_file, help_context=help_context, wcode=wcode)
