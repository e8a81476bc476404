"""Mutation testing of the core (`make mutation`): mutmut on a staged copy, a score per module, survivors.

mutmut (pinned in the dev extra) puts small bugs into the code one at a time and runs the tests that
reach the changed function; a mutant no test notices "survives". It mutates what runs inside
functions and methods only: a module-level constant, a class body or a decorated function (a
property, a pydantic validator) is left as written. The thresholds and rules the core keeps in
module constants are therefore also mutated here by hand (``CONSTANT_MUTANTS``), each run against
the same tests.

mutmut imports the mutated code from ``mutants/src`` (or ``mutants/``) under the working directory,
so the run happens in a staged tree, ``.mutation/``: ``src/voiceclone`` is a copy of
``functions/voiceclone``, ``tests/`` a copy of the unit tests, and its pyproject.toml carries the
configuration below. ``functions/`` is never on the path there, so no test can reach the unmutated
code. Mutants judged equivalent (no test can tell them from the original, because the behaviour
is the same) are listed in docs/mutation.md's table, with why; they count neither way.

``.venv/bin/python scripts/mutation.py [--keep] [--jobs N]``: --keep reuses the last run's
results for the functions that did not change; exits 1 when a module scores under MINIMUM or a
constant mutant survives.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

from mutmut.stats import status_by_exit_code

REPO = Path(__file__).resolve().parents[1]
STAGE = REPO / ".mutation"
EQUIVALENTS = REPO / "docs" / "mutation.md"
MINIMUM = 85.0
# mutmut's verdicts that mean a test noticed the mutant (a timeout: the mutant made a test hang).
DETECTED = ("killed", "timeout", "caught by type check")

# The modules mutated (paths under functions/), and the fast unit tests that judge them. mutmut
# records which of these tests reach each function and runs only those against its mutants.
MODULES: dict[str, list[str]] = {
    "voiceclone/domain/*.py": [
        "test_audio.py",
        "test_audio_formats.py",
        "test_models.py",
        "test_api_input.py",
        "test_speech_input.py",
        "test_events.py",
        "test_workflow_polling.py",
        "test_audio_thresholds.py",
        "test_audio_source.py",
        "test_views.py",
        "test_speech_text_audio.py",
        "test_vendor_base.py",
        "test_consent.py",
        "test_observability.py",
        "test_speech_stream_logic.py",
        "test_provenance_implicit.py",
        "test_consent_views.py",
        "test_consent_statement.py",
        "test_event_kinds.py",
        "test_audio_decode_reference.py",
    ],
    "voiceclone/vendors/base.py": [
        "test_vendor_pipeline.py",
        "test_vendor_errors.py",
        "test_speech_adapters.py",
        "test_async_speech_adapters.py",
        "test_stream_protocols.py",
        "test_huawei_adapter.py",
        "test_tencent_gateway_adapter.py",
        "test_vendor_base.py",
    ],
    "voiceclone/vendors/errors.py": ["test_vendor_errors.py", "test_vendor_pipeline.py"],
    "voiceclone/vendors/http.py": ["test_vendor_pipeline.py", "test_vendor_errors.py"],
    "voiceclone/vendors/signing/*.py": [
        "test_tc3_signing.py",
        "test_huawei_signing.py",
        "test_volc_v4_signing.py",
    ],
    "voiceclone/store/table.py": ["test_table_change.py"],
    "voiceclone/logic/notifications/webhooks.py": ["test_webhooks.py"],
    "voiceclone/logic/core/polling.py": ["test_workflow_polling.py"],
}
# Lines not mutated: log calls. Their wording is for people reading logs and changes freely; the
# fields operators query (vendor, correlation id) are pinned by tests/unit/test_observability.py, and
# the metrics (observability.count, metrics.add_metric) are mutated like any code.
LEFT_ALONE = [r"\blogger\.(debug|info|warning|error|exception)\("]
# Tests left out: those that start another Python from functions/ (they would judge the unmutated code).
DESELECT: list[str] = [
    "tests/unit/test_audio_formats.py::test_a_ready_wav_takes_the_fast_path_without_importing_the_decoder",
    "tests/unit/test_audio_formats.py::test_functions_that_do_not_touch_audio_do_not_import_the_decoder",
]


@dataclass(frozen=True)
class ConstantMutant:
    """A change mutmut cannot make (a module constant): ``old`` becomes ``new`` in ``path``."""

    name: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]


AUDIO_TESTS = ("test_audio.py", "test_audio_thresholds.py")
CONSTANT_MUTANTS: list[ConstantMutant] = [
    ConstantMutant(
        "audio.CLIPPED_FRACTION 0.001 -> 0.005",
        "voiceclone/domain/audio.py",
        "CLIPPED_FRACTION = 0.001",
        "CLIPPED_FRACTION = 0.005",
        AUDIO_TESTS,
    ),
    ConstantMutant(
        "audio.CLIPPED_FRACTION 0.001 -> 0.0005",
        "voiceclone/domain/audio.py",
        "CLIPPED_FRACTION = 0.001",
        "CLIPPED_FRACTION = 0.0005",
        AUDIO_TESTS,
    ),
    ConstantMutant(
        "audio.NOISY_SNR_DB 15 -> 25",
        "voiceclone/domain/audio.py",
        "NOISY_SNR_DB = 15.0",
        "NOISY_SNR_DB = 25.0",
        AUDIO_TESTS,
    ),
    ConstantMutant(
        "audio.NOISY_SNR_DB 15 -> 10",
        "voiceclone/domain/audio.py",
        "NOISY_SNR_DB = 15.0",
        "NOISY_SNR_DB = 10.0",
        AUDIO_TESTS,
    ),
    ConstantMutant(
        "audio.SILENT_PEAK_DBFS -40 -> -30",
        "voiceclone/domain/audio.py",
        "SILENT_PEAK_DBFS = -40.0",
        "SILENT_PEAK_DBFS = -30.0",
        AUDIO_TESTS,
    ),
    ConstantMutant(
        "audio.SILENT_PEAK_DBFS -40 -> -50",
        "voiceclone/domain/audio.py",
        "SILENT_PEAK_DBFS = -40.0",
        "SILENT_PEAK_DBFS = -50.0",
        AUDIO_TESTS,
    ),
    ConstantMutant(
        "audio.SILENT_RMS_DBFS -50 -> -45",
        "voiceclone/domain/audio.py",
        "SILENT_RMS_DBFS = -50.0",
        "SILENT_RMS_DBFS = -45.0",
        AUDIO_TESTS,
    ),
    ConstantMutant(
        "audio.SILENT_RMS_DBFS -50 -> -55",
        "voiceclone/domain/audio.py",
        "SILENT_RMS_DBFS = -50.0",
        "SILENT_RMS_DBFS = -55.0",
        AUDIO_TESTS,
    ),
    ConstantMutant(
        "errors.KINDS auth after throttled",
        "voiceclone/vendors/errors.py",
        'KINDS: tuple[Kind, ...] = ("auth", "throttled", "unavailable", "rejected")',
        'KINDS: tuple[Kind, ...] = ("throttled", "auth", "unavailable", "rejected")',
        ("test_vendor_errors.py",),
    ),
]


def stage(keep: bool) -> None:
    """The tree mutmut runs in: the package as src/, the unit tests, the samples they read, the config."""
    if STAGE.exists() and not keep:
        shutil.rmtree(STAGE)
    STAGE.mkdir(exist_ok=True)
    # mutmut keeps a copy it has made (mutants/) and only re-mutates what changed: refresh the
    # sources it copies from, and drop its copies of the tests so edits to them are seen.
    shutil.rmtree(STAGE / "src", ignore_errors=True)
    shutil.copytree(REPO / "functions" / "voiceclone", STAGE / "src" / "voiceclone", ignore=_pycache)
    shutil.rmtree(STAGE / "tests", ignore_errors=True)
    shutil.rmtree(STAGE / "mutants" / "tests", ignore_errors=True)
    (STAGE / "tests").mkdir()
    for name in ("__init__.py", "helpers.py"):
        shutil.copy2(REPO / "tests" / name, STAGE / "tests" / name)
    # Only the chosen test files (and the unit tests' helpers): mutmut is told to run tests/unit, so
    # adding a test file here keeps the verdicts of a kept run (a changed selection resets them all).
    shutil.copytree(REPO / "tests" / "unit", STAGE / "tests" / "unit", ignore=_unchosen)
    for tree in ("samples", "docs"):  # read by tests through their own path
        link = STAGE / "mutants" / tree
        if not link.exists():
            link.parent.mkdir(exist_ok=True)
            link.symlink_to(REPO / tree)
    (STAGE / "pyproject.toml").write_text(_config())


def _pycache(directory: str, names: list[str]) -> list[str]:
    return [n for n in names if n == "__pycache__" or n.endswith(".pyc")]


def _unchosen(directory: str, names: list[str]) -> list[str]:
    chosen = {name for names in MODULES.values() for name in names}
    tests = [n for n in names if n.startswith("test_") and n.endswith(".py") and n not in chosen]
    return _pycache(directory, names) + tests


def _config() -> str:
    """The staged pyproject.toml: mutmut's settings and the repository's pytest settings."""
    only = [f"src/{pattern}" for pattern in MODULES]
    selection = ["tests/unit"] + [arg for test in DESELECT for arg in ("--deselect", test)]
    return textwrap.dedent(
        f"""\
        [tool.mutmut]
        source_paths = ["src"]
        only_mutate = {json.dumps(only)}
        pytest_add_cli_args_test_selection = {json.dumps(selection)}
        pytest_add_cli_args = ["-p", "no:cacheprovider", "-p", "no:xdist", "-p", "no:hypothesispytest"]
        do_not_mutate_patterns = {json.dumps(LEFT_ALONE)}
        use_git_change_detection = false
        on_dependency_change = "ignore"

        [tool.pytest.ini_options]
        addopts = "-ra --strict-markers"
        markers = ["e2e: against a deployed stack"]
        filterwarnings = ["ignore:No application metrics to publish:UserWarning"]
        """
    )


def environment() -> dict[str, str]:
    """The local stack and the CLI importable, the unmutated functions/ not."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(str(REPO / p) for p in ("local", "cli"))
    env.pop("PYTEST_ADDOPTS", None)
    return env


