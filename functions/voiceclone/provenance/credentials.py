"""C2PA content credentials: a manifest saying a trained model made the speech, signed in KMS, read back.

The manifest's first action is ``c2pa.created`` with IPTC's digital source type
``trainedAlgorithmicMedia``; an assertion of ours (``org.voiceclone.speech``) names the
voice, vendor, tenant and speech. The signature is ES256 by an ECC P-256 key that never
leaves AWS KMS (:class:`KmsSigner`), under the operator's certificate chain from
configuration. c2pa-python signs and reads whole, seekable files only: audio streamed while
it is made cannot carry a manifest (docs/labels.md). The library is bound lazily
(:mod:`voiceclone.lazy`) and runs only here, when signing or reading.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import Field

from voiceclone.domain.base import BaseModel
from voiceclone.lazy import optional_lazy_module
from voiceclone.provenance import riff
from voiceclone.provenance.errors import LabelError
from voiceclone.provenance.models import AudioFormat, SpeechContext

if TYPE_CHECKING:
    from voiceclone.settings import Settings

c2pa = optional_lazy_module("c2pa")

SPEECH_ASSERTION = "org.voiceclone.speech"
CLAIM_GENERATOR = "voiceclone"
TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
MIME_TYPES: dict[str, str] = {"wav": "audio/wav", "mp3": "audio/mpeg"}
# KMS signs a message of at most 4096 bytes itself (MessageType RAW); a longer one (the signed
# structure carries the certificate chain) is hashed here and its SHA-256 digest signed instead:
# ECDSA_SHA_256 gives the same signature either way.
KMS_RAW_LIMIT = 4096
_P256_BYTES = 32


class KmsClient(Protocol):
    """What the signer needs of a boto3/botocore KMS client."""

    def sign(self, **kwargs: Any) -> Mapping[str, Any]: ...


def der_to_p1363(der: bytes, size: int = _P256_BYTES) -> bytes:
    """An ECDSA signature as COSE wants it (r || s, ``size`` bytes each) from KMS's DER encoding."""

    def element(data: bytes, pos: int, tag: int) -> tuple[bytes, int]:
        if data[pos] != tag:
            raise ValueError("not a DER ECDSA signature")
        length, pos = data[pos + 1], pos + 2
        if length & 0x80:  # long form: the next (length & 0x7f) bytes hold the length
            count = length & 0x7F
            length, pos = int.from_bytes(data[pos : pos + count], "big"), pos + count
        return data[pos : pos + length], pos + length

    sequence, _ = element(der, 0, 0x30)
    r, pos = element(sequence, 0, 0x02)
    s, _ = element(sequence, pos, 0x02)
    return b"".join(int.from_bytes(v, "big").to_bytes(size, "big") for v in (r, s))


class KmsSigner:
    """Signs C2PA claims with an ECC_NIST_P256 SIGN_VERIFY key in AWS KMS, under the operator's chain.

    ``certificate_chain_pem`` is the leaf certificate of the KMS key's public key, then any
    intermediates (the root stays out: readers hold it as a trust anchor).
    """

    def __init__(self, kms: KmsClient, key_id: str, certificate_chain_pem: str) -> None:
        if not key_id or "BEGIN CERTIFICATE" not in certificate_chain_pem:
            raise LabelError(
                "NotConfigured", "C2PA signing needs a KMS key id and the certificate chain (PEM)"
            )
        self.kms = kms
        self.key_id = key_id
        self.certificate_chain_pem = certificate_chain_pem

    @classmethod
    def from_settings(cls, kms: KmsClient, settings: Settings) -> KmsSigner:
        return cls(kms, settings.c2pa_kms_key_id, settings.c2pa_certificate_chain)

    def sign(self, data: bytes) -> bytes:
        """ES256 over ``data`` by KMS, as r || s."""
        if len(data) <= KMS_RAW_LIMIT:
            message, message_type = data, "RAW"
        else:
            message, message_type = hashlib.sha256(data).digest(), "DIGEST"
        answer = self.kms.sign(
            KeyId=self.key_id, Message=message, MessageType=message_type, SigningAlgorithm="ECDSA_SHA_256"
        )
        return der_to_p1363(answer["Signature"])


def _library() -> Any:
    if c2pa is None:
        raise LabelError(
            "NotConfigured", "c2pa-python is not installed: C2PA credentials cannot be made or read"
        )
    return c2pa


def manifest(context: SpeechContext, fmt: AudioFormat) -> dict[str, Any]:
    """The manifest definition: created by a trained model, and which speech of which voice it is."""
    return {
        "claim_generator_info": [{"name": CLAIM_GENERATOR}],
        "title": f"{context.speech_id}.{fmt}",
        "format": MIME_TYPES[fmt],
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [{"action": "c2pa.created", "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA}]
                },
            },
            {"label": SPEECH_ASSERTION, "data": context.model_dump()},
        ],
    }


