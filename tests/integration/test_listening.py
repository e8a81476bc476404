"""Blind listening on the local stack: a comparison of three vendors trained and measured, then pairs
that name no vendor (in the answer, a URL or the audio fetched), one vote per pair, the ranking once
every pair has 3 votes, and keeping the best deleting the other voices at their vendors.

The comparison workflow measures each ready voice and keeps its probe audio; the test waits for
them on the comparison.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
import pytest
from voiceclone.store import Store
from voiceclone_cli.client import VoicecloneClient
from voiceclone_local.stack import LocalStack

from tests.helpers import http, record_comparison, wait_for

VENDORS = ["tencent_vrs", "cosyvoice", "tencent_gateway"]


@pytest.fixture(scope="module")
def listening(stack: LocalStack) -> dict[str, Any]:
    """A comparison whose three voices are ready and measured, with probe audio; its tenant's clients."""
    key = stack.issue_api_key(f"listen-{uuid.uuid4().hex[:8]}")
    client = VoicecloneClient(stack.api_url, api_key=key)
    cid = record_comparison(client, VENDORS)

    def measured() -> dict[str, Any] | None:
        current = client.get_comparison(cid)
        heard = [v for v in current["vendors"] if _has_audio(v)]
        return current if current["status"] == "SUCCEEDED" and len(heard) == len(VENDORS) else None

    comparison = wait_for(measured, timeout=300, interval=1, what="every voice ready and measured")
    return {"cid": cid, "client": client, "http": http(stack, key), "comparison": comparison}


def _has_audio(vendor: dict[str, Any]) -> bool:
    return any(p.get("audio_key") for p in (vendor["facts"] or {}).get("probes", []))


def vendor_behind(stack: LocalStack, cid: str, pair_id: str) -> tuple[str, str]:
    """(vendor played as A, as B), read from the table: what the listener never sees."""
    pair = Store(stack.table_name, stack.client("dynamodb")).listening.get(cid, pair_id)
    assert pair is not None
    return pair.first, pair.second


def test_listen_vote_rank_and_keep_the_best(stack: LocalStack, listening: dict[str, Any]) -> None:
    cid, api, client = listening["cid"], listening["http"], listening["client"]
    url = f"{stack.api_url}/v1/comparisons/{cid}"
    voices = {v["vendor"]: v["voice_id"] for v in listening["comparison"]["vendors"]}
    # No ranking before any vote: each of the three pairs needs 3
    early = api.get(f"{url}/ranking")
    assert early.status_code == 409 and early.json()["error"] == "RankingNotReady"
    assert early.json()["details"]["votes_needed"] == [3, 3, 3]
    favourite = "cosyvoice"
    for _ in range(9):
        made = api.post(f"{url}/pairs")
        assert made.status_code == 201, made.text
        pair = made.json()
        # Nothing of the answer names a vendor or a voice, the URLs' keys included
        for vendor, voice_id in voices.items():
            assert vendor not in made.text and voice_id not in made.text
        for side in ("a", "b"):
            path = unquote(urlsplit(pair[side]).path)
            assert "/listening/" in path and not any(v in path for v in VENDORS)
            audio = httpx.get(pair[side])
            assert audio.status_code == 200 and audio.content[:4] == b"RIFF"
            assert not any(v.encode() in audio.content[:512] for v in VENDORS)
        a, b = vendor_behind(stack, cid, pair["pair_id"])
        choice = "a" if a == favourite else "b" if b == favourite else "same"
        voted = api.post(f"{url}/votes", json={"pair_id": pair["pair_id"], "choice": choice})
        assert voted.status_code == 201, voted.text
        # One vote per pair
        again = api.post(f"{url}/votes", json={"pair_id": pair["pair_id"], "choice": "same"})
        assert again.status_code == 409 and again.json()["error"] == "AlreadyVoted"
    unknown = api.post(f"{url}/votes", json={"pair_id": f"pair-{'0' * 32}", "choice": "a"})
    assert unknown.status_code == 404 and unknown.json()["error"] == "PairNotFound"
    # The ranking follows the votes, with the facts beside
    ranked = api.get(f"{url}/ranking")
    assert ranked.status_code == 200, ranked.text
    body = ranked.json()
    assert body["method"] == "bradley-terry" and body["votes"] == 9
    assert body["vendors"][0]["vendor"] == favourite and body["vendors"][0]["wins"] == 6
    for entry in body["vendors"]:
        assert entry["facts"]["first_audio_seconds"] > 0 and entry["facts"]["price"]
        assert entry["seconds_to_ready"] is not None
    # Keep the best: the other two voices are deleted (Tencent's gateway at the vendor; VRS cannot)
    kept = api.post(f"{url}/keep", json={"vendor": favourite})
    assert kept.status_code == 200, kept.text
    deleted = {d["vendor"]: d for d in kept.json()["deleted"]}
    assert set(deleted) == {"tencent_vrs", "tencent_gateway"}
    assert "no API to delete" in (deleted["tencent_vrs"]["note"] or "")
    for vendor, voice_id in voices.items():
        state = api.get(f"{stack.api_url}/v1/voices/{voice_id}").json()["state"]
        assert state == ("READY" if vendor == favourite else "DELETED"), vendor
    assert client.get_comparison(cid)["kept"] == favourite
    over = api.post(f"{url}/pairs")
    assert over.status_code == 409 and over.json()["error"] == "ComparisonKept"