def run_mutmut(jobs: int, names: list[str]) -> None:
    """All mutants, or only `names` (mutmut keeps the verdicts of the others)."""
    mutmut = Path(sys.executable).with_name("mutmut")
    command = [str(mutmut), "run", "--max-children", str(jobs), *names]
    shown = command if not names else [*command[:5], f"<{len(names)} mutants>"]
    print("$", " ".join(shown), f"(in {STAGE.relative_to(REPO)})", flush=True)
    subprocess.run(command, cwd=STAGE, env=environment(), check=True)


def results() -> dict[str, dict[str, str]]:
    """{module path under functions/: {mutant: status}} from the meta files mutmut leaves."""
    found: dict[str, dict[str, str]] = {}
    root = STAGE / "mutants" / "src"
    for meta in sorted(root.rglob("*.py.meta")):
        module = str(meta.relative_to(root))[: -len(".meta")]
        data = json.loads(meta.read_text())
        found[module] = {key: status_by_exit_code[code] for key, code in data["exit_code_by_key"].items()}
    return found


def equivalents() -> dict[str, str]:
    """{mutant: why} from the table in docs/mutation.md (rows "| `name` | why |")."""
    rows = re.findall(r"^\| `([^`]+__mutmut_\d+)` \| (.+?) \|$", EQUIVALENTS.read_text(), re.MULTILINE)
    return dict(rows)


