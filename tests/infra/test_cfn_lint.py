"""cfn-lint on the synthesized template: no errors, and no warnings but the listed ones."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

# cfn-lint's console script, run by this interpreter (cfn-lint 1.x has no `python -m cfnlint`).
CFN_LINT_MAIN = "import sys; from cfnlint.runner import main; sys.exit(main())"

# Warnings accepted, each with its reason (errors are never accepted).
IGNORED_RULES: dict[str, str] = {
    "W3005": "CDK makes each function DependsOn its role (and the role's policy) so it never runs before "
    "its permissions exist; cfn-lint calls it redundant where a GetAtt already orders them. Harmless.",
}


def test_cfn_lint_finds_nothing(template_json: dict[str, Any], tmp_path: Path) -> None:
    # Given the synthesized template in a file
    path = tmp_path / "Voiceclone.template.json"
    path.write_text(json.dumps(template_json))
    # When cfn-lint checks it
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            CFN_LINT_MAIN,
            "--format",
            "json",
            "--ignore-checks",
            *IGNORED_RULES,
            "--",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    # Then it ran (exit code bit 1 means it crashed) and found nothing
    assert result.returncode & 1 == 0, result.stderr
    findings = json.loads(result.stdout)
    problems = [f"{f['Rule']['Id']} {f['Level']}: {f['Message']} ({f['Location']['Path']})" for f in findings]
    assert not problems, "\n".join(problems)
