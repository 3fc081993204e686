"""The example values of MS-NLMP 4.2.1 (common values) and 4.2.4 (NTLMv2 authentication),
written out as hex so that each can be compared with the published document line by line."""

from __future__ import annotations

from pydcom.ntlm.messages import NegotiateFlags as F


def h(text: str) -> bytes:
    return bytes.fromhex("".join(text.split()))


# 4.2.1 Common Values
USER = "User"
USER_DOM = "Domain"
PASSWD = "Password"
SERVER_NAME = "Server"
WORKSTATION = "COMPUTER"
RANDOM_SESSION_KEY = h("55555555555555555555555555555555")
TIME = 0
CLIENT_CHALLENGE = h("aaaaaaaaaaaaaaaa")
SERVER_CHALLENGE = h("0123456789abcdef")
PLAINTEXT = "Plaintext".encode("utf-16-le")

# 4.2.4 NTLMv2 Authentication: the challenge flags, and the AV pairs (NetBIOS domain, server).
FLAGS = (F.NEGOTIATE_KEY_EXCH | F.NEGOTIATE_56 | F.NEGOTIATE_128 | F.NEGOTIATE_VERSION
         | F.NEGOTIATE_TARGET_INFO | F.NEGOTIATE_EXTENDED_SESSIONSECURITY | F.TARGET_TYPE_SERVER
         | F.NEGOTIATE_ALWAYS_SIGN | F.NEGOTIATE_NTLM | F.NEGOTIATE_SEAL | F.NEGOTIATE_SIGN
         | F.NEGOTIATE_OEM | F.NEGOTIATE_UNICODE)
AV_PAIRS = h("""
    02 00 0c 00 44 00 6f 00 6d 00 61 00 69 00 6e 00
    01 00 0c 00 53 00 65 00 72 00 76 00 65 00 72 00
    00 00 00 00""")

# 4.2.4.1.1 NTOWFv2() and LMOWFv2()
RESPONSE_KEY_NT = h("0c 86 8a 40 3b fd 7a 93 a3 00 1e f2 2e f0 2e 3f")
# 4.2.4.1.2 Session Base Key
SESSION_BASE_KEY = h("8d e4 0c ca db c1 4a 82 f1 5c b0 ad 0d e9 5c a3")
# 4.2.4.2.1 LMv2 Response
LMV2_RESPONSE = h("86 c3 50 97 ac 9c ec 10 25 54 76 4a 57 cc cc 19 aa aa aa aa aa aa aa aa")
# 4.2.4.2.2 NTLMv2 Response: NTProofStr, then temp (with the Z(4) after the AV pairs)
NT_PROOF_STR = h("68 cd 0a b8 51 e5 1c 96 aa bc 92 7b eb ef 6a 1c")
TEMP = h("01 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 aa aa aa aa aa aa aa aa 00 00 00 00") \
    + AV_PAIRS + h("00 00 00 00")
# 4.2.4.2.3 Encrypted Session Key
ENCRYPTED_SESSION_KEY = h("c5 da d2 54 4f c9 79 90 94 ce 1c e9 0b c9 d0 3e")

# 4.2.4.3 Messages: the CHALLENGE_MESSAGE and the AUTHENTICATE_MESSAGE
CHALLENGE_MESSAGE = h("""
    4e 54 4c 4d 53 53 50 00 02 00 00 00 0c 00 0c 00
    38 00 00 00 33 82 8a e2 01 23 45 67 89 ab cd ef
    00 00 00 00 00 00 00 00 24 00 24 00 44 00 00 00
    06 00 70 17 00 00 00 0f 53 00 65 00 72 00 76 00
    65 00 72 00""") + AV_PAIRS
AUTHENTICATE_MESSAGE = h("""
    4e 54 4c 4d 53 53 50 00 03 00 00 00 18 00 18 00
    6c 00 00 00 54 00 54 00 84 00 00 00 0c 00 0c 00
    48 00 00 00 08 00 08 00 54 00 00 00 10 00 10 00
    5c 00 00 00 10 00 10 00 d8 00 00 00 35 82 88 e2
    05 01 28 0a 00 00 00 0f 44 00 6f 00 6d 00 61 00
    69 00 6e 00 55 00 73 00 65 00 72 00 43 00 4f 00
    4d 00 50 00 55 00 54 00 45 00 52 00""") + LMV2_RESPONSE + NT_PROOF_STR + TEMP \
    + ENCRYPTED_SESSION_KEY

# 4.2.4.4 GSS_WrapEx Examples (keys from the RandomSessionKey, client to server)
SEAL_KEY = h("59 f6 00 97 3c c4 96 0a 25 48 0a 7c 19 6e 4c 58")
SIGN_KEY = h("47 88 dc 86 1b 47 82 f3 5d 43 fd 98 fe 1a 2d 39")
SEALED = h("54 e5 01 65 bf 19 36 dc 99 60 20 c1 81 1b 0f 06 fb 5f")
CHECKSUM = h("7f b3 8e c5 c5 5d 49 76")
SIGNATURE = h("01 00 00 00 7f b3 8e c5 c5 5d 49 76 00 00 00 00")

# The server-to-client keys of the same session (no published example; values computed by
# MS-NLMP 3.4.5.2/3.4.5.3 and matched by impacket's and pyspnego's implementations).
SERVER_SIGN_KEY = h("d0 4d 6f 10 74 10 41 d1 d2 46 d6 41 88 d7 a8 ad")
SERVER_SEAL_KEY = h("93 55 f3 a9 57 c1 58 3d 25 c4 c2 f1 1e 40 39 0e")
