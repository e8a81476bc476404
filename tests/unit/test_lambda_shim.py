"""The local stack's Lambda shim loads a function once, with its first call's imports, under one lock."""

from __future__ import annotations

import sys

from voiceclone_local import lambda_shim


def test_a_function_is_loaded_with_what_its_first_call_imports() -> None:
    # When the shim loads a workflow step
    loaded = lambda_shim._load("voiceclone.handlers.entries.gate")
    # Then its handler is the entry the table makes, and its work is imported already: no invocation
    # imports it on a thread of its own beside others
    assert loaded.fn is sys.modules["voiceclone.handlers.entries"].gate
    assert {"voiceclone.logic.training.steps", "voiceclone.domain.steps"} <= set(sys.modules)
    # And it runs side by side with itself, as many Lambda environments would
    assert loaded.serial is None


def test_the_api_function_runs_one_event_at_a_time_as_its_resolver_keeps_the_event() -> None:
    # The api's entry holds no resolver: its routes, in voiceclone.rest, do
    loaded = lambda_shim._load("voiceclone.handlers.entries.api")
    assert not hasattr(sys.modules["voiceclone.handlers.entries"], "app")
    assert loaded.serial is not None
    assert lambda_shim._load("voiceclone.handlers.entries.api").serial is loaded.serial
