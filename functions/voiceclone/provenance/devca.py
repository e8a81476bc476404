"""DEVELOPMENT ONLY: a throwaway certificate authority that certifies a KMS key for C2PA signing.

The local stack and the tests have no operator CA, so this makes one: a root whose private key
lives only in this process's memory, and a leaf certificate for the public key of a KMS key
(moto's, or a development key in a real account) with what c2pa-python requires of a signing
certificate (KeyUsage digitalSignature, critical; ExtendedKeyUsage emailProtection; subject and
authority key identifiers; not a CA). A manifest signed under it reads ``Trusted`` only for a
reader given this root as its trust anchor. Production uses the operator's CA (docs/labels.md).
"""

from __future__ import annotations

import datetime
from typing import Any, Protocol

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from voiceclone.domain.base import BaseModel

DEVELOPMENT_ORGANIZATION = "voiceclone development (not for production)"
ROOT_DAYS = 30
LEAF_DAYS = 7


class KmsPublicKeys(Protocol):
    def get_public_key(self, **kwargs: Any) -> Any: ...


class DevelopmentCa:
    """A root certificate and its in-memory key: issues leaf certificates, never leaves the process."""

    def __init__(self, common_name: str = "voiceclone development root") -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())
        name = _name(common_name)
        now = _now()
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=ROOT_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self._key.public_key()), critical=False)
            .sign(self._key, hashes.SHA256())
        )

    @property
    def root_pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    def issue_leaf(self, public_key_der: bytes, common_name: str) -> x509.Certificate:
        """A C2PA signing certificate for a P-256 public key (DER SubjectPublicKeyInfo, as KMS gives it)."""
        public_key = serialization.load_der_public_key(public_key_der)
        if not isinstance(public_key, ec.EllipticCurvePublicKey) or public_key.curve.name != "secp256r1":
            raise ValueError("the leaf's key must be an ECC P-256 (ECC_NIST_P256) public key")
        now = _now()
        return (
            x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(self.certificate.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=LEAF_DAYS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(digital_signature=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), critical=False
            )
            .sign(self._key, hashes.SHA256())
        )


class DevelopmentCredentials(BaseModel):
    """What signing and verifying need: the chain for the signer, the root for the readers."""

    key_id: str
    certificate_chain_pem: str
    trust_anchor_pem: str


def development_credentials(
    kms: KmsPublicKeys, key_id: str, common_name: str = "voiceclone development signer"
) -> DevelopmentCredentials:
    """A fresh development root and a leaf for the KMS key ``key_id`` (DEVELOPMENT ONLY)."""
    ca = DevelopmentCa()
    public_key = kms.get_public_key(KeyId=key_id)["PublicKey"]
    leaf = ca.issue_leaf(public_key, common_name)
    return DevelopmentCredentials(
        key_id=key_id,
        certificate_chain_pem=leaf.public_bytes(serialization.Encoding.PEM).decode(),
        trust_anchor_pem=ca.root_pem,
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, DEVELOPMENT_ORGANIZATION),
        ]
    )


def _key_usage(
    *, digital_signature: bool = False, key_cert_sign: bool = False, crl_sign: bool = False
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=crl_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)
