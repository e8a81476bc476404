"""A local stack in a process of its own (`voiceclone local up`) and Debian's Chromium with a fake microphone.

The stack runs in a child process: moto keeps one in-memory state per process, and the integration
suite's session stack may live in the same pytest worker. The browser is Debian's `chromium`
(installed by `make setup`), never a browser Playwright downloads.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import wav_bytes

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / ".artifacts" / "studio"
STACK_START_SECONDS = 300
# `voiceclone local up`, with Ctrl-C (SIGINT) as its stop even where the runner's shell ignores SIGINT.
CHILD = (
    "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "from voiceclone_cli.main import main; sys.exit(main(['local', 'up']))"
)


@dataclass
class StudioStack:
    api_url: str
    api_key: str
    studio_url: str


def _chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        message = "Debian's chromium is not installed: run `make setup` (it installs it with apt-get as root)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@contextmanager
def stack_child(code: str) -> Iterator[tuple[StudioStack, str]]:
    """A local stack started by ``code`` in a child process, until Ctrl-C; what it printed when up."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOICECLONE_")}
    env.update(PYTHONUNBUFFERED="1", PYTHONPATH=os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]))
    child = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert child.stdout is not None
    lines: list[str] = []
    reader: threading.Thread | None = None
    deadline = time.monotonic() + STACK_START_SECONDS
    try:
        for line in child.stdout:
            lines.append(line.rstrip())
            if "Ctrl-C stops it." in line or time.monotonic() > deadline:
                break
        output = "\n".join(lines)
        api = re.search(r"export VOICECLONE_API_URL=(\S+)", output)
        key = re.search(r"export VOICECLONE_API_KEY=(\S+)", output)
        studio = re.search(r"studio \(record a voice in the browser\): (\S+)", output)
        assert api and key and studio, output[-3000:]
        # Keep reading what the stack prints, so a full pipe never blocks it.
        reader = threading.Thread(target=lines.extend, args=(child.stdout,), daemon=True)
        reader.start()
        yield StudioStack(api.group(1), key.group(1), studio.group(1)), output
    finally:
        child.send_signal(signal.SIGINT)  # local up stops the stack on Ctrl-C
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        if reader is not None:
            reader.join(timeout=5)  # the child's end closes the pipe
        child.stdout.close()


@pytest.fixture(scope="module")
def studio_stack() -> Iterator[StudioStack]:
    with stack_child(CHILD) as (stack, _):
        yield stack


@pytest.fixture(scope="module")
def microphone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the fake microphone hears, looped: a steady tone at -10 dBFS (every take passes the checks
    whatever part of the loop it starts in; a take too short is made by stopping early)."""
    path = tmp_path_factory.mktemp("mic") / "voice.wav"
    path.write_bytes(wav_bytes(seconds=3.0, rate=48000, amplitude=0.32, freq=180.0))
    return path


@pytest.fixture(scope="module")
def browser(microphone: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = _chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable,
            args=[
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={microphone}",
                "--autoplay-policy=no-user-gesture-required",
            ],
        )
        try:
            yield launched
        finally:
            launched.close()
