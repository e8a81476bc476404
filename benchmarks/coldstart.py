"""Cold start of each handler module as a ratio to bare ``import boto3``, measured side by side.

Each sample is a whole fresh interpreter (``python -c "import <module>"``) timed from outside,
so interpreter start-up and site packages count on both sides. Handler and baseline run
alternately, pair after pair, so load on the machine falls on both alike: only the ratio
means anything on a shared machine, never the absolute times.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = "boto3"
# What a handler may cost at most, in units of bare `import boto3` (issue 13).
TARGET_RATIO = 1.25


@dataclass(frozen=True)
class Ratio:
    """One module's cold start over bare boto3's, pair by pair: by wall time and by CPU time."""

    module: str
    wall: tuple[float, ...]
    cpu: tuple[float, ...]

    @property
    def median(self) -> float:
        """The figure the target applies to: the median wall-time ratio."""
        return statistics.median(self.wall)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)


def _env() -> dict[str, str]:
    """What a Lambda function sees at import: no bytecode writes, its settings present."""
    env = dict(os.environ)
    env.setdefault("AWS_DEFAULT_REGION", "eu-central-1")
    env.setdefault("VOICECLONE_TABLE_NAME", "bench")
    env.setdefault("VOICECLONE_BUCKET_NAME", "bench")
    env.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Voiceclone")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _import_seconds(module: str, env: dict[str, str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of a fresh interpreter that imports `module`."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", f"import {module}"], env=env, cwd=ROOT)
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
    wall, cpu = [], []
    for i in range(pairs):
        if i % 2:
            base = _import_seconds(BASELINE, env)
            mod = _import_seconds(module, env)
        else:
            mod = _import_seconds(module, env)
            base = _import_seconds(BASELINE, env)
        wall.append(mod[0] / base[0])
        cpu.append(mod[1] / base[1])
    return Ratio(module, tuple(wall), tuple(cpu))


def loads_pyav(module: str, env: dict[str, str]) -> bool:
    """Whether importing `module` loads PyAV, the audio decoder (none of the handlers should)."""
    code = f"import sys, {module}; print('av' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True)
    return out.stdout.strip() == "True"


def handler_modules() -> list[str]:
    sys.path.insert(0, str(ROOT))
    from infra.constants import FUNCTION_NAMES

    return [f"voiceclone.handlers.{name}" for name in FUNCTION_NAMES]


def run(pairs: int, modules: Sequence[str] | None = None) -> list[Ratio]:
    print(
        f"Cold start per handler module as a ratio to bare `import {BASELINE}` "
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
        print(
            f"  {name:<16} wall median {result.median:4.2f} "
            f"(range {min(result.wall):4.2f}-{max(result.wall):4.2f})"
            f"   cpu median {result.cpu_median:4.2f} "
            f"(range {min(result.cpu):4.2f}-{max(result.cpu):4.2f}){flag}"
        )
    print()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", type=int, default=9)
    parser.add_argument("modules", nargs="*", help="modules to measure (default: every handler)")
    args = parser.parse_args()
    run(args.pairs, args.modules or None)


if __name__ == "__main__":
    main()
