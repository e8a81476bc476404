"""A certificate signing request for a KMS key: what an operator sends its CA for the C2PA certificate.

A CSR is signed by the key it certifies, and that key never leaves KMS, so openssl cannot make
it. This builds the request (PKCS #10) around the KMS key's public key and has KMS sign it
(ECDSA_SHA_256 returns the DER signature X.509 wants as it is). The CA adds the extensions a
C2PA signing certificate needs (docs/labels.md); the request only names the subject.

``PYTHONPATH=functions python -m voiceclone.provenance.csr --key-id KEY --subject "CN=...,O=...,C=CN"``
prints the PEM (AWS credentials and region from the environment, as the AWS CLI takes them).
"""

from __future__ import annotations

import argparse
import base64
import textwrap
from typing import Any, Protocol

from cryptography import x509

from voiceclone.aws import client

# ecdsa-with-SHA256 (RFC 5758), the signature algorithm of the request.
_ECDSA_WITH_SHA256 = bytes.fromhex("300a06082a8648ce3d040302")


class KmsKeys(Protocol):
    def get_public_key(self, **kwargs: Any) -> Any: ...
    def sign(self, **kwargs: Any) -> Any: ...


def _der(tag: int, content: bytes) -> bytes:
    """One DER element: tag, definite length, content."""
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + content


def certificate_request(kms: KmsKeys, key_id: str, subject: str) -> str:
    """The PEM CSR for ``key_id`` (an ECC_NIST_P256 SIGN_VERIFY key) naming ``subject`` (RFC 4514)."""
    public_key = kms.get_public_key(KeyId=key_id)
    if public_key.get("KeySpec") not in (None, "ECC_NIST_P256"):
        raise ValueError(f"C2PA signing uses an ECC_NIST_P256 key, not {public_key['KeySpec']}")
    name = x509.Name.from_rfc4514_string(subject).public_bytes()
    # CertificationRequestInfo: version 0, subject, subjectPKInfo, attributes [0] (none).
    info = _der(0x30, _der(0x02, b"\x00") + name + public_key["PublicKey"] + _der(0xA0, b""))
    signature = kms.sign(KeyId=key_id, Message=info, MessageType="RAW", SigningAlgorithm="ECDSA_SHA_256")
    request = _der(0x30, info + _ECDSA_WITH_SHA256 + _der(0x03, b"\x00" + signature["Signature"]))
    body = "\n".join(textwrap.wrap(base64.b64encode(request).decode(), 64))
    return f"-----BEGIN CERTIFICATE REQUEST-----\n{body}\n-----END CERTIFICATE REQUEST-----\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--key-id", required=True, help="the KMS key (id, ARN or alias/...)")
    parser.add_argument("--subject", required=True, help='RFC 4514, e.g. "CN=Speech signing,O=Example,C=CN"')
    args = parser.parse_args()
    print(certificate_request(client("kms"), args.key_id, args.subject), end="")


if __name__ == "__main__":
    main()
