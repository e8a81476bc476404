"""A comparison on the local stack: one speaker reads once, five vendors clone from the same takes.

The takes are the sample recordings re-encoded (FLAC at 44.1 kHz: neither the format nor the rate
any vendor takes), uploaded once. One vendor is made to fail in its sandbox and one to be slow (its
training held): the others reach READY and speak while the slow one still trains, the failed one's
entry carries the vendor's own code, and the comparison ends PARTLY_SUCCEEDED once the slow one is
let through. Each take is decoded once, whatever the number of vendors that check it.

Each ready voice is then measured (the facts step): the voices that speak have figures and each
probe's audio kept as a playable WAV; Qiniu's says it does not speak; the slow vendor's sandbox
fails every speech once its voice is trained, so its voice stays ready and its entry says why it
has no facts. Every probe of the set is spoken (there is no setting for fewer).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import pytest
from voiceclone.domain.audio import pcm_of, speech_levels
from voiceclone.domain.probes import probes_for
from voiceclone.domain.recording import inspect_recording
from voiceclone.logic.training import sentence_check
from voiceclone.vendors.registry import adapter_class, capabilities
from voiceclone_cli.client import VoicecloneClient
from voiceclone_cli.stand_in import consent_take
from voiceclone_local.stack import LocalStack

from tests.helpers import SPEAKER, wait_for

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "tencent_vrs"
LETTER = SAMPLES.parent / "authorization-letter.pdf"
VENDORS = ["tencent_vrs", "qiniu", "cosyvoice", "huawei", "tencent_gateway"]
FAILING, SLOW = "huawei", "tencent_gateway"
FAILURE = "声音训练失败：音频质量不合格"
SPEECH_DOWN = "语音合成服务暂不可用"
SPEAKING = ("tencent_vrs", "cosyvoice")


def to_flac(source: Path, target: Path, rate: int = 44100) -> None:
    """The WAV re-encoded as FLAC at another rate (PyAV: FFmpeg's encoder and resampler)."""
    with av.open(str(source)) as inp, av.open(str(target), "w", format="flac") as out:
        stream = out.add_stream("flac", rate=rate)
        resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
        for frame in inp.decode(audio=0):
            for converted in resampler.resample(frame):
                for packet in stream.encode(converted):
                    out.mux(packet)
        for converted in resampler.resample(None):
            for packet in stream.encode(converted):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


@pytest.fixture(scope="module")
def takes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("flac")
    for wav in sorted(SAMPLES.glob("*.wav")):
        to_flac(wav, directory / f"{wav.stem}.flac")
    return directory


@pytest.fixture
def sandboxes(stack: LocalStack) -> Iterator[dict[str, Any]]:
    """The chosen vendors' sandboxes, their configuration restored after the test."""
    saved = {v: stack.sandboxes[v].config.model_copy() for v in VENDORS}
    yield {v: stack.sandboxes[v] for v in VENDORS}
    for vendor, config in saved.items():
        stack.sandboxes[vendor].config = config


@pytest.fixture
def decoded(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How often CheckSentence's module decoded each upload (by its first bytes): the functions run here."""
    counts: Counter[str] = Counter()

    def counting(data: bytes, *args: Any, **kwargs: Any) -> Any:
        counts[data[:4096].hex()] += 1
        return inspect_recording(data, *args, **kwargs)

    monkeypatch.setattr(sentence_check, "inspect_recording", counting)
    return counts


def entry(comparison: dict[str, Any], vendor: str) -> dict[str, Any]:
    return next(v for v in comparison["vendors"] if v["vendor"] == vendor)


def test_one_session_clones_at_five_vendors_and_one_failure_or_slowness_holds_no_other(
    stack: LocalStack,
    client: VoicecloneClient,
    sandboxes: dict[str, Any],
    takes: Path,
    decoded: Counter[str],
    tmp_path: Path,
) -> None:
    # Given Huawei failing its training and the Tencent gateway slow (its training held below)
    sandboxes[FAILING].config.fail_training = FAILURE
    sandboxes[SLOW].config.training_seconds = 3.0
    # When a comparison across five vendors is created
    comparison = client.create_comparison(VENDORS, "cmp-e2e", "female", SPEAKER)
    cid = comparison["comparison_id"]
    assert cid.startswith("cmp-") and comparison["status"] == "AWAITING_AUDIO"
    # Then one consent statement names every vendor, and each take is asked for once
    statement = comparison["consent"]["statement"]
    for vendor in VENDORS:
        assert adapter_class(vendor).display_name("zh") in statement, vendor
    texts = [s["text"] for s in comparison["sentences"]]
    assert comparison["sentences"][0]["text_id"] == "consent" and len(set(texts)) == len(texts)
    assert len(texts) == 1 + max(capabilities(v).sentence_count for v in VENDORS)
    assert [d["name"] for d in comparison["documents"]] == list(capabilities("huawei").documents)
    # ...and each vendor's job is an ordinary job naming its comparison
    for vendor in VENDORS:
        job = client.get_job(entry(comparison, vendor)["job_id"])
        assert (job["vendor"], job["comparison_id"], job["status"]) == (vendor, cid, "AWAITING_AUDIO")
    assert cid in [c["comparison_id"] for c in client.list_comparisons()["items"]]

    with sandboxes[SLOW].hold_tasks():
        # When the speaker's takes (FLAC, 44.1 kHz), the consent statement and the letter are uploaded once
        for document in comparison["documents"]:
            client.upload(document["upload"], LETTER)
        for sentence in comparison["sentences"][1:]:
            client.upload(sentence["upload"], takes / f"{sentence['text_id']}.flac")
        (tmp_path / "consent.wav").write_bytes(consent_take(comparison))
        client.upload(comparison["sentences"][0]["upload"], tmp_path / "consent.wav")

        # Then the others are ready while the slow one still trains, and the failed one says why
        def others_done() -> dict[str, Any] | None:
            current = client.get_comparison(cid)
            ended = [
                v
                for v in current["vendors"]
                if v["vendor"] != SLOW and v["status"] in ("SUCCEEDED", "FAILED")
            ]
            return current if len(ended) == len(VENDORS) - 1 else None

        current = wait_for(others_done, timeout=180, what="every vendor but the slow one to end")
        assert entry(current, SLOW)["status"] == "TRAINING" and current["status"] == "TRAINING"
        failed = entry(current, FAILING)
        assert failed["status"] == "FAILED" and failed["voice_id"] is None
        assert failed["error"]["vendor"] == FAILING and failed["error"]["code"].startswith("MSS.")
        for vendor in ("tencent_vrs", "qiniu", "cosyvoice"):
            ready = entry(current, vendor)
            assert ready["status"] == "SUCCEEDED" and ready["voice_id"], ready
        # ...and a ready voice speaks while the slow vendor is still training
        for vendor in ("tencent_vrs", "cosyvoice"):
            speech = client.speak(entry(current, vendor)["voice_id"], "你好，这是一次比较。")
            assert speech["status"] == "SUCCEEDED" and speech["vendor"] == vendor

    # When the slow vendor's training is let through, its speech failing from then on
    sandboxes[SLOW].config.fail_speech = SPEECH_DOWN

    # Then the comparison ends: some ready, one failed
    def ended() -> dict[str, Any] | None:
        current = client.get_comparison(cid)
        return current if current["status"] not in ("AWAITING_AUDIO", "TRAINING") else None

    final = wait_for(ended, timeout=180, what="the comparison to end")
    assert final["status"] == "PARTLY_SUCCEEDED"
    assert entry(final, SLOW)["status"] == "SUCCEEDED"
    for vendor_entry in final["vendors"]:
        ready = vendor_entry["status"] == "SUCCEEDED"
        assert (vendor_entry["seconds_to_ready"] is not None) == ready, vendor_entry
    # Each vendor trained from its own share of the same takes
    assert len(entry(final, "cosyvoice")["takes"]) == capabilities("cosyvoice").sentence_count
    assert len(entry(final, "qiniu")["takes"]) == capabilities("qiniu").sentence_count
    # ...and each take was decoded once, however many vendors checked it (one rate: all take 16 kHz)
    assert {capabilities(v).sample_rate for v in VENDORS} == {16000}
    assert len(decoded) == len(final["sentences"]) and set(decoded.values()) == {1}, decoded
    assert_facts(stack, final)


def assert_facts(stack: LocalStack, final: dict[str, Any]) -> None:
    """Each ready voice's facts, as the comparison's view shows them once it ended."""
    s3 = stack.client("s3")
    probe_ids = [p.id for p in probes_for(final["language"])]
    # The voices that speak: figures for every probe, and each probe's audio a playable WAV in S3
    for vendor in SPEAKING:
        facts = entry(final, vendor)["facts"]
        assert facts is not None and facts["speaks"] and entry(final, vendor)["facts_error"] is None, vendor
        assert [p["probe_id"] for p in facts["probes"]] == probe_ids
        assert facts["probes_spoken"] == len(probe_ids) and facts["probes_failed"] == 0, facts
        assert facts["summary"]["first_audio_seconds"]["count"] == len(probe_ids)
        assert facts["summary"]["real_time_factor"]["median"] > 0
        for probe in facts["probes"]:
            assert probe["audio_key"].endswith(f"/{final['comparison_id']}/{vendor}/{probe['probe_id']}.wav")
            wav = s3.get_object(Bucket=stack.bucket_name, Key=probe["audio_key"])["Body"].read()
            rate, pcm = pcm_of(wav)  # a 16-bit mono WAV, or ValueError
            assert rate == facts["sample_rate"]
            assert speech_levels(pcm, rate).duration_seconds == probe["audio_seconds"] > 0
    # Qiniu's voices do not speak through voiceclone: its facts say so, with no figures and no audio
    qiniu = entry(final, "qiniu")["facts"]
    assert qiniu is not None and qiniu["speaks"] is False and qiniu["delivery"] == "none" and qiniu["note"]
    assert qiniu["probes"] == []
    # The failed vendor has no voice, so no facts, and no facts' error either
    assert entry(final, FAILING)["facts"] is None and entry(final, FAILING)["facts_error"] is None
    # The vendor whose speech failed keeps its ready voice and says why it has no facts
    slow = entry(final, SLOW)
    assert slow["status"] == "SUCCEEDED" and slow["voice_id"] and slow["facts"] is None
    assert slow["facts_error"]["error"] == "FactsNotMeasured" and slow["facts_error"]["vendor"] == SLOW
    assert f"{len(probe_ids)} of {len(probe_ids)} failed" in slow["facts_error"]["message"], slow
