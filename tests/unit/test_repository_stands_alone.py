"""The repository stands alone: nothing in it points at documents or tickets a reader does not have.

What the code relies on is said in its own docs, naming the public source (a vendor's page, an SDK,
a standard). A reference to the material the project started from, or to a ticket by number, would
send a reader to something they cannot open.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Built from parts so that this file does not match itself.
# A vendor's own resource names (seed-icl-1.0, seed-tts-1.0) are theirs and stay.
POINTERS = re.compile("|".join(["the " + "seed(?!-)", "seed" + "'s", "issue" + r" #?[0-9]+"]), re.IGNORECASE)


def tracked_text_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    files = [ROOT / name for name in listed.decode().split("\0") if name]
    return [path for path in files if path.is_file() and b"\0" not in path.read_bytes()[:8192]]


def test_no_file_points_at_the_starting_material_or_a_ticket() -> None:
    # Given every text file git tracks / When each is searched for such pointers
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}"
        for path in tracked_text_files()
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if POINTERS.search(line)
    ]
    # Then there are none
    assert found == []


def test_the_search_finds_what_it_looks_for() -> None:
    assert POINTERS.search("as " + "the " + "Seed says")
    assert POINTERS.search("measured for " + "issue" + " 13")
    assert not POINTERS.search("under the seed-icl-1.0 Resource-Id, a seeded random.Random")
