"""The comparison store: a comparison claims its consent phrase once, pages by tenant, and keeps one
vendor's facts on that vendor's entry alone (the facts step's record_facts)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from voiceclone.domain.comparison import Comparison, ComparisonVendor, TakeRecord
from voiceclone.domain.consent import ConsentKind, ConsentTerms, Requester
from voiceclone.domain.errors import NotFound, PhraseTaken
from voiceclone.domain.models import Gender, Language
from voiceclone.store.comparisons import ComparisonStore
from voiceclone.store.table import Table

from tests.helpers import TABLE_SCHEMA, moto_client


@pytest.fixture
def store() -> Iterator[ComparisonStore]:
    with moto_client("dynamodb", "us-east-1") as client:
        name = f"cmp-{uuid.uuid4().hex[:8]}"
        client.create_table(TableName=name, **TABLE_SCHEMA)
        try:
            yield ComparisonStore(Table(name, client))
        finally:
            client.delete_table(TableName=name)


def comparison(cid: str, digits: str, tenant: str = "acme") -> Comparison:
    terms = ConsentTerms(
        kind=ConsentKind.RECORDING,
        speaker_name="Li Hua",
        organisation_name="Acme",
        vendor_name="A和B",
        language="zh",
        statement="...",
        phrase="...",
        phrase_digits=digits,
        requested_by=Requester(tenant_id=tenant, api_key_id="k"),
    )
    return Comparison(
        comparison_id=cid,
        tenant_id=tenant,
        voice_name="v",
        speaker_name="Li Hua",
        language=Language.ZH_CN,
        gender=Gender.FEMALE,
        consent=terms,
        takes=[TakeRecord(text_id="00001", text="x")],
        vendors=[
            ComparisonVendor(vendor="qiniu", job_id="j1"),
            ComparisonVendor(vendor="huawei", job_id="j2"),
        ],
    )


def test_a_phrase_is_claimed_once_and_another_tenant_sees_nothing(store: ComparisonStore) -> None:
    store.create(comparison("cmp-1", "12345678"))
    with pytest.raises(PhraseTaken):
        store.create(comparison("cmp-2", "12345678"))
    assert store.get("cmp-2") is None
    assert store.require("cmp-1", "acme").vendors[0].job_id == "j1"
    with pytest.raises(NotFound):
        store.require("cmp-1", "other")
    store.create(comparison("cmp-3", "87654321", tenant="other"))
    page, _ = store.list("acme", 10, None)
    assert [c.comparison_id for c in page] == ["cmp-1"]


def test_record_facts_keeps_one_vendors_facts_and_touches_no_other(store: ComparisonStore) -> None:
    store.create(comparison("cmp-f", "11112222"))
    facts: dict[str, Any] = {"similarity": 0.82, "notes": ["ok"]}
    store.record_facts("cmp-f", "huawei", facts)
    kept = store.require("cmp-f")
    assert kept.vendor("huawei").facts == facts
    assert kept.vendor("qiniu").facts is None
    version = kept.version
    store.record_facts("cmp-f", "huawei", facts)  # the same again: nothing written
    assert store.require("cmp-f").version == version
