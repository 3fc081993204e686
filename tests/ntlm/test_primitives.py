"""MD4 against RFC 1320's test suite, RC4 against published key streams and against itself
(the C and the Python implementations must give the same stream)."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pydcom.ntlm import rc4
from pydcom.ntlm.md4 import md4

# RFC 1320 A.5 "Test suite".
RFC1320_VECTORS = [
    (b"", "31d6cfe0d16ae931b73c59d7e0c089c0"),
    (b"a", "bde52cb31de33e46245e05fbdbd6fb24"),
    (b"abc", "a448017aaf21d8525fc10ae87aa6729d"),
    (b"message digest", "d9130a8164549fe818874806e1c7014b"),
    (b"abcdefghijklmnopqrstuvwxyz", "d79e1c308aa5bbcdeea8ed63df412da9"),
    (b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
     "043f8582f241db351ce627e153e7f0e4"),
    (b"1234567890" * 8, "e33b4ddc9c38f2199c3e7b164fcc0536"),
]


@pytest.mark.parametrize(("message", "digest"), RFC1320_VECTORS)
def test_md4_rfc1320_suite(message, digest):
    assert md4(message).hex() == digest


@pytest.mark.parametrize("size", [55, 56, 57, 63, 64, 65, 119, 120, 1000])
def test_md4_padding_boundaries_agree_with_pycryptodome(size):
    md4_reference = pytest.importorskip("Cryptodome.Hash.MD4")
    data = bytes(range(256)) * 4
    assert md4(data[:size]) == md4_reference.new(data[:size]).digest()


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_md4_agrees_with_pycryptodome(data):
    md4_reference = pytest.importorskip("Cryptodome.Hash.MD4")
    assert md4(data) == md4_reference.new(data).digest()


# Key streams from the RC4 article's well-known examples (keys of 3, 4 and 6 bytes, which only
# the Python implementation takes) and RFC 6229 section 2 (40- and 128-bit keys, offset 0).
@pytest.mark.parametrize(("key", "plaintext", "ciphertext"), [
    (b"Key", b"Plaintext", "bbf316e8d940af0ad3"),
    (b"Wiki", b"pedia", "1021bf0420"),
    (b"Secret", b"Attack at dawn", "45a01f645fc35b383552544b9bf5"),
])
def test_rc4_known_ciphertexts(key, plaintext, ciphertext):
    assert rc4.RC4(key, implementation="python").update(plaintext).hex() == ciphertext


@pytest.mark.parametrize(("key", "stream"), [
    ("0102030405", "b2396305f03dc027ccc3524a0a1118a8"),
    ("0102030405060708090a0b0c0d0e0f10", "9ac7cc9a609d1ef7b2932899cde41b97"),
])
@pytest.mark.parametrize("implementation", ["python", "cryptography"])
def test_rc4_rfc6229_key_streams(key, stream, implementation):
    if implementation == "cryptography" and rc4.IMPLEMENTATION != "cryptography":
        pytest.skip("cryptography's ARC4 is not available")
    handle = rc4.RC4(bytes.fromhex(key), implementation=implementation)
    assert handle.update(bytes(16)).hex() == stream


def test_rc4_handle_keeps_its_position_across_calls():
    key, data = os.urandom(16), os.urandom(1000)
    whole = rc4.RC4(key).update(data)
    handle = rc4.RC4(key)
    assert handle.update(data[:1]) + handle.update(data[1:333]) + handle.update(data[333:]) == whole


@settings(max_examples=50, deadline=None)
@given(st.sampled_from([5, 7, 8, 16, 32]), st.binary(max_size=600), st.binary(min_size=1, max_size=32))
def test_rc4_python_and_cryptography_agree(key_size, data, key_seed):
    if rc4.IMPLEMENTATION != "cryptography":
        pytest.skip("cryptography's ARC4 is not available")
    key = (key_seed * key_size)[:key_size]
    assert rc4.RC4(key, implementation="python").update(data) == \
        rc4.RC4(key, implementation="cryptography").update(data)


def test_rc4_agrees_with_pycryptodome():
    arc4 = pytest.importorskip("Cryptodome.Cipher.ARC4")
    key, data = os.urandom(16), os.urandom(4096)
    assert rc4.RC4(key).update(data) == arc4.new(key).encrypt(data)


def test_rc4k_is_one_fresh_handle():
    key = bytes(range(16))
    assert rc4.rc4k(key, b"abc") == rc4.RC4(key).update(b"abc")


def test_rc4_module_imports_without_warnings():
    import subprocess
    import sys
    code = "import pydcom.ntlm.rc4 as r; print(r.IMPLEMENTATION)"
    result = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr


def test_without_openssl_rc4_the_python_cipher_takes_over():
    # CRYPTOGRAPHY_OPENSSL_NO_LEGACY makes OpenSSL refuse RC4, as a FIPS build does; the
    # MS-NLMP 4.2.4.4 sealed message must come out the same from the Python cipher.
    import subprocess
    import sys
    code = "\n".join([
        "from pydcom.ntlm import rc4",
        "from pydcom.ntlm.session import NtlmSession",
        "from tests.ntlm import spec_vectors as spec",
        "assert rc4.IMPLEMENTATION == 'python', rc4.IMPLEMENTATION",
        "session = NtlmSession(spec.FLAGS, spec.RANDOM_SESSION_KEY, initiator=True)",
        "assert session.seal(spec.PLAINTEXT) == (spec.SEALED, spec.SIGNATURE)",
    ])
    env = {**os.environ, "CRYPTOGRAPHY_OPENSSL_NO_LEGACY": "1"}
    result = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True, text=True,
                            env=env, timeout=60)
    assert result.returncode == 0, result.stderr
