"""cfn-lint on the synthesized template: no errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

CFN_LINT = str(Path(sys.executable).parent / "cfn-lint")

# Warnings that are accepted, each with its reason (errors are never accepted).
IGNORED_RULES = {
    # "dependency already enforced by a GetAtt": CDK adds DependsOn on roles and their policies so that
    # a function is never created before its permissions; redundant for CloudFormation, harmless.
    "W3005",
}


def test_cfn_lint_finds_no_errors(template_json: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "Voiceclone.template.json"
    path.write_text(json.dumps(template_json))
    result = subprocess.run(
        [CFN_LINT, "--format", "json", "--ignore-checks", *IGNORED_RULES, "--", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    # cfn-lint's exit code is a bit field: 2 errors, 4 warnings, 8 informational; 1 means it crashed.
    assert result.returncode & 1 == 0, result.stderr
    findings = json.loads(result.stdout)
    problems = [f"{f['Rule']['Id']} {f['Level']}: {f['Message']}" for f in findings]
    assert not problems, "\n".join(problems)
