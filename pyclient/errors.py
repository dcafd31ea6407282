"""One error family for everything the client refuses.

``kind`` names the failed check with the same words the test vectors use in
their ``expect`` field, so a refusal can be shown to a person and matched in
a test without parsing the message.
"""


class ProtocolError(Exception):
    kind = "protocol_error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ParseError(ProtocolError):
    kind = "parse_error"


class UnknownVersion(ProtocolError):
    kind = "unknown_version"


class BadSignature(ProtocolError):
    kind = "bad_signature"


class BadMac(ProtocolError):
    kind = "bad_mac"


class WrongKey(ProtocolError):
    kind = "wrong_key"
