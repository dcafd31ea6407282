"""RSA key formats, fingerprints and safety numbers.

Public keys travel as SubjectPublicKeyInfo (SPKI) DER, private keys as
PKCS#8 DER: the formats WebCrypto imports and exports, so both backends share
them byte for byte.
"""

import hashlib

from pyasn1.codec.der import decoder, encoder
from pyasn1.error import PyAsn1Error
from pyasn1.type import namedtype, univ

from ..errors import ParseError
from .encoding import LABEL_SAFETY_NUMBER

RSA_ENCRYPTION_OID = univ.ObjectIdentifier("1.2.840.113549.1.1.1")
MIN_RSA_BITS = 2048
MAX_RSA_BITS = 4096
DEFAULT_RSA_BITS = 3072
RSA_PUBLIC_EXPONENT = 65537
SAFETY_NUMBER_ITERATIONS = 5200


class _AlgorithmIdentifier(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("algorithm", univ.ObjectIdentifier()),
        namedtype.NamedType("parameters", univ.Null()),
    )


class _SubjectPublicKeyInfo(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("algorithm", _AlgorithmIdentifier()),
        namedtype.NamedType("subjectPublicKey", univ.BitString()),
    )


class _RSAPublicKey(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("modulus", univ.Integer()),
        namedtype.NamedType("publicExponent", univ.Integer()),
    )


class _RSAPrivateKey(univ.Sequence):
    """PKCS#1 (RFC 8017 A.1.2), two-prime form only (version 0)."""
    componentType = namedtype.NamedTypes(*(
        namedtype.NamedType(name, univ.Integer())
        for name in ("version", "modulus", "publicExponent", "privateExponent", "prime1", "prime2",
                     "exponent1", "exponent2", "coefficient")))


class _PrivateKeyInfo(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("version", univ.Integer()),
        namedtype.NamedType("privateKeyAlgorithm", _AlgorithmIdentifier()),
        namedtype.NamedType("privateKey", univ.OctetString()),
    )


def _decode_exact(der: bytes, spec, what: str):
    try:
        value, rest = decoder.decode(der, asn1Spec=spec)
    except (PyAsn1Error, TypeError, ValueError):
        raise ParseError(f"{what} is not valid DER") from None
    if rest:
        raise ParseError(f"{what} has trailing bytes")
    if encoder.encode(value) != der:
        raise ParseError(f"{what} is not canonical DER")
    return value


def _algorithm() -> _AlgorithmIdentifier:
    algorithm = _AlgorithmIdentifier()
    algorithm["algorithm"] = RSA_ENCRYPTION_OID
    algorithm["parameters"] = univ.Null("")
    return algorithm


def encode_public_key(n: int, e: int) -> bytes:
    rsa_key = _RSAPublicKey()
    rsa_key["modulus"] = n
    rsa_key["publicExponent"] = e
    spki = _SubjectPublicKeyInfo()
    spki["algorithm"] = _algorithm()
    spki["subjectPublicKey"] = univ.BitString.fromOctetString(encoder.encode(rsa_key))
    return encoder.encode(spki)


def _check_rsa_public(n: int, e: int, what: str) -> None:
    # A negative or even modulus, or another exponent, would reach the RSA
    # arithmetic and fail there with a ValueError; refuse it here instead.
    if n <= 0 or n % 2 == 0 or not MIN_RSA_BITS <= n.bit_length() <= MAX_RSA_BITS:
        raise ParseError(f"{what}: the RSA modulus must be a positive odd number of {MIN_RSA_BITS} to "
                         f"{MAX_RSA_BITS} bits")
    if e != RSA_PUBLIC_EXPONENT:
        raise ParseError(f"{what}: the RSA public exponent must be {RSA_PUBLIC_EXPONENT}")


def parse_public_key(der: bytes) -> tuple[int, int]:
    """Return ``(n, e)`` from an RSA SPKI, rejecting anything unusual."""
    if not isinstance(der, (bytes, bytearray)):
        raise ParseError("public key must be DER bytes")
    spki = _decode_exact(bytes(der), _SubjectPublicKeyInfo(), "public key")
    if spki["algorithm"]["algorithm"] != RSA_ENCRYPTION_OID:
        raise ParseError("public key is not an RSA key")
    bits = spki["subjectPublicKey"]
    if len(bits) % 8:
        raise ParseError("public key bit string is not whole bytes")
    rsa_key = _decode_exact(bits.asOctets(), _RSAPublicKey(), "RSA public key")
    n, e = int(rsa_key["modulus"]), int(rsa_key["publicExponent"])
    _check_rsa_public(n, e, "public key")
    return n, e


