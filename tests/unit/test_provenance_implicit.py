"""The GB 45438 implicit label: the AIGC value, written into WAV and MP3, read back by independent readers."""

from __future__ import annotations

import io
import json

import mutagen.id3
import pytest
from pydantic import ValidationError
from voiceclone.domain.audio import wav_file
from voiceclone.domain.audio_decode import encode
from voiceclone.provenance import LabelError, LabelPolicy, SpeechContext, label_speech, parse_aigc
from voiceclone.provenance.aigc import AigcLabel, aigc_value, audio_digest, label_for
from voiceclone.provenance.implicit import payload, read_label, write_label
from voiceclone.settings import Settings

from tests.helpers import riff_chunks, riff_file, sample_speech

PROVIDER_CODE = "001191110102MAD55U9H0F10002"
CONTEXT = SpeechContext(
    speech_id="sp-" + "0f" * 16, voice_id="vo-1", vendor="volcengine", tenant_id="tenant-a"
)
POLICY = LabelPolicy(content_producer=PROVIDER_CODE, explicit=False, sign=False)
# GB 45438 Annex E: a value's characters (printable ASCII but space, '"' and '\').
STANDARD_SET = {chr(c) for c in [0x21, *range(0x23, 0x5C), *range(0x5D, 0x7F)]}
ANNEX_E_KEYS = [
    "Label", "ContentProducer", "ProduceID", "ReservedCode1",
    "ContentPropagator", "PropagateID", "ReservedCode2",
]  # fmt: skip


def speech_wav(rate: int = 16000) -> bytes:
    return wav_file(rate, sample_speech(rate)[: rate * 2])


def speech_mp3(rate: int = 16000) -> bytes:
    return encode(sample_speech(rate)[: rate * 2], rate, "mp3")


# ----- the value --------------------------------------------------------------------------------


def test_the_value_is_the_wrapped_annex_e_object_in_the_standards_characters() -> None:
    # Given the label of a speech
    label = label_for(CONTEXT, POLICY, b"audio")
    # When it is serialised
    value = aigc_value(label)
    # Then it is {"AIGC":{...}} with the seven keys in Annex E's order, every value a string
    wrapped = json.loads(value)
    assert list(wrapped) == ["AIGC"]
    assert list(wrapped["AIGC"]) == ANNEX_E_KEYS
    assert all(isinstance(v, str) for v in wrapped["AIGC"].values())
    assert wrapped["AIGC"]["Label"] == "1"
    assert wrapped["AIGC"]["ContentProducer"] == PROVIDER_CODE
    assert wrapped["AIGC"]["ProduceID"] == CONTEXT.speech_id
    assert wrapped["AIGC"]["ReservedCode1"] == audio_digest(b"audio")
    # And every value, and the whole string but JSON's own quotes, is in the standard's set
    for v in wrapped["AIGC"].values():
        assert set(v) <= STANDARD_SET, v
    assert set(value.replace('"', "")) <= STANDARD_SET


@pytest.mark.parametrize("form", ["wrapped", "bare"])
def test_both_stored_forms_are_read(form: str) -> None:
    # Given a label stored wrapped (Annex E) or bare (some public readers)
    value = aigc_value(label_for(CONTEXT, POLICY, b"x"))
    stored = value if form == "wrapped" else json.dumps(json.loads(value)["AIGC"])
    # When parsed, then the elements come back
    label = parse_aigc(stored)
    assert label.content_producer == PROVIDER_CODE and label.produce_id == CONTEXT.speech_id


@pytest.mark.parametrize(
    "producer",
    ["voice clone", "声音克隆公司", 'say"no', "back\\slash"],
    ids=["space", "cjk", "quote", "backslash"],
)
def test_a_producer_outside_the_standards_set_is_refused(producer: str) -> None:
    with pytest.raises(ValidationError, match="GB 45438"):
        LabelPolicy(content_producer=producer)


