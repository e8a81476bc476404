"""Cold start of each function's entry as a ratio to bare ``import boto3``, measured side by side.

Each sample is a whole fresh interpreter (``python -c "<import the entry>"``) timed from outside,
so interpreter start-up and site packages count on both sides. Handler and baseline run
alternately, pair after pair, so load on the machine falls on both alike: only the ratio
means anything on a shared machine, never the absolute times.

A function's entry (voiceclone.handlers.entries) resolves its work on its first call, so the
import alone is not all a cold start costs. Each round therefore also times the import together
with what the first call loads (``Entry.load``), beside the same baseline: the second figure is
what a function without SnapStart pays in all before its first answer, as far as imports go;
under SnapStart (api, authorizer) that part is inside the snapshot.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = "boto3"
# What an entry's import may cost at most, in units of bare `import boto3`.
TARGET_RATIO = 1.25


@dataclass(frozen=True)
class Ratio:
    """One module's cold start over bare boto3's, pair by pair: by wall time and by CPU time."""

    module: str
    wall: tuple[float, ...]
    cpu: tuple[float, ...]
    # The import together with the first call's imports, over the same baseline, by wall time.
    first_call: tuple[float, ...] = ()

    @property
    def median(self) -> float:
        """The figure the target applies to: the median wall-time ratio."""
        return statistics.median(self.wall)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)

    @property
    def first_call_median(self) -> float:
        return statistics.median(self.first_call)


def _env() -> dict[str, str]:
    """What a Lambda function sees at import: no bytecode writes, its settings present."""
    env = dict(os.environ)
    env.setdefault("AWS_DEFAULT_REGION", "eu-central-1")
    env.setdefault("VOICECLONE_TABLE_NAME", "bench")
    env.setdefault("VOICECLONE_BUCKET_NAME", "bench")
    env.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Voiceclone")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


ENTRIES = "voiceclone.handlers.entries"


def _import_code(function: str) -> str:
    """What Lambda's init does: import the handler's module and read the handler (a module: import it)."""
    if function not in handler_modules():
        return f"import {function}"
    return f"import {ENTRIES} as e; e.{function}"


def _first_call_code(function: str) -> str:
    return f"{_import_code(function)}.load()"


def _import_seconds(module: str, env: dict[str, str], code: str | None = None) -> tuple[float, float]:
    """Wall and CPU time (user + system) of a fresh interpreter importing `module` (or running `code`)."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code or _import_code(module)], env=env, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, proc.args)
    return wall, usage.ru_utime + usage.ru_stime


def measure(module: str, pairs: int, env: dict[str, str] | None = None) -> Ratio:
    """`pairs` alternating runs of the module and of bare boto3 (which goes first alternates too)."""
    env = env or _env()
    _import_seconds(module, env)  # warm the page cache for both sides once
    _import_seconds(BASELINE, env)
    first_call = _first_call_code(module) if module in handler_modules() else None
    wall, cpu, full = [], [], []
    for i in range(pairs):
        if i % 2:
            base = _import_seconds(BASELINE, env)
            mod = _import_seconds(module, env)
        else:
            mod = _import_seconds(module, env)
            base = _import_seconds(BASELINE, env)
        wall.append(mod[0] / base[0])
        cpu.append(mod[1] / base[1])
        if first_call:
            full.append(_import_seconds(module, env, first_call)[0] / base[0])
    return Ratio(module, tuple(wall), tuple(cpu), tuple(full))


def loads_pyav(module: str, env: dict[str, str]) -> bool:
    """Whether importing `module` loads PyAV (no entry should; bound lazily is not loaded)."""
    code = (
        f"import sys; {_import_code(module)}; m = sys.modules.get('av'); print(type(m).__name__ == 'module')"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True)
    return out.stdout.strip() == "True"


@cache
def handler_modules() -> list[str]:
    """Every function of the table (voiceclone.handlers.table), by name."""
    sys.path.insert(0, str(ROOT))
    from infra.constants import FUNCTION_NAMES

    return list(FUNCTION_NAMES)


def run(pairs: int, modules: Sequence[str] | None = None) -> list[Ratio]:
    print(
        f"Cold start per function entry as a ratio to bare `import {BASELINE}` "
        f"(whole-process import, {pairs} alternating pairs; target <= {TARGET_RATIO}; "
        "wall time is the target's measure, CPU time the steadier one on a loaded machine)"
    )
    env = _env()
    results = []
    for module in modules or handler_modules():
        result = measure(module, pairs, env)
        results.append(result)
        flag = "" if result.median <= TARGET_RATIO else "  over target"
        flag += "  PyAV loaded!" if loads_pyav(module, env) else ""
        name = module.rsplit(".", 1)[-1]
        with_first_call = (
            f"   with the first call's imports {result.first_call_median:4.2f}" if result.first_call else ""
        )
        print(
            f"  {name:<18} wall median {result.median:4.2f} "
            f"(range {min(result.wall):4.2f}-{max(result.wall):4.2f})"
            f"   cpu median {result.cpu_median:4.2f} "
            f"(range {min(result.cpu):4.2f}-{max(result.cpu):4.2f}){with_first_call}{flag}"
        )
    print()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", type=int, default=9)
    parser.add_argument(
        "modules", nargs="*", help="functions (or modules) to measure (default: every function)"
    )
    args = parser.parse_args()
    run(args.pairs, args.modules or None)


if __name__ == "__main__":
    main()
