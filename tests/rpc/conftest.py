"""A live RpcServer on loopback serving the test interfaces; always closed, even on failure."""

from __future__ import annotations

import pytest

from .support import start_server


@pytest.fixture
def server():
    srv = start_server()
    try:
        yield srv
    finally:
        srv.close()
