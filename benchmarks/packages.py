"""Each Lambda function's package size, unzipped and zipped, and the one shared package it replaced.

Every distinct set of dependency groups (voiceclone.handlers.table, the rows' ``extras``) is
bundled as the CDK stack bundles it, with infra.functions' own steps: pip installs the base
dependencies and the groups as wheels for Lambda's platform, then the service's code is copied
beside them. "Unzipped" is the size of the files Lambda unpacks (its 250 MB limit counts that);
"zipped" is the asset's zip, deflated at zlib's default level as the CDK CLI's asset publisher
zips a directory. The shared package (every dependency, as before the groups) is bundled the
same way for comparison.

pip's output is kept per requirement set under .voiceclone/packages/ (or $VOICECLONE_CACHE_DIR):
the first run downloads the wheels (about a minute), later ones reuse them. The service's code
is copied fresh each run. Run with `make benchmark` or `python benchmarks/packages.py`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import NamedTuple, get_args

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "functions")]
from voiceclone.handlers.table import FUNCTIONS, Extra  # noqa: E402 - after the path fix above

from infra.functions import (  # noqa: E402
    PIP_PLATFORMS,
    RUNTIME,
    copy_service,
    extras_of,
    package_name,
    pip_install,
    runtime_requirements,
)

MB = 1_000_000
# Every group at once: the one package all functions shared before the groups.
EVERYTHING: tuple[str, ...] = tuple(sorted(get_args(Extra)))


class Size(NamedTuple):
    unzipped: int
    zipped: int


def cache_dir() -> Path:
    configured = os.environ.get("VOICECLONE_CACHE_DIR")
    return (Path(configured) if configured else ROOT / ".voiceclone") / "packages"


def _installed(requirements: list[str]) -> Path:
    """pip's output for ``requirements`` (built now, or kept from an earlier run)."""
    key = json.dumps([requirements, PIP_PLATFORMS, RUNTIME.name])
    kept = cache_dir() / hashlib.sha256(key.encode()).hexdigest()[:16]
    if not kept.is_dir():
        partial = kept.with_name(kept.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        pip_install(partial, requirements)
        partial.rename(kept)
    return kept


def _zipped_size(folder: Path) -> int:
    with tempfile.TemporaryFile() as out:
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(folder).as_posix())
        return out.tell()


def measure(extras: tuple[str, ...]) -> Size:
    """The size of the package of a function with ``extras``, bundled as the stack bundles it."""
    with tempfile.TemporaryDirectory(prefix="voiceclone-package-") as tmp:
        package = Path(tmp) / "package"
        shutil.copytree(_installed(runtime_requirements(extras)), package)
        copy_service(package)
        unzipped = sum(p.stat().st_size for p in package.rglob("*") if p.is_file())
        return Size(unzipped, _zipped_size(package))


def _sizes(size: Size) -> str:
    return f"{size.unzipped / MB:9.1f} MB {size.zipped / MB:9.1f} MB"


def run() -> dict[str, Size]:
    """Print each function's package size, then each package's (every group alone too, and all of
    them: the one package every function shared before); the sizes by package name."""
    used = {extras_of(row.name) for row in FUNCTIONS}
    sets = sorted(used | {(extra,) for extra in EVERYTHING} | {EVERYTHING}, key=lambda e: (len(e), e))
    sizes = {package_name(extras): measure(extras) for extras in sets}
    header = f"{'unzipped':>12} {'zipped':>12}"
    print("Lambda package per function (bundled as the stack bundles it)")
    print(f"  {'function (package)':<40}{header}")
    for row in FUNCTIONS:
        name = package_name(extras_of(row.name))
        print(f"  {f'{row.name} ({name})':<40}{_sizes(sizes[name])}")
    print(f"  {'package':<40}{header}  functions")
    for extras in sets:
        name = package_name(extras)
        users = [row.name for row in FUNCTIONS if extras_of(row.name) == extras]
        notes = [f"{len(users)} functions" if len(users) > 3 else ", ".join(users) or "no function"]
        if extras == EVERYTHING:
            notes.append("before the groups: every function")
        print(f"  {name:<40}{_sizes(sizes[name])}  {'; '.join(notes)}")
    print()
    return sizes


if __name__ == "__main__":
    run()