def sign(audio: bytes, fmt: AudioFormat, context: SpeechContext, signer: KmsSigner) -> bytes:
    """The file with its C2PA manifest embedded (WAV: a ``C2PA`` chunk; MP3: an ID3 ``GEOB`` frame)."""
    if fmt not in MIME_TYPES:
        raise LabelError("UnsupportedAudio", f"C2PA cannot sign {fmt}: only whole WAV and MP3 files")
    lib = _library()
    # The SDK turns a callback's exception into its own "signature failed"; keep KMS's reason.
    kms_errors: list[Exception] = []

    def callback(data: bytes) -> bytes:
        try:
            return signer.sign(data)
        except Exception as exc:
            kms_errors.append(exc)
            raise

    try:
        with (
            lib.Signer.from_callback(
                callback, lib.C2paSigningAlg.ES256, signer.certificate_chain_pem, None
            ) as c2pa_signer,
            lib.Builder(manifest(context, fmt)) as builder,
        ):
            out = io.BytesIO()
            builder.sign(c2pa_signer, MIME_TYPES[fmt], io.BytesIO(audio), out)
    except lib.C2paError as exc:
        cause = kms_errors[0] if kms_errors else exc
        raise LabelError("SigningFailed", f"C2PA signing failed: {type(cause).__name__}: {cause}") from cause
    return out.getvalue()


class StatusEntry(BaseModel):
    code: str
    explanation: str = ""


class SpeechAssertion(BaseModel):
    """The ``org.voiceclone.speech`` assertion as read (fields absent in a foreign manifest stay None)."""

    speech_id: str | None = None
    voice_id: str | None = None
    vendor: str | None = None
    tenant_id: str | None = None


class CredentialReport(BaseModel):
    """What the C2PA reader found: a manifest or not, its validation state and codes, what it says."""

    present: bool
    # Trusted: valid and chained to a given anchor; Valid: intact, signer not trusted; Invalid: broken.
    state: Literal["Trusted", "Valid", "Invalid"] | None = None
    failures: list[StatusEntry] = Field(default_factory=list)
    successes: list[str] = Field(default_factory=list)
    claim_generator: str | None = None
    digital_source_type: str | None = None
    signer_issuer: str | None = None
    signer_common_name: str | None = None
    speech: SpeechAssertion | None = None
    error: str | None = None

    @property
    def valid(self) -> bool:
        return self.state in ("Trusted", "Valid")

    @property
    def trusted(self) -> bool:
        return self.state == "Trusted"


def read(audio: bytes, fmt: AudioFormat, trust_anchors_pem: str) -> CredentialReport:
    """The manifest store's verdict, trusting only ``trust_anchors_pem`` (no remote fetch, no OCSP).

    A streamed WAV (its data declared to run to the end of the file) has no manifest: none can
    follow its samples, and the SDK would only refuse its sizes.
    """
    if fmt == "wav" and riff.declared_size(audio, b"data") == riff.UNKNOWN_SIZE:
        return CredentialReport(present=False)
    lib = _library()
    settings = {
        "trust": {"trust_anchors": trust_anchors_pem},
        "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
    }
    try:
        with lib.Context.from_dict(settings) as context:
            reader = lib.Reader.try_create(MIME_TYPES[fmt], io.BytesIO(audio), None, context)
            if reader is None:
                return CredentialReport(present=False)
            with reader:
                store = json.loads(reader.json())
                state = reader.get_validation_state()
                results = reader.get_validation_results() or {}
    except lib.C2paError as exc:
        return CredentialReport(present=True, state="Invalid", error=f"{type(exc).__name__}: {exc}")
    return _report(store, state, results)


_STATES: dict[str, Literal["Trusted", "Valid", "Invalid"]] = {s: s for s in ("Trusted", "Valid", "Invalid")}


def _report(store: dict[str, Any], state: str | None, results: dict[str, Any]) -> CredentialReport:
    active = store.get("manifests", {}).get(store.get("active_manifest", ""), {})
    assertions = {a.get("label"): a.get("data", {}) for a in active.get("assertions", [])}
    actions = (assertions.get("c2pa.actions.v2") or assertions.get("c2pa.actions") or {}).get("actions", [])
    speech = assertions.get(SPEECH_ASSERTION)
    signature = active.get("signature_info", {})
    generator = next((g.get("name") for g in active.get("claim_generator_info", [])), None)
    manifest_results = results.get("activeManifest", {})
    failures = [
        StatusEntry(code=entry.get("code", ""), explanation=entry.get("explanation", ""))
        for entry in manifest_results.get("failure", []) or store.get("validation_status", [])
    ]
    return CredentialReport(
        present=True,
        state=_STATES.get(state or ""),
        failures=failures,
        successes=[entry.get("code", "") for entry in manifest_results.get("success", [])],
        claim_generator=generator,
        digital_source_type=actions[0].get("digitalSourceType") if actions else None,
        signer_issuer=signature.get("issuer"),
        signer_common_name=signature.get("common_name"),
        speech=SpeechAssertion.model_validate(speech) if isinstance(speech, dict) else None,
    )
