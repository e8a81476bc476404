"""The fewest takes of a comparison: from every vendor's declared script, for every subset of the
registry's vendors, and as properties over any scripts (each vendor served, no text read twice,
no take to spare); and the consent statement that names several vendors."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import combinations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from voiceclone.domain.comparison import TakePlan, VendorScript, plan_takes
from voiceclone.domain.consent import statement
from voiceclone.domain.models import TrainingText
from voiceclone.vendors.registry import capabilities, vendor_ids
from voiceclone_local.sandboxes.base import SandboxBase

from tests.unit.conftest import adapter_on_sandbox


@pytest.fixture(scope="module")
def scripts() -> Iterator[dict[str, VendorScript]]:
    """Each registered vendor's script as its adapter reads it (Tencent VRS's from its sandbox's
    GetTrainingText), with the vendor's declaration of whether any text will do."""
    found: dict[str, VendorScript] = {}
    for vendor in vendor_ids():
        cls = SandboxBase.for_vendor(vendor)
        assert cls is not None
        sandbox = cls(cls.local_config())
        try:
            texts = adapter_on_sandbox(sandbox).training_texts()
        finally:
            sandbox.stop()
        found[vendor] = VendorScript(
            vendor=vendor, texts=texts, reads_any_text=capabilities(vendor).reads_any_text
        )
    yield found


def expected_count(chosen: list[VendorScript]) -> int:
    """Fixed vendors' distinct texts, or the hungriest any-text vendor's count if that is more."""
    fixed = {t.text for s in chosen if not s.reads_any_text for t in s.texts}
    free = [len(s.texts) for s in chosen if s.reads_any_text]
    return max([len(fixed), *free])


def check_plan(chosen: list[VendorScript], plan: TakePlan) -> None:
    takes = {t.text_id: t.text for t in plan.takes}
    # No take asked twice: one take per id and per text.
    assert len(takes) == len(plan.takes)
    assert len(set(takes.values())) == len(plan.takes)
    free_need = max([len(s.texts) for s in chosen if s.reads_any_text], default=0)
    needed_by_fixed: set[str] = set()
    for script in chosen:
        given_ = plan.needs(script.vendor).text_ids
        assert set(given_) <= set(takes)
        if script.reads_any_text:
            assert len(given_) == len(script.texts)
        else:
            # Its own texts, each under its own text id.
            assert sorted((vid, takes[tid]) for tid, vid in given_.items()) == sorted(
                (t.text_id, t.text) for t in script.texts
            )
            needed_by_fixed |= set(given_)
    # Removing any take leaves some vendor short.
    for take in plan.takes:
        assert take.text_id in needed_by_fixed or len(plan.takes) - 1 < free_need


def test_every_subset_of_the_registry_gets_the_fewest_takes(scripts: dict[str, VendorScript]) -> None:
    vendors = list(scripts)
    for size in range(1, len(vendors) + 1):
        for subset in combinations(vendors, size):
            chosen = [scripts[v] for v in subset]
            plan = plan_takes(chosen)
            assert len(plan.takes) == expected_count(chosen), subset
            check_plan(chosen, plan)


def test_fixed_scripts_share_the_takes_of_their_common_texts() -> None:
    def script(vendor: str, *texts: str) -> VendorScript:
        return VendorScript(
            vendor=vendor, texts=[TrainingText(text_id=str(n), text=t) for n, t in enumerate(texts, 1)]
        )

    # b calls "y" 1 and "z" 2: one take per text, ids kept apart, each vendor told its own ids.
    a, b = script("a", "x", "y"), script("b", "y", "z")
    plan = plan_takes([a, b])
    assert [(t.text_id, t.text) for t in plan.takes] == [("1", "x"), ("2", "y"), ("2-2", "z")]
    assert plan.needs("b").text_ids == {"2": "1", "2-2": "2"}


texts = st.lists(
    st.builds(TrainingText, text_id=st.sampled_from("123456"), text=st.sampled_from("abcdefgh")),
    min_size=1,
    max_size=6,
).map(lambda ts: list({t.text: t for t in ts}.values()))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(texts, st.booleans()), min_size=1, max_size=5))
def test_any_scripts_are_served_with_no_take_twice_and_none_to_spare(
    drawn: list[tuple[list[TrainingText], bool]],
) -> None:
    # Text ids unique within a script, as every vendor's are.
    chosen = [
        VendorScript(
            vendor=f"v{i}",
            texts=[t.model_copy(update={"text_id": f"{n:02d}{t.text_id}"}) for n, t in enumerate(ts)],
            reads_any_text=free,
        )
        for i, (ts, free) in enumerate(drawn)
    ]
    plan = plan_takes(chosen)
    assert len(plan.takes) == expected_count(chosen)
    check_plan(chosen, plan)


def test_one_statement_names_every_vendor_and_a_single_vendor_reads_as_before() -> None:
    one = statement("zh", "李华", "示例公司", "七牛云", "一二三四，五六七八")
    assert one == statement("zh", "李华", "示例公司", ["七牛云"], "一二三四，五六七八")
    assert "通过七牛云用它" in one
    zh = statement("zh", "李华", "示例公司", ["腾讯云", "火山引擎", "七牛云"], "一二三四，五六七八")
    assert "通过腾讯云、火山引擎和七牛云用它制作合成声音" in zh
    en = statement("en", "Li Hua", "Example Ltd", ["Tencent Cloud", "Volcengine", "Qiniu"], "one")
    assert "through Tencent Cloud, Volcengine and Qiniu. The one-time code" in en
