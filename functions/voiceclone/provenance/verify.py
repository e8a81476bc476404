"""Checking a file: what labels it carries, whether they hold, and what was stripped or altered.

Each label is checked on its own and against the others: the C2PA manifest's signature and
hash (any changed byte outside the manifest, a removed AIGC chunk included, is a
``assertion.dataHash.mismatch``), the AIGC label's presence, form and digest of the audio
(ReservedCode1), its ProduceID against the manifest's speech id, and the audible rhythm at
the start. The report names the tenant: the caller shows it only to that tenant.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from voiceclone.domain.base import BaseModel
from voiceclone.provenance import credentials, implicit, rhythm
from voiceclone.provenance.aigc import DIGEST_PREFIX, AigcLabel, aigc_form, audio_digest
from voiceclone.provenance.credentials import TRAINED_ALGORITHMIC_MEDIA, CredentialReport
from voiceclone.provenance.errors import LabelError
from voiceclone.provenance.models import AudioFormat


class Finding(BaseModel):
    """One thing wrong or missing; ``error`` means a label is missing or no longer holds."""

    code: str
    severity: Literal["error", "warning"]
    message: str


class AigcReport(BaseModel):
    """The implicit label as found."""

    present: bool
    count: int = 0
    form: Literal["wrapped", "bare"] | None = None
    label: AigcLabel | None = None
    raw: str | None = None
    problem: str | None = None
    # ReservedCode1 recomputed over the audio: True/False when it is our digest, None otherwise.
    audio_matches: bool | None = None


class ProvenanceReport(BaseModel):
    format: AudioFormat | None
    c2pa: CredentialReport
    aigc: AigcReport
    # The audible rhythm at the start (WAV: heard by the detector; MP3: the label's frames found).
    explicit_label: bool | None = None
    findings: list[Finding] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every label present and holding, and the manifest trusted."""
        return not any(f.severity == "error" for f in self.findings)

    @property
    def codes(self) -> list[str]:
        return [f.code for f in self.findings]


def verify(audio: bytes, trust_anchors_pem: str) -> ProvenanceReport:
    """Every label of a WAV or MP3 file, checked; the manifest trusted only under ``trust_anchors_pem``."""
    fmt = implicit.sniff(audio)
    if fmt is None:
        return ProvenanceReport(
            format=None,
            c2pa=CredentialReport(present=False),
            aigc=AigcReport(present=False),
            findings=[_error("format.unknown", "not a WAV or MP3 file: no label can be read")],
        )
    c2pa = credentials.read(audio, fmt, trust_anchors_pem)
    aigc = _aigc(audio, fmt)
    explicit = _explicit(audio, fmt)
    findings = [*_c2pa_findings(c2pa), *_aigc_findings(aigc), *_cross_findings(c2pa, aigc)]
    if not explicit:
        findings.append(
            Finding(
                code="explicit.absent",
                severity="warning",
                message="no audible AI rhythm at the start (the deployment may label only in metadata)",
            )
        )
    return ProvenanceReport(format=fmt, c2pa=c2pa, aigc=aigc, explicit_label=explicit, findings=findings)


def _aigc(audio: bytes, fmt: AudioFormat) -> AigcReport:
    try:
        found = implicit.read_label(audio, fmt)
        payload = implicit.payload(audio, fmt)
    except LabelError as exc:
        return AigcReport(present=False, problem=exc.message)
    if found.copies == 0 or found.raw is None:
        return AigcReport(present=False)
    matches = None
    if found.label is not None and found.label.reserved_code1.startswith(DIGEST_PREFIX):
        matches = found.label.reserved_code1 == audio_digest(payload)
    return AigcReport(
        present=True,
        count=found.copies,
        form=aigc_form(found.raw),
        label=found.label,
        raw=found.raw,
        problem=found.problem,
        audio_matches=matches,
    )


def _explicit(audio: bytes, fmt: AudioFormat) -> bool:
    try:
        return rhythm.detect_wav(audio).found if fmt == "wav" else rhythm.mp3_has_label(audio)
    except LabelError:
        return False


def _error(code: str, message: str) -> Finding:
    return Finding(code=code, severity="error", message=message)


def _c2pa_findings(c2pa: CredentialReport) -> list[Finding]:
    if not c2pa.present:
        return [_error("c2pa.missing", "no C2PA manifest: the file carries no content credentials")]
    codes = ", ".join(f.code for f in c2pa.failures)
    if c2pa.error:
        return [_error("c2pa.unreadable", f"the C2PA manifest cannot be read: {c2pa.error}")]
    found: list[Finding] = []
    if c2pa.state == "Invalid":
        altered = any(f.code.startswith("assertion.dataHash") for f in c2pa.failures)
        what = "the audio or its metadata changed after signing" if altered else "the manifest does not hold"
        found.append(_error("c2pa.invalid", f"{what} ({codes})"))
    elif c2pa.state == "Valid":
        found.append(
            _error("c2pa.untrusted", f"intact, but not signed under a trusted certificate ({codes})")
        )
    if c2pa.digital_source_type != TRAINED_ALGORITHMIC_MEDIA:
        found.append(
            Finding(
                code="c2pa.source_type",
                severity="warning",
                message="the manifest's first action does not say trainedAlgorithmicMedia "
                f"({c2pa.digital_source_type})",
            )
        )
    return found


def _aigc_findings(aigc: AigcReport) -> list[Finding]:
    if not aigc.present:
        return [
            _error(
                "aigc.missing", "no AIGC implicit label in the file's metadata (stripped or never written)"
            )
        ]
    found: list[Finding] = []
    if aigc.label is None:
        found.append(_error("aigc.malformed", f"the AIGC value is not a GB 45438 label: {aigc.problem}"))
    if aigc.count > 1:
        found.append(_error("aigc.duplicate", f"{aigc.count} AIGC labels: the standard allows one per file"))
    if aigc.audio_matches is False:
        found.append(
            _error("aigc.audio_mismatch", "the audio is not the audio the AIGC label was written for")
        )
    return found


def _cross_findings(c2pa: CredentialReport, aigc: AigcReport) -> list[Finding]:
    speech_id = c2pa.speech.speech_id if c2pa.speech else None
    if aigc.label is None or speech_id is None or aigc.label.produce_id == speech_id:
        return []
    return [
        _error(
            "aigc.manifest_mismatch",
            f"the AIGC label's ProduceID {aigc.label.produce_id} is not the manifest's speech {speech_id}",
        )
    ]
