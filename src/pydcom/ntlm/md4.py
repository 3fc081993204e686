"""MD4 (RFC 1320), in pure Python.

NTLM needs MD4 for exactly one thing: the NT hash of a password, NTOWFv1 (MS-NLMP 3.3.1),
which NTOWFv2 (3.3.2) keys its HMAC with. OpenSSL 3 moved MD4 to its legacy provider, so
``hashlib.new("md4")`` fails on most current systems; inputs here are a password's few dozen
bytes, so speed does not matter.
"""

from __future__ import annotations

import struct

_MASK = 0xFFFFFFFF
_BLOCK = struct.Struct("<16I")

# Per round: the order in which the sixteen message words are taken, and the four rotations.
_ROUND1_WORDS = tuple(range(16))
_ROUND2_WORDS = (0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15)
_ROUND3_WORDS = (0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15)
_ROUND1_SHIFTS = (3, 7, 11, 19)
_ROUND2_SHIFTS = (3, 5, 9, 13)
_ROUND3_SHIFTS = (3, 9, 11, 15)
_ROUND2_CONSTANT = 0x5A827999  # sqrt(2) * 2**30 (RFC 1320 3.4)
_ROUND3_CONSTANT = 0x6ED9EBA1  # sqrt(3) * 2**30


def _rotl(value: int, shift: int) -> int:
    return ((value << shift) | (value >> (32 - shift))) & _MASK


def _compress(state: list[int], words: tuple[int, ...]) -> None:
    a, b, c, d = state
    for step in range(16):  # round 1: F(x, y, z) = xy v not(x) z
        k, s = _ROUND1_WORDS[step], _ROUND1_SHIFTS[step % 4]
        a = _rotl((a + ((b & c) | (~b & d)) + words[k]) & _MASK, s)
        a, b, c, d = d, a, b, c
    for step in range(16):  # round 2: G(x, y, z) = xy v xz v yz
        k, s = _ROUND2_WORDS[step], _ROUND2_SHIFTS[step % 4]
        a = _rotl((a + ((b & c) | (b & d) | (c & d)) + words[k] + _ROUND2_CONSTANT) & _MASK, s)
        a, b, c, d = d, a, b, c
    for step in range(16):  # round 3: H(x, y, z) = x xor y xor z
        k, s = _ROUND3_WORDS[step], _ROUND3_SHIFTS[step % 4]
        a = _rotl((a + (b ^ c ^ d) + words[k] + _ROUND3_CONSTANT) & _MASK, s)
        a, b, c, d = d, a, b, c
    state[0] = (state[0] + a) & _MASK
    state[1] = (state[1] + b) & _MASK
    state[2] = (state[2] + c) & _MASK
    state[3] = (state[3] + d) & _MASK


def md4(data: bytes) -> bytes:
    """The 16-byte MD4 digest of ``data`` (RFC 1320 3.1-3.5)."""
    data = bytes(data)
    bit_length = (len(data) * 8) & 0xFFFFFFFFFFFFFFFF
    # Padding (3.1) and length (3.2): one 1 bit, zeros to 448 mod 512 bits, the 64-bit length.
    padded = data + b"\x80" + b"\x00" * ((55 - len(data)) % 64) + struct.pack("<Q", bit_length)
    state = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476]  # 3.3
    for offset in range(0, len(padded), 64):
        _compress(state, _BLOCK.unpack_from(padded, offset))
    return struct.pack("<4I", *state)
