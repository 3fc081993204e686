"""The activation request a client sends: one client context per process (MS-DCOM 2.2.20)."""

import os
import uuid

from pydcom.runtime.scm_client import _request_properties
from pydcom.wire.activation_properties import ActivationRequest, check_client_context

CLSID_A = uuid.UUID("11111111-2222-3333-4444-555555555555")
CLSID_B = uuid.UUID("66666666-7777-8888-9999-000000000000")
IID = uuid.UUID("00000000-0000-0000-c000-000000000046")


def test_every_request_of_a_process_carries_one_valid_context():
    a = ActivationRequest.decode(_request_properties(CLSID_A, (IID,), "127.0.0.2"))
    b = ActivationRequest.decode(_request_properties(CLSID_B, (IID,), "127.0.0.3"))
    assert (a.clsid, b.clsid) == (CLSID_A, CLSID_B)
    assert a.client_context is not None and a.client_context == b.client_context
    check_client_context(a.client_context)


def test_a_forked_child_is_a_new_process_with_its_own_context():
    parent = ActivationRequest.decode(_request_properties(CLSID_A, (IID,), "127.0.0.2"))
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            child = ActivationRequest.decode(_request_properties(CLSID_A, (IID,), "127.0.0.2"))
            os.write(write_end, child.client_context)
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        child_context = pipe.read()
    os.waitpid(pid, 0)
    assert child_context and child_context != parent.client_context
    check_client_context(child_context)
