"""cdk-nag AwsSolutions: every finding is fixed or acknowledged with a written reason."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from aws_cdk.assertions import Annotations, Match

NAG_FINDING = Match.string_like_regexp("AwsSolutions-.*")


def test_no_unacknowledged_errors(nagged: Any) -> None:
    errors = Annotations.from_stack(nagged).find_error("*", NAG_FINDING)
    assert not errors, "\n".join(f"{e.id}: {e.entry.data}" for e in errors)


def test_no_unacknowledged_warnings(nagged: Any) -> None:
    warnings = Annotations.from_stack(nagged).find_warning("*", NAG_FINDING)
    assert not warnings, "\n".join(f"{w.id}: {w.entry.data}" for w in warnings)


def test_report_shows_the_checks_ran_and_every_suppression_has_a_reason(
    nagged: Any, assembly_dir: Path
) -> None:
    # Given the report cdk-nag writes next to the template (one row per rule and resource)
    (report,) = assembly_dir.glob("AwsSolutions-*-NagReport.csv")
    rows = list(csv.DictReader(report.read_text().splitlines()))
    # Then the checks ran, found nothing left open, and every acknowledgement says why
    assert rows, "cdk-nag checked nothing: is the aspect applied?"
    assert {r["Compliance"] for r in rows} <= {"Compliant", "Suppressed"}
    suppressed = [r for r in rows if r["Compliance"] == "Suppressed"]
    assert all(len(r["Exception Reason"]) > 40 for r in suppressed), suppressed
