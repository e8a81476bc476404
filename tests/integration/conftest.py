"""The local stack, started once per test session, with the Tencent VRS sandbox it drives."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from voiceclone_cli.client import VoicecloneClient
from voiceclone_local.sandboxes.tencent_vrs import TencentVrsSandboxConfig
from voiceclone_local.stack import LocalStack

# Short waits so the polling fallback runs within seconds.
TEST_CONTEXT: dict[str, Any] = {
    "voiceclone:callbackTimeoutSeconds": 4,
    "voiceclone:pollInitialSeconds": 1,
    "voiceclone:pollMaxSeconds": 2,
    "voiceclone:trainingDeadlineSeconds": 60,
}


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    local = LocalStack(
        context=TEST_CONTEXT, sandbox_configs={"tencent_vrs": TencentVrsSandboxConfig(training_seconds=0.5)}
    )
    local.start()
    try:
        yield local
    finally:
        local.stop()


@pytest.fixture
def sandbox(stack: LocalStack) -> Iterator[Any]:
    """The stack's sandbox, its configuration restored after each test."""
    assert stack.sandbox is not None
    saved = stack.sandbox.config.model_copy()
    yield stack.sandbox
    stack.sandbox.config = saved


@pytest.fixture
def client(stack: LocalStack) -> VoicecloneClient:
    return VoicecloneClient(stack.api_url, api_key=stack.api_key)
