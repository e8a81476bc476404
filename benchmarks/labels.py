"""Labels on generated audio: what labelling and signing add to a 10 s and a 60 s speech, and the imports.

For WAV and MP3 speech at 16 kHz (real speech: the sample recordings, joined to length), each step
of ``voiceclone.provenance.label_speech`` is timed alone, then the whole call: the explicit label
(the rhythm prepended), the implicit AIGC label (digest of the audio, metadata written), the C2PA
signature (c2pa-python, the KMS key in moto in this process: a real KMS Sign call adds its network
round trip, once per file), and ``verify`` of the result. Medians of ``--runs`` runs (the first,
which loads c2pa's library, is left out). Then the import times in fresh interpreters: the package
(c2pa bound, not loaded) and c2pa-python itself.

Prints figures; asserts nothing about time. ``PYTHONPATH=functions:local python benchmarks/labels.py``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from voiceclone.provenance import AudioFormat

ROOT = Path(__file__).resolve().parents[1]
RATE = 16000
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
    for path in sorted((ROOT / "samples" / "tencent_vrs").glob("*.wav")):
        pcm += pcm_of(path.read_bytes())[1]
        if len(pcm) >= seconds * RATE * 2:
            break
    return pcm[: seconds * RATE * 2]


def median_ms(action: Callable[[], Any], runs: int) -> float:
    action()  # warm: c2pa's library, pydantic's validators, the rhythm's samples
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


COLUMNS = ("explicit", "implicit", "sign", "all", "verify")


def label_timings(seconds: int, fmt: AudioFormat, runs: int, kms: Any) -> list[float]:
    """Median ms of each step on one speech: explicit, implicit, sign, label_speech in all, verify."""
    from voiceclone.domain.audio import wav_file
    from voiceclone.domain.audio_decode import encode
    from voiceclone.provenance import KmsSigner, LabelPolicy, SpeechContext, label_speech, rhythm, verify
    from voiceclone.provenance.aigc import label_for
    from voiceclone.provenance.credentials import sign
    from voiceclone.provenance.devca import development_credentials
    from voiceclone.provenance.implicit import payload, write_label

    context = SpeechContext(speech_id="sp-" + "0" * 32, voice_id="vo-1", vendor="volcengine", tenant_id="t-1")
    policy = LabelPolicy(content_producer="001191110102MAD55U9H0F10002")
    key_id = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    credentials = development_credentials(kms, key_id)
    signer = KmsSigner(kms, key_id, credentials.certificate_chain_pem)
    pcm = speech_pcm(seconds)
    audio = wav_file(RATE, pcm) if fmt == "wav" else encode(pcm, RATE, "mp3")
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
        median_ms(lambda: verify(signed, credentials.trust_anchor_pem), runs),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--seconds", type=int, nargs="+", default=[10, 60])
    args = parser.parse_args()

    import boto3
    from moto import mock_aws

    print(f"labelling one 16 kHz speech, median of {args.runs} runs (ms); KMS is moto, in process")
    print(f"{'speech':>10} " + " ".join(f"{c:>9}" for c in COLUMNS))
    with mock_aws():
        kms = boto3.client("kms", region_name="eu-central-1")
        for seconds in args.seconds:
            formats: tuple[AudioFormat, ...] = ("wav", "mp3")
            for fmt in formats:
                times = label_timings(seconds, fmt, args.runs, kms)
                print(f"{f'{seconds} s {fmt}':>10} " + " ".join(f"{t:>9.2f}" for t in times))
    print(f"\nimport in a fresh interpreter, median of {args.runs} (ms)")
    for name, (setup, statement) in IMPORTS.items():
        print(f"  {name}: {import_ms(setup, statement, args.runs):.1f}")


if __name__ == "__main__":
    main()