def run_constant_mutants() -> list[tuple[ConstantMutant, bool]]:
    """Each hand-made mutant on a fresh copy of the package: killed when its tests fail."""
    verdicts = []
    work = STAGE / "constants"
    for mutant in CONSTANT_MUTANTS:
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(STAGE / "src", work / "src", ignore=_pycache)
        target = work / "src" / mutant.path
        source = target.read_text()
        if source.count(mutant.old) != 1:
            raise SystemExit(f"{mutant.name}: {mutant.old!r} is not once in {mutant.path}: update the mutant")
        target.write_text(source.replace(mutant.old, mutant.new))
        env = environment()
        env["PYTHONPATH"] = os.pathsep.join([str(work / "src"), env["PYTHONPATH"]])
        command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"]
        command += [f"tests/unit/{name}" for name in mutant.tests]
        run = subprocess.run(command, cwd=STAGE / "mutants", env=env, capture_output=True, text=True)
        verdicts.append((mutant, run.returncode != 0))
    shutil.rmtree(work, ignore_errors=True)
    return verdicts


def report(found: dict[str, dict[str, str]], constants: list[tuple[ConstantMutant, bool]]) -> bool:
    """Prints the score per module and the survivors; True when every module reaches MINIMUM."""
    known = equivalents()
    ok = True
    survivors: list[str] = []
    print(f"\n{'module':<48} {'mutants':>7} {'killed':>7} {'equiv':>6} {'score':>7}")
    totals = [0, 0, 0]
    for module, statuses in found.items():
        killed = sum(1 for s in statuses.values() if s in DETECTED)
        equivalent = sum(1 for k, s in statuses.items() if k in known and s not in DETECTED)
        counted = len(statuses) - equivalent
        score = 100.0 * killed / counted if counted else 100.0
        ok &= score >= MINIMUM
        totals = [totals[0] + len(statuses), totals[1] + killed, totals[2] + equivalent]
        print(f"{module:<48} {len(statuses):>7} {killed:>7} {equivalent:>6} {score:>6.1f}%")
        survivors += [
            f"  {status:<10} {key}"
            for key, status in statuses.items()
            if status not in DETECTED and key not in known
        ]
    counted = totals[0] - totals[2]
    print(f"{'all':<48} {totals[0]:>7} {totals[1]:>7} {totals[2]:>6} {100.0 * totals[1] / counted:>6.1f}%")
    stale = sorted(set(known) - {k for statuses in found.values() for k in statuses})
    if stale:
        print("\nlisted as equivalent in docs/mutation.md but no longer generated (update the table):")
        print("\n".join(f"  {name}" for name in stale))
    print(f"\nsurvivors ({len(survivors)}; `cd .mutation && ../.venv/bin/mutmut show NAME` shows one):")
    print("\n".join(survivors) or "  none")
    print("\nconstant mutants (module-level values mutmut does not change):")
    for mutant, killed in constants:
        print(f"  {'killed' if killed else 'SURVIVED':<10} {mutant.name}")
        ok &= killed
    print(f"\nminimum per module: {MINIMUM:.0f}%: {'met' if ok else 'NOT met'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--keep", action="store_true", help="reuse the last run's results where code is unchanged"
    )
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="mutants tested at once")
    args = parser.parse_args()
    previous = results() if args.keep and (STAGE / "mutants").exists() else {}
    stage(args.keep)
    # With --keep, what was killed stays killed (the tests only grew): the rest is run again,
    # and mutants of functions that changed are new to mutmut, which runs them anyway.
    again = [
        key for statuses in previous.values() for key, status in statuses.items() if status not in DETECTED
    ]
    run_mutmut(args.jobs, again)
    return 0 if report(results(), run_constant_mutants()) else 1


if __name__ == "__main__":
    sys.exit(main())
