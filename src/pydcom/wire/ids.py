"""Well-known GUIDs of DCOM (MS-DCOM 1.9; MS-OAUT 1.9) and the COM versions (MS-DCOM 2.2.11)."""

from __future__ import annotations

import uuid


def _g(text: str) -> uuid.UUID:
    return uuid.UUID(text)


# Interfaces (MS-DCOM 1.9)
IID_IUnknown = _g("00000000-0000-0000-c000-000000000046")
IID_IClassFactory = _g("00000001-0000-0000-c000-000000000046")
IID_IRemUnknown = _g("00000131-0000-0000-c000-000000000046")
IID_IRemUnknown2 = _g("00000143-0000-0000-c000-000000000046")
IID_IObjectExporter = _g("99fcfec4-5260-101b-bbcb-00aa0021347a")
IID_IRemoteSCMActivator = _g("000001a0-0000-0000-c000-000000000046")
IID_IActivation = _g("4d9f4ab8-7d1c-11cf-861e-0020af6e7c57")
IID_IActivationPropertiesIn = _g("000001a2-0000-0000-c000-000000000046")
IID_IActivationPropertiesOut = _g("000001a3-0000-0000-c000-000000000046")
IID_IContext = _g("000001c0-0000-0000-c000-000000000046")
IID_IDispatch = _g("00020400-0000-0000-c000-000000000046")
# What Windows reads the error information extension as (MS-DCOM <15>); value from the Windows
# SDK's oaidl.idl, as MS-DCOM does not list it.
IID_IErrorInfo = _g("1cf2b120-547d-101b-8e65-08002b2bd119")
IID_NULL = uuid.UUID(int=0)

# Activation property classes (MS-DCOM 1.9)
CLSID_ActivationContextInfo = _g("000001a5-0000-0000-c000-000000000046")
CLSID_ActivationPropertiesIn = _g("00000338-0000-0000-c000-000000000046")
CLSID_ActivationPropertiesOut = _g("00000339-0000-0000-c000-000000000046")
CLSID_CONTEXT_EXTENSION = _g("00000334-0000-0000-c000-000000000046")
CLSID_ContextMarshaler = _g("0000033b-0000-0000-c000-000000000046")
CLSID_ERROR_EXTENSION = _g("0000031c-0000-0000-c000-000000000046")
CLSID_ErrorObject = _g("0000031b-0000-0000-c000-000000000046")
CLSID_InstanceInfo = _g("000001ad-0000-0000-c000-000000000046")
CLSID_InstantiationInfo = _g("000001ab-0000-0000-c000-000000000046")
CLSID_PropsOutInfo = _g("00000339-0000-0000-c000-000000000046")
CLSID_ScmReplyInfo = _g("000001b6-0000-0000-c000-000000000046")
CLSID_ScmRequestInfo = _g("000001aa-0000-0000-c000-000000000046")
CLSID_SecurityInfo = _g("000001a6-0000-0000-c000-000000000046")
CLSID_ServerLocationInfo = _g("000001a4-0000-0000-c000-000000000046")
CLSID_SpecialSystemProperties = _g("000001b9-0000-0000-c000-000000000046")

# COMVERSION (MS-DCOM 1.7, 2.2.11): Windows XP and later speak 5.7.
COM_MAJOR_VERSION = 5
COM_MINOR_VERSION = 7

# IActivation::RemoteActivation Mode for a class object (MS-DCOM 3.1.2.5.2.3.1).
MODE_GET_CLASS_OBJECT = 0xFFFFFFFF
# CLSCTX_REMOTE_SERVER, the classCtx Windows clients send in InstantiationInfoData.
CLSCTX_REMOTE_SERVER = 0x10
# MSHCTX_DIFFERENTMACHINE, the destCtx Windows writes in a CustomHeader (MS-DCOM <22>).
MSHCTX_DIFFERENTMACHINE = 2
# RPC_C_IMP_LEVEL_IDENTIFY, the ClientImpLevel Windows clients send.
RPC_C_IMP_LEVEL_IDENTIFY = 2