def encode_private_key(pkcs1_der: bytes) -> bytes:
    info = _PrivateKeyInfo()
    info["version"] = 0
    info["privateKeyAlgorithm"] = _algorithm()
    info["privateKey"] = pkcs1_der
    return encoder.encode(info)


def parse_private_key(der: bytes) -> bytes:
    """Return the PKCS#1 RSAPrivateKey DER inside a PKCS#8 PrivateKeyInfo.

    The inner key is parsed as strictly as the outer one (canonical DER, no
    trailing bytes, two primes, 2048-4096 bits, e = 65537) and its parts must
    agree with each other, so a key that decrypts to garbage or to a weak key
    is refused before any RSA operation runs.
    """
    if not isinstance(der, (bytes, bytearray)):
        raise ParseError("private key must be DER bytes")
    info = _decode_exact(bytes(der), _PrivateKeyInfo(), "private key")
    if int(info["version"]) != 0 or info["privateKeyAlgorithm"]["algorithm"] != RSA_ENCRYPTION_OID:
        raise ParseError("private key is not a PKCS#8 RSA key")
    pkcs1 = info["privateKey"].asOctets()
    _rsa_private_numbers(pkcs1)
    return pkcs1


def _rsa_private_numbers(pkcs1: bytes) -> tuple[int, int]:
    key = _decode_exact(pkcs1, _RSAPrivateKey(), "RSA private key")
    version, n, e, d, p, q, dp, dq, qinv = (int(key[name]) for name in (
        "version", "modulus", "publicExponent", "privateExponent", "prime1", "prime2",
        "exponent1", "exponent2", "coefficient"))
    if version != 0:
        raise ParseError("private key must be a two-prime RSA key (version 0)")
    _check_rsa_public(n, e, "private key")
    consistent = (
        1 < p < n and 1 < q < n and p * q == n and 0 < d < n
        and 0 < dp < p and 0 < dq < q and 0 < qinv < p
        and (e * dp) % (p - 1) == 1 and (e * dq) % (q - 1) == 1 and (q * qinv) % p == 1
        and d % (p - 1) == dp and d % (q - 1) == dq)
    if not consistent:
        raise ParseError("private key: its numbers do not form an RSA key")
    return n, e


def public_key_of(private_der: bytes) -> bytes:
    """The SPKI of a PKCS#8 private key (parsed strictly)."""
    return encode_public_key(*_rsa_private_numbers(parse_private_key(private_der)))


def check_key_pair(private_der: bytes, public_der: bytes) -> None:
    """Raise ``ParseError`` unless the private key is the one behind ``public_der``."""
    parse_public_key(public_der)
    if public_key_of(private_der) != public_der:
        raise ParseError("the private key does not belong to this public key")


async def verify_signature(backend, public_key: bytes, data: bytes, signature: bytes) -> bool:
    """``backend.verify`` behind the strict SPKI parse: a key that is not a
    usable RSA key (a negative modulus, say) is a signature that does not
    verify, whatever the backend would have done with it."""
    try:
        parse_public_key(public_key)
    except ParseError:
        return False
    return await backend.verify(public_key, data, signature)


def fingerprint(spki_der: bytes) -> bytes:
    return hashlib.sha256(spki_der).digest()


def format_fingerprint(digest: bytes) -> str:
    """Hex in groups of four, e.g. ``3f2a 91c0 ...``, for reading aloud."""
    text = digest.hex()
    return " ".join(text[i:i + 4] for i in range(0, len(text), 4))


def _safety_half(user_id: str, spki_der: bytes) -> str:
    digest = hashlib.sha512(LABEL_SAFETY_NUMBER + b"\x00" + spki_der + user_id.encode("ascii")).digest()
    for _ in range(SAFETY_NUMBER_ITERATIONS):
        digest = hashlib.sha512(digest + spki_der).digest()
    chunks = (int.from_bytes(digest[i:i + 5], "big") % 100000 for i in range(0, 30, 5))
    return "".join(f"{chunk:05d}" for chunk in chunks)


def safety_number(user_a: str, key_a: bytes, user_b: str, key_b: bytes) -> str:
    """60 digits, identical on both sides: the lower user id's half first."""
    halves = sorted([(user_a, _safety_half(user_a, key_a)), (user_b, _safety_half(user_b, key_b))])
    return halves[0][1] + halves[1][1]


def format_safety_number(number: str) -> str:
    return " ".join(number[i:i + 5] for i in range(0, len(number), 5))
