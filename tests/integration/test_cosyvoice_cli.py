"""CosyVoice through the CLI on the local stack: `voiceclone clone` from recordings in a phone's
format, `voiceclone speak` with the voice, and the vendor's failures as the CLI's user reads them.

The recordings are the sample reader's sentences as a phone keeps them (AAC in M4A, 44.1 kHz,
stereo): the service converts them, joins CosyVoice's sentences inside its window and hands the
vendor a presigned URL; the sandbox downloads and reviews that recording as DashScope would.
"""

from __future__ import annotations

import contextlib
import io
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import pytest
from voiceclone.domain.audio import pcm_of
from voiceclone.domain.audio_decode import encode
from voiceclone_cli.main import main as cli_main
from voiceclone_local.stack import LocalStack

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "tencent_vrs"
SENTENCE = "你好，欢迎使用语音克隆服务。"
# The speaker, and eSpeak NG reading the consent statement in their place (its one-time phrase is
# the job's: it cannot be recorded ahead).
CONSENT = ("--speaker", "Phone Reader", "--stand-in-consent")


@pytest.fixture(scope="module")
def phone_recordings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample sentences as M4A (AAC, 44.1 kHz, stereo), as a phone's voice memo keeps them."""
    folder = tmp_path_factory.mktemp("m4a")
    for wav in sorted(SAMPLES.glob("*.wav")):
        rate, pcm = pcm_of(wav.read_bytes())
        (folder / f"{wav.stem}.m4a").write_bytes(encode(pcm, rate, "m4a", out_rate=44100, channels=2))
    return folder


@pytest.fixture(scope="module")
def api_key(stack: LocalStack) -> str:
    return stack.issue_api_key(f"cosy-cli-{uuid.uuid4().hex[:8]}")


def run(stack: LocalStack, api_key: str, *args: str) -> tuple[int, str, str]:
    """The CLI as a user runs it against the local stack: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("VOICECLONE_API_URL", stack.api_url)
        env.setenv("VOICECLONE_API_KEY", api_key)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli_main(list(args))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def cloned(stack: LocalStack, api_key: str, phone_recordings: Path) -> tuple[int, str, str]:
    return run(stack, api_key, "clone", "--vendor", "cosyvoice", "--name", "phone", *CONSENT, "--timeout",
               "120", str(phone_recordings))  # fmt: skip


@pytest.fixture
def sandbox(stack: LocalStack) -> Iterator[Any]:
    """The CosyVoice sandbox, its knobs put back after the test."""
    chosen = stack.sandboxes["cosyvoice"]
    saved = chosen.config.model_copy()
    yield chosen
    chosen.config = saved


def voice_of(cloned: tuple[int, str, str]) -> str:
    found = re.search(r"voice ready: (v-\S+)", cloned[1])
    assert found, cloned
    return found.group(1)


def test_clone_from_phone_recordings_gives_a_reviewed_voice(
    stack: LocalStack, cloned: tuple[int, str, str]
) -> None:
    # Given M4A recordings / When the CLI clones at CosyVoice / Then the voice is ready
    code, out, err = cloned
    assert code == 0, out + err
    voice = voice_of(cloned)
    # ...and what CosyVoice reviewed is the one joined recording, at its own URL, passed
    kept = [v for v in stack.sandboxes["cosyvoice"].voices.values() if v.status() == "OK"]
    assert kept and all("/training/" in v.url for v in kept)
    assert voice.startswith("v-")


def test_speak_writes_the_voices_mp3(
    stack: LocalStack, api_key: str, cloned: tuple[int, str, str], tmp_path: Path
) -> None:
    # When the CLI speaks a sentence with the voice into an MP3 file
    target = tmp_path / "hello.mp3"
    code, out, err = run(stack, api_key, "speak", voice_of(cloned), SENTENCE, "-o", str(target))
    # Then it says what it made, and the file is MP3 audio of the length it says
    assert code == 0, out + err
    said = re.search(r"\(([0-9.]+) s, mp3, ([0-9]+) Hz, [0-9]+ cosyvoice call", out)
    assert said, out
    with av.open(str(target)) as container:
        (stream,) = container.streams.audio
        assert container.format.name == "mp3" and stream.rate == int(said.group(2))
        decoded = sum(frame.samples for frame in container.decode(stream)) / stream.rate
    assert decoded == pytest.approx(float(said.group(1)), abs=0.1) and decoded > 0.5


def test_a_failed_synthesis_task_is_an_error_with_cosyvoices_code(
    stack: LocalStack, api_key: str, cloned: tuple[int, str, str], sandbox: Any, tmp_path: Path
) -> None:
    # Given CosyVoice answering the synthesis task with task-failed before any audio
    sandbox.config.stream_fail_after_chunks = 0
    target = tmp_path / "failed.wav"
    # When the CLI speaks
    code, out, err = run(stack, api_key, "speak", voice_of(cloned), SENTENCE, "-o", str(target))
    # Then it fails, naming the vendor and the code of its task-failed event, and writes no file
    assert code == 1, out + err
    assert "InternalError" in err and "(cosyvoice)" in err, err
    assert not target.exists()


def test_the_voice_quota_fails_the_clone_and_says_so(
    stack: LocalStack, api_key: str, phone_recordings: Path, sandbox: Any, cloned: tuple[int, str, str]
) -> None:
    # Given an account whose CosyVoice voices are at its quota
    sandbox.config.voice_quota = len(sandbox.voices)
    # When the CLI clones again
    code, out, err = run(stack, api_key, "clone", "--vendor", "cosyvoice", "--name", "over", *CONSENT,
                         "--timeout", "120", str(phone_recordings))  # fmt: skip
    # Then the job fails with the vendor's refusal, which names the quota and what to do
    assert code != 0, out + err
    text = (out + err).lower()
    assert "failed" in text and "quota" in text and "delete" in text, out + err
