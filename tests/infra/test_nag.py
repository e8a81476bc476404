"""cdk-nag AwsSolutions: every finding is fixed or acknowledged with a written reason."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Annotations, Match


def test_no_unacknowledged_errors(nagged: Any) -> None:
    errors = Annotations.from_stack(nagged).find_error("*", Match.string_like_regexp("AwsSolutions-.*"))
    assert not errors, "\n".join(f"{e.id}: {e.entry.data}" for e in errors)


def test_no_unacknowledged_warnings(nagged: Any) -> None:
    warnings = Annotations.from_stack(nagged).find_warning("*", Match.string_like_regexp("AwsSolutions-.*"))
    assert not warnings, "\n".join(f"{w.id}: {w.entry.data}" for w in warnings)
