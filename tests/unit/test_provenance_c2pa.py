"""C2PA credentials signed in KMS (moto), read by c2pa-python's own Reader; verify()'s findings."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import c2pa
import mutagen.id3
import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, encode_dss_signature
from cryptography.x509.oid import ExtendedKeyUsageOID
from voiceclone.domain.audio import wav_file
from voiceclone.domain.audio_decode import encode
from voiceclone.provenance import KmsSigner, LabelError, LabelPolicy, SpeechContext, label_speech, verify
from voiceclone.provenance.aigc import label_for
from voiceclone.provenance.credentials import SPEECH_ASSERTION, TRAINED_ALGORITHMIC_MEDIA, der_to_p1363, sign
from voiceclone.provenance.csr import certificate_request
from voiceclone.provenance.devca import DevelopmentCa, DevelopmentCredentials, development_credentials
from voiceclone.provenance.implicit import write_label

from tests.helpers import moto_client, riff_chunks, riff_file, sample_speech

CONTEXT = SpeechContext(
    speech_id="sp-" + "ab" * 16, voice_id="vo-42", vendor="volcengine", tenant_id="tenant-a"
)
POLICY = LabelPolicy(content_producer="001191110102MAD55U9H0F10002")


class Kms:
    """The moto KMS key, its development certificate, and a signer over them."""

    def __init__(self, client: Any, credentials: DevelopmentCredentials) -> None:
        self.client = client
        self.credentials = credentials
        self.signer = KmsSigner(client, credentials.key_id, credentials.certificate_chain_pem)
        der = client.get_public_key(KeyId=credentials.key_id)["PublicKey"]
        self.public_key = serialization.load_der_public_key(der)


@pytest.fixture(scope="module")
def kms() -> Iterator[Kms]:
    with moto_client("kms", "eu-central-1") as client:
        key_id = client.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
        yield Kms(client, development_credentials(client, key_id))


def speech(fmt: str) -> bytes:
    pcm = sample_speech(16000)[: 16000 * 3]
    return wav_file(16000, pcm) if fmt == "wav" else encode(pcm, 16000, "mp3")


def flip_audio_byte(audio: bytes, fmt: str) -> bytes:
    """One bit changed in the middle of the samples (WAV data chunk) or of the frames (MP3)."""
    if fmt == "wav":
        data = dict(riff_chunks(audio))[b"data"]
        at = audio.index(data) + len(data) // 2
    else:
        tag_size = mutagen.id3.ID3(io.BytesIO(audio)).size
        at = tag_size + (len(audio) - tag_size) // 2
    changed = bytearray(audio)
    changed[at] ^= 0x01
    return bytes(changed)


def strip_label(audio: bytes, fmt: str) -> bytes:
    """The AIGC label removed as a tool would: the WAV chunk dropped, the MP3 TXXX frame deleted (mutagen)."""
    if fmt == "wav":
        return riff_file([c for c in riff_chunks(audio) if c[0] != b"AIGC"])
    out = io.BytesIO(audio)
    tags = mutagen.id3.ID3(out)
    tags.delall("TXXX:AIGC")
    out.seek(0)  # mutagen rewrites the tag where the file object stands
    tags.save(out, v2_version=4)
    return out.getvalue()


# ----- the certificate and the KMS signature ----------------------------------------------------


def test_the_development_leaf_certifies_the_kms_key_with_what_c2pa_requires(kms: Kms) -> None:
    leaf = x509.load_pem_x509_certificate(kms.credentials.certificate_chain_pem.encode())
    root = x509.load_pem_x509_certificate(kms.credentials.trust_anchor_pem.encode())
    # The leaf's key is the KMS key's, issued by the root (not self-signed)
    assert leaf.public_key() == kms.public_key
    assert leaf.issuer == root.subject != leaf.subject
    leaf.verify_directly_issued_by(root)
    # KeyUsage digitalSignature only, critical; EKU emailProtection; not a CA
    usage = leaf.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature
    assert not (usage.value.key_cert_sign or usage.value.crl_sign or usage.value.content_commitment)
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.EMAIL_PROTECTION]
    constraints = leaf.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca is False
    # SKI of its own key, AKI naming the root's key
    ski = leaf.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert ski == x509.SubjectKeyIdentifier.from_public_key(leaf.public_key())  # type: ignore[arg-type]
    aki = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    root_ski = root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == root_ski.digest
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    # Named as what it is
    assert "not for production" in leaf.subject.rfc4514_string()


def test_the_operators_certificate_request_is_signed_by_the_kms_key(kms: Kms) -> None:
    # When an operator asks for the CSR of its KMS key (what its CA signs)
    subject = "CN=Example speech signing,O=Example Ltd,C=CN"
    pem = certificate_request(kms.client, kms.credentials.key_id, subject)
    # Then it is a valid PKCS #10 request for that key, self-signed by KMS, naming the subject
    request = x509.load_pem_x509_csr(pem.encode())
    assert request.is_signature_valid
    assert request.public_key() == kms.public_key
    assert request.subject.rfc4514_string() == subject


def test_a_leaf_is_only_issued_for_a_p256_key() -> None:
    other = ec.generate_private_key(ec.SECP384R1()).public_key()
    der = other.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(ValueError, match="P-256"):
        DevelopmentCa().issue_leaf(der, "wrong curve")


def test_kms_signs_es256_and_the_signature_is_cose_r_s(kms: Kms) -> None:
    # When KMS signs a claim-sized message
    message = os.urandom(1500)
    signature = kms.signer.sign(message)
    # Then it is r || s (64 bytes), and it verifies under the KMS key's public key
    assert len(signature) == 64
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    kms.public_key.verify(der, message, ec.ECDSA(hashes.SHA256()))  # type: ignore[union-attr, call-arg]


@pytest.mark.parametrize(
    ("r", "s"), [(1, 2), (2**255 + 7, 2**256 - 5), (2**247 + 3, 2**200)], ids=["tiny", "high-bit", "short"]
)
def test_der_to_p1363_pads_and_strips_as_cose_wants(r: int, s: int) -> None:
    assert der_to_p1363(encode_dss_signature(r, s)) == r.to_bytes(32, "big") + s.to_bytes(32, "big")


def test_a_message_over_kms_raw_limit_is_signed_as_its_sha256_digest() -> None:
    # Given a KMS that signs with a local key and honours MessageType as KMS documents it
    key = ec.generate_private_key(ec.SECP256R1())
    calls: list[dict[str, Any]] = []

    class DigestKms:
        def sign(self, **kwargs: Any) -> dict[str, Any]:
            calls.append(kwargs)
            algorithm = ec.ECDSA(
                Prehashed(hashes.SHA256()) if kwargs["MessageType"] == "DIGEST" else hashes.SHA256()
            )
            return {"Signature": key.sign(kwargs["Message"], algorithm)}

    signer = KmsSigner(DigestKms(), "key", "-----BEGIN CERTIFICATE-----")
    # When a 5000-byte message is signed (the signed structure carries the certificate chain)
    message = os.urandom(5000)
    signature = signer.sign(message)
    # Then KMS was given its SHA-256 digest, and the signature holds over the message itself
    assert calls[0]["MessageType"] == "DIGEST" and calls[0]["Message"] == hashlib.sha256(message).digest()
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    key.public_key().verify(der, message, ec.ECDSA(hashes.SHA256()))
    with pytest.raises(InvalidSignature):
        key.public_key().verify(der, message + b"x", ec.ECDSA(hashes.SHA256()))


# ----- signed speech, read by c2pa-python itself ------------------------------------------------


@pytest.mark.parametrize("fmt", ["wav", "mp3"])
def test_labelled_speech_reads_trusted_with_c2pas_own_reader(kms: Kms, fmt: str) -> None:
    # Given a vendor's speech, labelled and signed
    labelled = label_speech(speech(fmt), fmt, 16000, CONTEXT, kms.signer, POLICY)
    assert labelled.signed and labelled.explicit
    # When c2pa-python reads it, trusting the development root
    settings = {"trust": {"user_anchors": kms.credentials.trust_anchor_pem}, "verify": {"ocsp_fetch": False}}
    with (
        c2pa.Context.from_dict(settings) as context,
        c2pa.Reader(
            f"audio/{'wav' if fmt == 'wav' else 'mpeg'}", io.BytesIO(labelled.audio), None, context
        ) as reader,
    ):
        state = reader.get_validation_state()
        store = json.loads(reader.json())
    # Then it is Trusted, made by voiceclone from a trained algorithm, naming the speech
    assert state == "Trusted", store.get("validation_status")
    manifest = store["manifests"][store["active_manifest"]]
    assert manifest["claim_generator_info"][0]["name"] == "voiceclone"
    assertions = {a["label"]: a["data"] for a in manifest["assertions"]}
    first = assertions["c2pa.actions.v2"]["actions"][0]
    assert first["action"] == "c2pa.created" and first["digitalSourceType"] == TRAINED_ALGORITHMIC_MEDIA
    assert assertions[SPEECH_ASSERTION] == CONTEXT.model_dump()
    # And the AIGC label signed along is still there for independent readers
    if fmt == "wav":
        assert [c[0] for c in riff_chunks(labelled.audio)] == [b"fmt ", b"AIGC", b"data", b"C2PA"]
    else:
        tags = mutagen.id3.ID3(io.BytesIO(labelled.audio))
        assert len(tags.getall("TXXX:AIGC")) == 1 and tags.getall("GEOB")
    # And verify() agrees: every label present and holding
    report = verify(labelled.audio, kms.credentials.trust_anchor_pem)
    assert report.ok, report.findings
    assert report.format == fmt and report.c2pa.trusted and report.explicit_label is True
    assert report.c2pa.speech is not None and report.c2pa.speech.tenant_id == "tenant-a"
    assert report.aigc.form == "wrapped" and report.aigc.audio_matches is True
    assert report.aigc.label == labelled.label


def test_an_id3v23_tagged_mp3_keeps_its_frames_through_signing(kms: Kms) -> None:
    # Given a vendor's MP3 with an ID3v2.3 title
    tagged = io.BytesIO(speech("mp3"))
    tags = mutagen.id3.ID3()
    tags.add(mutagen.id3.TIT2(encoding=1, text="标题"))
    tags.save(tagged, v2_version=3)
    # When labelled and signed (c2pa-python rewrites the tag as ID3v2.4 to add its GEOB frame)
    labelled = label_speech(tagged.getvalue(), "mp3", 16000, CONTEXT, kms.signer, POLICY).audio
    # Then the title, the one AIGC label and the manifest are all there, and everything holds
    read = mutagen.id3.ID3(io.BytesIO(labelled))
    assert str(read["TIT2"]) == "标题" and len(read.getall("TXXX:AIGC")) == 1 and read.getall("GEOB")
    assert verify(labelled, kms.credentials.trust_anchor_pem).ok


@pytest.mark.parametrize("fmt", ["wav", "mp3"])
def test_one_flipped_audio_byte_is_reported(kms: Kms, fmt: str) -> None:
    labelled = label_speech(speech(fmt), fmt, 16000, CONTEXT, kms.signer, POLICY).audio
    report = verify(flip_audio_byte(labelled, fmt), kms.credentials.trust_anchor_pem)
    assert report.c2pa.state == "Invalid"
    assert "assertion.dataHash.mismatch" in [f.code for f in report.c2pa.failures]
    assert {"c2pa.invalid", "aigc.audio_mismatch"} <= set(report.codes) and not report.ok


@pytest.mark.parametrize("fmt", ["wav", "mp3"])
def test_a_stripped_label_is_missing_and_the_manifest_no_longer_matches(kms: Kms, fmt: str) -> None:
    labelled = label_speech(speech(fmt), fmt, 16000, CONTEXT, kms.signer, POLICY).audio
    report = verify(strip_label(labelled, fmt), kms.credentials.trust_anchor_pem)
    assert not report.aigc.present
    assert "assertion.dataHash.mismatch" in [f.code for f in report.c2pa.failures]
    assert {"aigc.missing", "c2pa.invalid"} <= set(report.codes)


def test_a_signer_outside_the_trust_anchors_is_valid_but_untrusted(kms: Kms) -> None:
    labelled = label_speech(speech("wav"), "wav", 16000, CONTEXT, kms.signer, POLICY).audio
    report = verify(labelled, DevelopmentCa("another root").root_pem)
    assert report.c2pa.state == "Valid" and not report.c2pa.trusted
    assert "signingCredential.untrusted" in [f.code for f in report.c2pa.failures]
    assert report.codes == ["c2pa.untrusted"]


def test_unsigned_speech_has_no_credentials(kms: Kms) -> None:
    unsigned = label_speech(
        speech("mp3"), "mp3", 16000, CONTEXT, None, POLICY.model_copy(update={"sign": False})
    )
    report = verify(unsigned.audio, kms.credentials.trust_anchor_pem)
    assert report.codes == ["c2pa.missing"] and report.aigc.audio_matches is True


def test_metadata_written_after_signing_breaks_the_hash(kms: Kms) -> None:
    # Label first, then sign (what label_speech does); the reverse order invalidates the manifest
    signed = sign(speech("wav"), "wav", CONTEXT, kms.signer)
    late = write_label(signed, "wav", label_for(CONTEXT, POLICY, b""))
    report = verify(late, kms.credentials.trust_anchor_pem)
    assert "assertion.dataHash.mismatch" in [f.code for f in report.c2pa.failures]


def test_an_aigc_label_of_another_speech_is_reported(kms: Kms) -> None:
    other = CONTEXT.model_copy(update={"speech_id": "sp-other"})
    audio = write_label(speech("wav"), "wav", label_for(other, POLICY, b""))
    report = verify(sign(audio, "wav", CONTEXT, kms.signer), kms.credentials.trust_anchor_pem)
    assert report.c2pa.trusted and "aigc.manifest_mismatch" in report.codes


def test_a_kms_failure_is_the_reason_signing_fails(kms: Kms) -> None:
    # Given a signer whose key KMS does not know
    unknown = "00000000-0000-0000-0000-000000000000"
    signer = KmsSigner(kms.client, unknown, kms.credentials.certificate_chain_pem)
    # Then labelling fails with KMS's own error, not only the SDK's "signature failed"
    with pytest.raises(LabelError) as failed:
        label_speech(speech("wav"), "wav", 16000, CONTEXT, signer, POLICY)
    assert failed.value.code == "SigningFailed" and "NotFoundException" in failed.value.message


def test_signing_without_a_signer_is_refused() -> None:
    with pytest.raises(LabelError) as refused:
        label_speech(speech("wav"), "wav", 16000, CONTEXT, None, POLICY)
    assert refused.value.code == "NotConfigured"


def test_a_file_that_is_no_audio_is_reported_as_such() -> None:
    assert verify(b"%PDF-1.7 not audio", "").codes == ["format.unknown"]


# ----- import cost ------------------------------------------------------------------------------

PROBE = """
import json, sys
from voiceclone.provenance import LabelPolicy, SpeechContext, label_speech
from voiceclone.domain.audio import wav_file
def native():
    return "libc2pa_c" in open("/proc/self/maps").read()
def loaded(name):  # a module bound lazily (voiceclone.lazy) enters sys.modules when first read
    return name in sys.modules
imported = {"av": loaded("av"), "c2pa": "c2pa.c2pa" in sys.modules, "native": native(),
            "cryptography": "cryptography.x509" in sys.modules, "boto3": "boto3" in sys.modules}
context = SpeechContext(speech_id="sp-1", voice_id="v", vendor="x", tenant_id="t")
label_speech(wav_file(16000, bytes(32000)), "wav", 16000, context, None,
             LabelPolicy(content_producer="op", sign=False))
labelled = {"c2pa": "c2pa.c2pa" in sys.modules, "native": native(), "av": loaded("av")}
print(json.dumps({"imported": imported, "labelled": labelled}))
"""


def test_the_package_imports_neither_pyav_nor_c2pas_native_library_until_it_signs() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    found = json.loads(out.stdout)
    assert found["imported"] == {
        "av": False,
        "c2pa": False,
        "native": False,
        "cryptography": False,
        "boto3": False,
    }
    assert found["labelled"] == {"c2pa": False, "native": False, "av": False}
