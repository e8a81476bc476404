"""Labels on generated audio: the time labelling and signing add to a speech request, for 10 s and 60 s.

First what a speech request pays, as the speech paths run it (voiceclone.logic.speech.labelling):
``labeller`` (the tenant's policy read from DynamoDB, the certificate chain from its SSM parameter,
cached after the first read) and ``Labeller.label`` on the joined audio (the audible rhythm, the
GB 45438 label, the C2PA manifest signed with the KMS key), for WAV and MP3 speech of 10 s and
60 s at 16 kHz (real speech: the sample recordings, joined to length). Their sum is the time a
speech request adds for its labels; the larger file's S3 write is not counted. AWS here is moto in
this process: a real KMS ``Sign`` adds one network round trip per file, DynamoDB one read.

Then each step of ``voiceclone.provenance.label_speech`` alone (explicit, implicit, C2PA sign, all
three) and ``verify`` of the result (POST /v1/provenance's work), and the import times in fresh
interpreters: the package (c2pa bound, not loaded) and c2pa-python itself. Medians of ``--runs``
runs; the first call, which loads c2pa's library, is left out.

Prints figures; asserts nothing about time. ``PYTHONPATH=functions:local:. python benchmarks/labels.py``
(and ``make benchmark``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from voiceclone.logic.core.services import Services
    from voiceclone.provenance import AudioFormat

ROOT = Path(__file__).resolve().parents[1]
RATE = 16000
FORMATS: tuple[AudioFormat, ...] = ("wav", "mp3")
TENANT = "t-1"
# (what was imported before the clock started, what is timed)
IMPORTS = {
    "voiceclone.provenance, alone (pydantic included)": ("", "import voiceclone.provenance"),
    "voiceclone.provenance after pydantic and voiceclone.domain (the api function has them)": (
        "import pydantic, voiceclone.domain.base, voiceclone.domain.errors",
        "import voiceclone.provenance",
    ),
    "c2pa-python, its native library loaded": ("", "import c2pa; c2pa.Builder"),
}


def speech_pcm(seconds: int) -> bytes:
    """Sample recordings one after another until ``seconds`` of 16 kHz mono PCM."""
    from voiceclone.domain.audio import pcm_of

    pcm = b""
    paths = sorted((ROOT / "samples" / "tencent_vrs").glob("*.wav"))
    while len(pcm) < seconds * RATE * 2:
        for path in paths:
            pcm += pcm_of(path.read_bytes())[1]
    return pcm[: seconds * RATE * 2]


def speech_file(seconds: int, fmt: AudioFormat) -> bytes:
    from voiceclone.domain.audio import wav_file
    from voiceclone.domain.audio_decode import encode

    pcm = speech_pcm(seconds)
    return wav_file(RATE, pcm) if fmt == "wav" else encode(pcm, RATE, "mp3")


def median_ms(action: Callable[[], Any], runs: int) -> float:
    action()  # warm: c2pa's library, pydantic's validators, the rhythm's samples, cached parameters
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def import_ms(setup: str, statement: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        code = f"{setup}\nimport time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONPATH": f"{ROOT / 'functions'}", "PATH": "/usr/bin:/bin"},
        )
        times.append(float(out.stdout))
    return statistics.median(times) * 1000


def deployment(kms: Any, ssm: Any, ddb: Any) -> Services:
    """Services as a labelling function has them: a table, the signing key, its chain in SSM."""
    from voiceclone.logic.core.services import Services
    from voiceclone.provenance.devca import development_credentials
    from voiceclone.settings import Settings
    from voiceclone.store import Store

    from tests.helpers import TABLE_SCHEMA

    ddb.create_table(TableName="labels", **TABLE_SCHEMA)
    key_id = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    made = development_credentials(kms, key_id)
    ssm.put_parameter(Name="/bench/c2pa/certificate-chain", Value=made.certificate_chain_pem, Type="String")
    settings = Settings.model_validate(
        {
            "VOICECLONE_TABLE_NAME": "labels",
            "VOICECLONE_BUCKET_NAME": "labels",
            "VOICECLONE_AIGC_CONTENT_PRODUCER": "001191110102MAD55U9H0F10002",
            "VOICECLONE_C2PA_KMS_KEY_ID": key_id,
            "VOICECLONE_C2PA_CERTIFICATE_CHAIN_PARAMETER": "/bench/c2pa/certificate-chain",
            "VOICECLONE_C2PA_TRUST_ANCHORS": made.trust_anchor_pem,
        }
    )
    svc = Services(settings=settings, overrides={"kms": kms})
    svc.__dict__["store"] = Store("labels", ddb)
    return svc


def request_timings(svc: Services, seconds: int, fmt: AudioFormat, runs: int) -> list[float]:
    """Median ms a speech request spends on its labels: the labeller, then the label, and their sum."""
    from voiceclone.logic.speech import labelling
    from voiceclone.provenance import SpeechContext
    from voiceclone.vendors.speech import SynthesisResult

    context = SpeechContext(speech_id="sp-" + "0" * 32, voice_id="v-1", vendor="volcengine", tenant_id=TENANT)
    joined = SynthesisResult(audio=speech_file(seconds, fmt), format=fmt, sample_rate=RATE)
    labeller = labelling.labeller(svc, TENANT)
    setup = median_ms(lambda: labelling.labeller(svc, TENANT), runs)
    label = median_ms(lambda: labeller.label(context, joined, fmt), runs)
    return [setup, label, setup + label]


def step_timings(svc: Services, seconds: int, fmt: AudioFormat, runs: int) -> list[float]:
    """Median ms of each step on one speech: explicit, implicit, sign, label_speech in all, verify."""
    from voiceclone.logic.speech import labelling
    from voiceclone.provenance import SpeechContext, label_speech, rhythm, verify
    from voiceclone.provenance.aigc import label_for
    from voiceclone.provenance.credentials import sign
    from voiceclone.provenance.implicit import payload, write_label

    context = SpeechContext(speech_id="sp-" + "0" * 32, voice_id="v-1", vendor="volcengine", tenant_id=TENANT)
    labeller = labelling.labeller(svc, TENANT)
    policy, signer = labeller.policy, labeller.signer
    assert signer is not None
    audio = speech_file(seconds, fmt)
    prepend = rhythm.prepend_wav if fmt == "wav" else rhythm.prepend_mp3
    with_rhythm = prepend(audio)

    def implicit() -> bytes:
        return write_label(with_rhythm, fmt, label_for(context, policy, payload(with_rhythm, fmt)))

    labelled = implicit()
    signed = sign(labelled, fmt, context, signer)
    return [
        median_ms(lambda: prepend(audio), runs),
        median_ms(implicit, runs),
        median_ms(lambda: sign(labelled, fmt, context, signer), runs),
        median_ms(lambda: label_speech(audio, fmt, RATE, context, signer, policy), runs),
        median_ms(lambda: verify(signed, svc.settings.c2pa_trust_anchors), runs),
    ]


def _table(title: str, columns: tuple[str, ...], rows: list[tuple[str, list[float]]]) -> None:
    print(title)
    print(f"{'speech':>10} " + " ".join(f"{c:>10}" for c in columns))
    for name, times in rows:
        print(f"{name:>10} " + " ".join(f"{t:>10.2f}" for t in times))


def run(runs: int = 7, seconds: tuple[int, ...] = (10, 60)) -> None:
    import boto3
    from moto import mock_aws

    # Powertools reads the parameter with a client of its own, in the environment's region.
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-central-1")
    with mock_aws():
        svc = deployment(boto3.client("kms"), boto3.client("ssm"), boto3.client("dynamodb"))
        cases = [(s, fmt) for s in seconds for fmt in FORMATS]
        _table(
            f"Labels per speech request, 16 kHz, median of {runs} (ms; AWS is moto in this process)",
            ("labeller", "label", "added"),
            [(f"{s} s {fmt}", request_timings(svc, s, fmt, runs)) for s, fmt in cases],
        )
        _table(
            f"\nEach step of label_speech, and verify (median of {runs}, ms)",
            ("explicit", "implicit", "sign", "all", "verify"),
            [(f"{s} s {fmt}", step_timings(svc, s, fmt, runs)) for s, fmt in cases],
        )
    print(f"\nImport in a fresh interpreter, median of {runs} (ms)")
    for name, (setup, statement) in IMPORTS.items():
        print(f"  {name}: {import_ms(setup, statement, runs):.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--seconds", type=int, nargs="+", default=[10, 60])
    args = parser.parse_args()
    run(args.runs, tuple(args.seconds))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
