"""The docs' vendor tables say what the declarations say, and are stale after a change until `make tables`."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest
from voiceclone.vendors.config import env_name
from voiceclone.vendors.registry import adapter_class, vendor_ids
from voiceclone_local import vendor_tables
from voiceclone_local.sandboxes.base import CheckedCredential, SandboxBase
from voiceclone_local.vendor_tables import ROOT, end_marker, regenerate, stale, start_marker, tables_in

README = ROOT / "README.md"
INDEX = ROOT / "docs" / "vendors" / "README.md"


def shown(paths: Iterable[Path]) -> list[str]:
    return sorted(path.relative_to(ROOT).as_posix() for path in paths)


def test_the_committed_tables_are_what_the_declarations_say() -> None:
    changed = stale()
    assert not changed, f"stale vendor tables in {', '.join(shown(changed))}: run `make tables`"


def test_the_readme_and_the_vendor_index_hold_their_tables() -> None:
    # A table taken out of a file would not be stale, only gone: the files hold these ones
    assert list(tables_in(README.read_text(encoding="utf-8"))) == ["training", "speech", "settings"]
    assert list(tables_in(INDEX.read_text(encoding="utf-8"))) == ["training", "speech", "sandboxes"]
    # And the README's vendor section says they are generated, and by which command
    vendors = re.search(r"^## Vendors\n(.*?)^## ", README.read_text(encoding="utf-8"), re.M | re.S)
    assert vendors and "generated" in vendors.group(1) and "`make tables`" in vendors.group(1)


def change_capabilities(monkeypatch: pytest.MonkeyPatch) -> None:
    cls = adapter_class("qiniu")
    monkeypatch.setattr(cls, "capabilities", cls.capabilities.model_copy(update={"poll_max_seconds": 600}))


def change_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    cls = adapter_class("cosyvoice")
    monkeypatch.setattr(cls, "credential_fields", (*cls.credential_fields, "region"))


def change_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    cls = SandboxBase.for_vendor("huawei")
    assert cls is not None
    monkeypatch.setattr(cls, "checked_credential", CheckedCredential("access_key", "APIGW.0301"))


@pytest.mark.parametrize(
    ("change", "files"),
    [
        (change_capabilities, ["README.md", "docs/vendors/README.md"]),
        (change_credentials, ["README.md"]),
        (change_sandbox, ["docs/vendors/README.md"]),
    ],
    ids=["adapter capabilities", "credential fields", "sandbox credential"],
)
def test_a_declaration_changed_without_make_tables_makes_them_stale(
    change: Callable[[pytest.MonkeyPatch], None],
    files: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    # Given a declaration changed in the code, and the committed docs as they are
    change(monkeypatch)
    # Then the tables that state it are stale, and the check says which file and what to run
    assert shown(stale()) == files
    assert vendor_tables.main(["--check"]) == 1
    out = capsys.readouterr().out
    assert all(f"{name}: its vendor tables are stale: run `make tables`" in out for name in files)
    # And once regenerated (in a copy of the docs), nothing is stale
    shutil.copy(README, tmp_path / "README.md")
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    for path, text in stale(tmp_path).items():
        path.write_text(text, encoding="utf-8")
    assert stale(tmp_path) == {}


def test_a_table_without_its_end_or_with_an_unknown_name_is_an_error() -> None:
    with pytest.raises(ValueError, match="lacks its end marker"):
        regenerate(f"{start_marker('training')}\n| old |\n", ROOT)
    with pytest.raises(ValueError, match="no generated table is called 'prices'"):
        regenerate(f"{start_marker('prices')}\n{end_marker('prices')}", ROOT)


@pytest.mark.parametrize("vendor", vendor_ids())
def test_each_vendors_page_says_what_every_declared_setting_means(vendor: str) -> None:
    # The generated settings table lists the names; their meanings are on the page, which must name
    # each one (as `FIELD` in its settings, or as the whole variable)
    text = (ROOT / "docs" / "vendors" / f"{vendor}.md").read_text(encoding="utf-8")
    fields = adapter_class(vendor).settings_fields()
    unnamed = [f for f in fields if f"`{f.upper()}`" not in text and env_name(vendor, f) not in text]
    assert unnamed == [], f"docs/vendors/{vendor}.md does not name the settings {unnamed}"
