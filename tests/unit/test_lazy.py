"""voiceclone.lazy: a module bound lazily is imported when first read, once, whichever thread reads it."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from voiceclone.lazy import lazy_module, optional_lazy_module

# A module that takes a while to run and names its value last, as a heavy library does (PyAV runs
# for about a second before `av.open` exists).
SLOW_MODULE = """
import time
RUNS = globals().get("RUNS", 0) + 1
time.sleep(0.3)
VALUE = 42
"""


@pytest.fixture
def slow_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    name = f"voiceclone_lazy_probe_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(SLOW_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def test_the_module_is_imported_when_first_read_not_when_bound(slow_module: str) -> None:
    module = lazy_module(slow_module)
    assert slow_module not in sys.modules
    assert module.VALUE == 42
    assert slow_module in sys.modules
    assert module.RUNS == 1


def test_threads_reading_it_at_once_all_see_the_whole_module(slow_module: str) -> None:
    # Given a module bound lazily and eight threads that read its last name at the same moment
    module = lazy_module(slow_module)
    start = threading.Barrier(8)
    seen: list[object] = []

    def read() -> None:
        start.wait()
        try:
            seen.append(module.VALUE)
        except Exception as exc:  # a half-made module: the failure this guards against
            seen.append(exc)

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then each waited for the one import to finish: every thread got the value, the module ran once
    assert seen == [42] * 8
    assert module.RUNS == 1


def test_a_module_already_imported_is_bound_as_itself() -> None:
    assert lazy_module("json") is sys.modules["json"]


def test_an_absent_module_is_refused_at_once_or_is_none_when_optional() -> None:
    with pytest.raises(ModuleNotFoundError, match="voiceclone_no_such_module"):
        lazy_module("voiceclone_no_such_module")
    assert optional_lazy_module("voiceclone_no_such_module") is None