def test_the_producer_comes_from_the_settings_and_none_is_refused() -> None:
    # Given settings without a content producer, then no policy can be made
    base = {"VOICECLONE_TABLE_NAME": "t", "VOICECLONE_BUCKET_NAME": "b"}
    with pytest.raises(ValidationError):
        LabelPolicy.from_settings(Settings.model_validate(base))
    # Given the operator's provider code configured, then it is the producer
    configured = Settings.model_validate({**base, "VOICECLONE_AIGC_CONTENT_PRODUCER": PROVIDER_CODE})
    policy = LabelPolicy.from_settings(configured)
    assert policy.content_producer == PROVIDER_CODE and policy.producer_is_code
    assert (policy.explicit, policy.pcm, policy.sign) == (True, "refuse", True)


# ----- WAV --------------------------------------------------------------------------------------


def test_wav_gets_one_aigc_chunk_that_an_independent_riff_walk_finds() -> None:
    # Given a vendor's WAV with a LIST chunk of its own
    original = speech_wav()
    chunks = riff_chunks(original)
    info = (b"LIST", b"INFOISFT\x06\x00\x00\x00vendor")
    with_list = riff_file([chunks[0], info, *chunks[1:]])
    # When labelled twice (a relabel replaces, never appends)
    once = label_speech(with_list, "wav", 16000, CONTEXT, None, POLICY).audio
    twice = label_speech(
        once, "wav", 16000, CONTEXT, None, POLICY.model_copy(update={"content_producer": "Other"})
    )
    # Then the RIFF walk sees exactly one AIGC chunk, after fmt, with the latest value, and all else kept
    found = riff_chunks(twice.audio)
    ids = [cid for cid, _ in found]
    assert ids == [b"fmt ", b"AIGC", b"LIST", b"data"]
    aigc = dict(found)[b"AIGC"].decode("ascii")
    assert json.loads(aigc)["AIGC"]["ContentProducer"] == "Other"
    assert dict(found)[b"LIST"] == info[1] and dict(found)[b"data"] == dict(chunks)[b"data"]
    # And the package reads it back, bound to the samples
    read = read_label(twice.audio, "wav")
    assert read.copies == 1 and read.label == twice.label
    assert read.label.reserved_code1 == audio_digest(dict(found)[b"data"])


def test_a_lower_case_aigc_chunk_is_an_old_label_and_replaced() -> None:
    stale = b'{"Label":"3","ContentProducer":"x","ProduceID":"y"}'
    old = riff_file([*riff_chunks(speech_wav()), (b"aigc", stale)])
    labelled = write_label(old, "wav", label_for(CONTEXT, POLICY, b""))
    assert [cid for cid, _ in riff_chunks(labelled)] == [b"fmt ", b"data", b"AIGC"]
    assert read_label(labelled, "wav").copies == 1


def test_a_wav_label_written_bare_by_someone_else_is_read() -> None:
    label = label_for(CONTEXT, POLICY, b"")
    bare = json.dumps(json.loads(aigc_value(label))["AIGC"], separators=(",", ":")).encode()
    found = read_label(riff_file([*riff_chunks(speech_wav()), (b"AIGC", bare)]), "wav")
    assert found.label == label


# ----- MP3 --------------------------------------------------------------------------------------


def test_mp3_gets_one_txxx_aigc_frame_that_mutagen_reads_and_keeps_the_other_frames() -> None:
    # Given a vendor's MP3 with a title and an artist in an ID3v2.4 tag
    tagged = io.BytesIO(speech_mp3())
    tags = mutagen.id3.ID3()
    tags.add(mutagen.id3.TIT2(encoding=3, text="今天天气很好"))
    tags.add(mutagen.id3.TPE1(encoding=3, text="vendor voice"))
    tags.save(tagged, v2_version=4)
    # When labelled twice
    once = label_speech(tagged.getvalue(), "mp3", 16000, CONTEXT, None, POLICY).audio
    twice = label_speech(
        once, "mp3", 16000, CONTEXT, None, POLICY.model_copy(update={"content_producer": "Other"})
    )
    # Then mutagen sees one TXXX:AIGC with the latest value, and the title and artist as they were
    read = mutagen.id3.ID3(io.BytesIO(twice.audio))
    assert read.version == (2, 4, 0)
    (aigc,) = read.getall("TXXX:AIGC")
    assert json.loads(aigc.text[0])["AIGC"]["ContentProducer"] == "Other"
    assert str(read["TIT2"]) == "今天天气很好" and str(read["TPE1"]) == "vendor voice"
    # And the package reads it back, bound to the frames
    found = read_label(twice.audio, "mp3")
    assert found.copies == 1 and found.label == twice.label
    assert twice.label.reserved_code1 == audio_digest(payload(twice.audio, "mp3"))


