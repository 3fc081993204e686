"""RC4, the stream cipher of NTLM sealing, key exchange and signature checksums
(MS-NLMP 3.4.3, 3.4.4.2; RC4Init/RC4/RC4K in section 6).

The ``cryptography`` package's ARC4 (in its "decrepit" module since version 43) is used when it
works: it runs in C, which matters for sealing whole RPC fragments. It can be missing, or
present but refused by OpenSSL (a FIPS build, ``CRYPTOGRAPHY_OPENSSL_NO_LEGACY``); then a small
pure-Python RC4 takes over. Both give the same key stream; the tests hold them to each other.
"""

from __future__ import annotations

from typing import Callable


class _PythonRC4:
    """RC4 key schedule and generator, pure Python (slow: for when C is unavailable)."""

    def __init__(self, key: bytes) -> None:
        if not 1 <= len(key) <= 256:
            raise ValueError("an RC4 key has 1 to 256 bytes")
        box = list(range(256))
        j = 0
        for i in range(256):
            j = (j + box[i] + key[i % len(key)]) & 0xFF
            box[i], box[j] = box[j], box[i]
        self._box = box
        self._i = 0
        self._j = 0

    def update(self, data: bytes) -> bytes:
        box, i, j = self._box, self._i, self._j
        out = bytearray(data)
        for n in range(len(out)):
            i = (i + 1) & 0xFF
            j = (j + box[i]) & 0xFF
            box[i], box[j] = box[j], box[i]
            out[n] ^= box[(box[i] + box[j]) & 0xFF]
        self._i, self._j = i, j
        return bytes(out)


def _cryptography_factory() -> Callable[[bytes], object] | None:
    try:
        from cryptography.hazmat.decrepit.ciphers.algorithms import ARC4
        from cryptography.hazmat.primitives.ciphers import Cipher
    except ImportError:
        return None

    def make(key: bytes):
        return Cipher(ARC4(key), mode=None).encryptor()

    try:  # OpenSSL may refuse RC4 only when a cipher is made, so make one now
        if make(bytes(16)).update(b"\x00") != b"\xde":
            return None
    except Exception:  # noqa: BLE001 - any refusal means: use the Python cipher
        return None
    return make


_C_FACTORY = _cryptography_factory()
_C_KEY_SIZES = frozenset((5, 7, 8, 10, 16, 20, 24, 32))  # what cryptography's ARC4 accepts

#: Which implementation new handles use: "cryptography" or "python".
IMPLEMENTATION = "cryptography" if _C_FACTORY is not None else "python"


class RC4:
    """An RC4 handle (RC4Init, MS-NLMP section 6): ``update`` encrypts or decrypts and keeps the
    key stream's position, as the connection-oriented NTLM sealing handle must (3.4.3)."""

    __slots__ = ("_cipher",)

    def __init__(self, key: bytes, *, implementation: str | None = None) -> None:
        key = bytes(key)
        use_c = (implementation or IMPLEMENTATION) == "cryptography" and len(key) in _C_KEY_SIZES
        if use_c and _C_FACTORY is None:
            raise ValueError("cryptography's ARC4 is not available here")
        self._cipher = _C_FACTORY(key) if use_c else _PythonRC4(key)

    def update(self, data: bytes) -> bytes:
        """RC4(handle, data): XOR with the next ``len(data)`` bytes of the key stream."""
        return self._cipher.update(data)


def rc4k(key: bytes, data: bytes) -> bytes:
    """RC4K(key, data): one message under a fresh handle (MS-NLMP section 6)."""
    return RC4(key).update(data)
