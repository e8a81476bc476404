"""The local stack reuses its synthesized template until the app's sources, context or libraries change."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from voiceclone.vendors import registry
from voiceclone_local import template as tpl
from voiceclone_local.template import cached_template, placeholder, template_key


class CountingSynth:
    """Stands in for CDK synthesis: a template that shows its context, and a count of the calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, context: Mapping[str, Any]) -> dict[str, Any]:
        self.calls += 1
        return {"Resources": {}, "Context": dict(context)}


@pytest.fixture
def app(tmp_path: Path) -> Path:
    """A small app tree with the sources the key covers (and one it does not)."""
    root = tmp_path / "app"
    (root / "infra").mkdir(parents=True)
    (root / "infra" / "stack.py").write_text("MEMORY = 256\n")
    (root / "functions" / "voiceclone" / "vendors").mkdir(parents=True)
    (root / "functions" / "voiceclone" / "vendors" / "registry.py").write_text("VENDORS = ['a']\n")
    (root / "functions" / "voiceclone" / "logic").mkdir(parents=True)
    (root / "functions" / "voiceclone" / "logic" / "jobs.py").write_text("X = 1\n")
    (root / "cdk.json").write_text('{"context": {}}')
    return root


def test_an_unchanged_app_is_synthesized_once(app: Path, tmp_path: Path) -> None:
    synth = CountingSynth()
    first = cached_template({"k": 1}, synth, root=app, cache_dir=tmp_path / "cache")
    second = cached_template({"k": 1}, synth, root=app, cache_dir=tmp_path / "cache")
    assert synth.calls == 1
    assert first == second == {"Resources": {}, "Context": {"k": 1}}


@pytest.mark.parametrize(
    "change",
    [
        lambda root: (root / "infra" / "stack.py").write_text("MEMORY = 512\n"),
        lambda root: (root / "infra" / "new_construct.py").write_text(""),
        lambda root: (root / "functions" / "voiceclone" / "vendors" / "registry.py").write_text(
            "V = ['b']\n"
        ),
        lambda root: (root / "cdk.json").write_text('{"context": {"x": 1}}'),
    ],
    ids=["infra source", "new infra file", "vendor registry", "cdk.json"],
)
def test_a_changed_source_synthesizes_again(app: Path, tmp_path: Path, change: Any) -> None:
    synth = CountingSynth()
    cached_template({"k": 1}, synth, root=app, cache_dir=tmp_path / "cache")
    change(app)
    cached_template({"k": 1}, synth, root=app, cache_dir=tmp_path / "cache")
    assert synth.calls == 2