def test_an_mp3_without_a_tag_gets_an_id3v24_tag() -> None:
    bare = speech_mp3()
    frames_only = bare[mutagen.id3.ID3(io.BytesIO(bare)).size :] if bare[:3] == b"ID3" else bare
    labelled = write_label(frames_only, "mp3", label_for(CONTEXT, POLICY, b""))
    read = mutagen.id3.ID3(io.BytesIO(labelled))
    assert read.version == (2, 4, 0) and len(read.getall("TXXX:AIGC")) == 1
    assert labelled.endswith(frames_only)


def test_an_id3v23_tag_stays_v23_with_its_frames_and_one_label() -> None:
    # Given an MP3 whose tag is ID3v2.3 (mutagen writes it) with an old AIGC label among other frames
    tagged = io.BytesIO(speech_mp3())
    tags = mutagen.id3.ID3()
    tags.add(mutagen.id3.TIT2(encoding=1, text="title"))
    tags.add(
        mutagen.id3.TXXX(encoding=1, desc="AIGC", text='{"Label":"2","ContentProducer":"x","ProduceID":"y"}')
    )
    tags.save(tagged, v2_version=3)
    # When labelled
    labelled = write_label(tagged.getvalue(), "mp3", label_for(CONTEXT, POLICY, b""))
    # Then the tag is still v2.3, the title kept, and the one AIGC frame is ours
    read = mutagen.id3.ID3(io.BytesIO(labelled))
    assert read.version == (2, 3, 0)
    assert str(read["TIT2"]) == "title"
    (aigc,) = read.getall("TXXX:AIGC")
    assert json.loads(aigc.text[0])["AIGC"]["ProduceID"] == CONTEXT.speech_id


def test_a_utf16_bare_label_written_by_mutagen_is_read() -> None:
    tagged = io.BytesIO(speech_mp3())
    tags = mutagen.id3.ID3()
    tags.add(
        mutagen.id3.TXXX(encoding=1, desc="AIGC", text='{"Label":"2","ContentProducer":"P","ProduceID":"I"}')
    )
    tags.save(tagged, v2_version=4)
    found = read_label(tagged.getvalue(), "mp3")
    assert found.label == AigcLabel(Label="2", ContentProducer="P", ProduceID="I")


# ----- PCM --------------------------------------------------------------------------------------


def test_pcm_is_refused_by_default_and_labelled_beside_under_the_header_policy() -> None:
    pcm = sample_speech(16000)[:32000]
    # Given the default policy, then raw PCM is refused: it cannot hold the label
    with pytest.raises(LabelError) as refused:
        label_speech(pcm, "pcm", 16000, CONTEXT, None, POLICY)
    assert refused.value.code == "PcmNotLabelled"
    # Given the header policy, then the PCM comes back as it was (no rhythm asked) with the label beside it
    labelled = label_speech(pcm, "pcm", 16000, CONTEXT, None, POLICY.model_copy(update={"pcm": "header"}))
    assert labelled.audio == pcm and not labelled.label_in_file and not labelled.signed
    assert parse_aigc(labelled.aigc_value).reserved_code1 == audio_digest(pcm)


def test_audio_that_is_not_the_named_format_is_refused() -> None:
    with pytest.raises(LabelError) as wrong:
        label_speech(speech_wav(), "mp3", 16000, CONTEXT, None, POLICY)
    assert wrong.value.code == "UnsupportedAudio"