def test_a_vendor_registered_at_run_time_synthesizes_again(
    app: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a vendor whose adapter lives outside the sources the key reads (here, qiniu's class under
    # another id, as a test registers its own vendor)
    before = template_key({}, app)
    qiniu = registry.adapter_class("qiniu")
    registry.register("qiniu_copy", "voiceclone.vendors.qiniu:QiniuAdapter")
    try:
        # Then registering it changes the key (infra gives it a secret, an alarm, widgets)
        registered = template_key({}, app)
        assert registered != before
        # ...and so does a change of what it declares
        monkeypatch.setattr(qiniu, "credential_fields", ("api_key", "region"))
        assert template_key({}, app) not in (before, registered)
    finally:
        registry.unregister("qiniu_copy")
    monkeypatch.undo()
    assert template_key({}, app) == before


def test_handler_code_is_not_part_of_the_key(app: Path) -> None:
    before = template_key({}, app)
    (app / "functions" / "voiceclone" / "logic" / "jobs.py").write_text("X = 2\n")
    assert template_key({}, app) == before


def test_a_changed_context_synthesizes_again(app: Path, tmp_path: Path) -> None:
    synth = CountingSynth()
    a = cached_template({"k": 1}, synth, root=app, cache_dir=tmp_path / "cache")
    b = cached_template({"k": 2}, synth, root=app, cache_dir=tmp_path / "cache")
    assert synth.calls == 2
    assert (a["Context"], b["Context"]) == ({"k": 1}, {"k": 2})


def test_a_changed_library_version_synthesizes_again(
    app: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synth = CountingSynth()
    cached_template({}, synth, root=app, cache_dir=tmp_path / "cache")
    real = tpl.metadata.version
    monkeypatch.setattr(
        tpl.metadata, "version", lambda name: "9.9.9" if name == "aws-cdk-lib" else real(name)
    )
    cached_template({}, synth, root=app, cache_dir=tmp_path / "cache")
    assert synth.calls == 2


def test_values_that_change_every_start_are_set_in_after_the_cache(app: Path, tmp_path: Path) -> None:
    # Given a sandbox URL that differs at each start, passed as a placeholder
    synth = CountingSynth()
    context = {"voiceclone:vendorSettings": {"qiniu_endpoint": placeholder("qiniu_endpoint")}}
    # When two starts use different ports
    one = cached_template(
        context, synth, substitute={"qiniu_endpoint": "http://127.0.0.1:4001"}, root=app, cache_dir=tmp_path
    )
    two = cached_template(
        context, synth, substitute={"qiniu_endpoint": "http://127.0.0.1:4002"}, root=app, cache_dir=tmp_path
    )
    # Then one synthesis served both, each with its own value
    assert synth.calls == 1
    assert one["Context"]["voiceclone:vendorSettings"] == {"qiniu_endpoint": "http://127.0.0.1:4001"}
    assert two["Context"]["voiceclone:vendorSettings"] == {"qiniu_endpoint": "http://127.0.0.1:4002"}
    assert placeholder("qiniu_endpoint") in next(tmp_path.glob("*.json")).read_text()


def test_a_damaged_kept_template_is_synthesized_again(app: Path, tmp_path: Path) -> None:
    synth = CountingSynth()
    cached_template({}, synth, root=app, cache_dir=tmp_path)
    (kept,) = tmp_path.glob("*.json")
    kept.write_text('{"Resources": ')  # cut short
    again = cached_template({}, synth, root=app, cache_dir=tmp_path)
    assert synth.calls == 2
    assert again == {"Resources": {}, "Context": {}}
    assert json.loads(kept.read_text()) == again


def test_only_recent_templates_are_kept(app: Path, tmp_path: Path) -> None:
    synth = CountingSynth()
    for k in range(tpl.KEEP_TEMPLATES + 3):
        cached_template({"k": k}, synth, root=app, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.json"))) == tpl.KEEP_TEMPLATES


def test_the_real_app_key_covers_infra_and_the_vendor_declarations() -> None:
    sources = {
        p.relative_to(tpl.ROOT).as_posix() for pattern in tpl.TEMPLATE_SOURCES for p in tpl.ROOT.glob(pattern)
    }
    assert {
        "infra/stack.py",
        "infra/functions.py",
        # a new row is a new function (and a streaming one, a streamed integration)
        "functions/voiceclone/handlers/table.py",
        "functions/voiceclone/vendors/registry.py",
        "functions/voiceclone/domain/polling.py",
    } <= sources
    assert "cdk.json" in sources


def test_synthesis_prints_no_node_support_banner() -> None:
    # Given the environment of a newcomer (no jsii variable of theirs)
    env = {k: v for k, v in os.environ.items() if not k.startswith("JSII_SILENCE")}
    # When the synthesis module starts jsii's kernel (the first aws_cdk import)
    done = subprocess.run(
        [sys.executable, "-c", "import infra.synth, aws_cdk; print('synth ready')"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tpl.ROOT,
        timeout=600,
    )
    # Then nothing but our own output shows: no banner, no raw bytes
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "synth ready"
    assert "end-of-life" not in done.stderr and "!!" not in done.stderr, done.stderr
