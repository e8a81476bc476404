"""The studio's Compare view in a real browser: three vendors' voices of one comparison, heard blind.

The test listens (plays A and B), votes until every pair has 3 votes, always for one vendor, and sees
the ranking follow its votes with the facts beside, then keeps that vendor's voice. The page never
says which vendor is A: the test finds out from the table, through the stack's own AWS (moto), as a
listener never could; and it checks that the listening panel names no vendor at any point.

The stack runs in a child process (tests/browser/child_stack.py), as `voiceclone local up` runs it;
the comparison workflow measures each ready voice and keeps its probe audio, which the test waits
for on the comparison through the API.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from voiceclone.store import Store
from voiceclone_cli.client import VoicecloneClient

from tests.browser.conftest import StudioStack, stack_child
from tests.browser.test_studio import scan, shot, text
from tests.helpers import record_comparison, wait_for

pytestmark = pytest.mark.xdist_group("studio")

VENDORS = ["tencent_vrs", "cosyvoice", "tencent_gateway"]
FAVOURITE = "tencent_gateway"
PAIRS = 3
VOTES_PER_PAIR = 3
CHILD = "import sys; from tests.browser.child_stack import main; sys.exit(main())"


@pytest.fixture(scope="module")
def listening_stack() -> Iterator[tuple[StudioStack, Store]]:
    """The child stack and its table, read through its moto endpoint (the test's view behind the page)."""
    with stack_child(CHILD) as (stack, output):
        found = re.search(r"moto (\S+) table (\S+) bucket (\S+)", output)
        assert found, output[-2000:]
        dynamodb = boto3.client(
            "dynamodb",
            region_name="us-east-1",
            endpoint_url=found.group(1),
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        yield stack, Store(found.group(2), dynamodb)


def ready_to_listen(stack: StudioStack) -> str:
    """A comparison of the three vendors, recorded through the API, every voice ready with probe audio."""
    client = VoicecloneClient(stack.api_url, api_key=stack.api_key)
    cid = record_comparison(client, VENDORS, name="blind")

    def heard() -> bool:
        current = client.get_comparison(cid)
        audio = [
            v
            for v in current["vendors"]
            if any(p.get("audio_key") for p in (v["facts"] or {}).get("probes", []))
        ]
        return current["status"] == "SUCCEEDED" and len(audio) == len(VENDORS)

    wait_for(heard, timeout=300, interval=1, what="the three voices ready and measured")
    return cid


def played(page: Any, side: str, key: str | None = None) -> None:
    """Press the player's button (or its key) and wait until its audio has played a little (the
    element's own clock); what the element and the page said if it never does."""
    if key:
        page.keyboard.press(key)
    else:
        page.click(f"#play-{side}")
    try:
        page.wait_for_function(
            f"() => document.getElementById('listen-{side}').currentTime > 0.05", timeout=30000
        )
    except Exception as exc:
        state = page.evaluate(
            f"""() => {{ const a = document.getElementById('listen-{side}');
            return {{ src: a.src, error: a.error && a.error.message, network: a.networkState,
                     ready: a.readyState, paused: a.paused,
                     page: document.getElementById('error').textContent }}; }}"""
        )
        raise AssertionError(f"voice {side.upper()} did not play: {state} {page.console}") from exc


def test_listen_blind_vote_and_keep_the_best(
    browser: Any, listening_stack: tuple[StudioStack, Store], artifacts: Path
) -> None:
    stack, store = listening_stack
    cid = ready_to_listen(stack)
    page = browser.new_context().new_page()  # the studio's own Content-Security-Policy enforced
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.console = console
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(stack.studio_url)
    page.wait_for_selector("body[data-ready=true]")
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#setup:not([hidden])")
    # When the listener opens the Compare view and the comparison
    page.click("#nav-compare")
    page.wait_for_selector("#comparison-rows button")
    page.click("#comparison-rows tr:has-text('blind') button")
    page.wait_for_selector("#listen:not([hidden])")
    assert all(v in text(page, "#comparison-vendors") for v in VENDORS)
    scan(page, "compare: listening")
    shot(page, artifacts, "compare-listening")
    votes = 0
    for votes in range(1, PAIRS * VOTES_PER_PAIR + 1):
        panel = text(page, "#listen")
        assert not any(v in panel for v in VENDORS), panel  # the page never says who is A or B
        pair_id = page.get_attribute("#listen", "data-pair")
        # ...listens to A, then B (B by its keyboard shortcut)
        played(page, "a")
        played(page, "b", key="b")
        # ...and votes for the favourite wherever it plays, "same" where it does not
        pair = store.listening.get(cid, pair_id or "")
        assert pair is not None and pair.choice is None
        a, b = pair.first, pair.second
        choice = "#vote-a" if a == FAVOURITE else "#vote-b" if b == FAVOURITE else "#vote-same"
        page.click(choice)
        page.wait_for_function(
            f"() => document.getElementById('listen').dataset.pair !== {pair_id!r}", timeout=30000
        )
        if votes < PAIRS * VOTES_PER_PAIR:
            assert page.is_hidden("#ranking"), f"the ranking showed after {votes} votes"
    assert votes == PAIRS * VOTES_PER_PAIR
    # Then the ranking follows the votes, with the facts beside
    page.wait_for_selector("#ranking:not([hidden])")
    assert "3/3, 3/3, 3/3" in text(page, "#listen-progress")
    rows = page.query_selector_all("#ranking-rows tr")
    assert len(rows) == len(VENDORS)
    first = [c.inner_text() for c in rows[0].query_selector_all("td")]
    assert first[0] == "1" and first[1] == FAVOURITE and first[3] == "6 / 0 / 0" and first[4] == "100%"
    assert first[5] and first[6] and first[7] and first[8]  # first audio, RTF, speech level, price
    assert "Bradley–Terry" in text(page, "#ranking-method")
    scan(page, "compare: ranking")
    shot(page, artifacts, "compare-ranking")
    # When the listener keeps the best (confirming), the other voices are deleted
    assert text(page, "#keep") == f"Keep {FAVOURITE} and delete the others"
    page.click("#keep")
    page.wait_for_function("() => /Kept/.test(document.getElementById('keep-status').textContent)")
    status = text(page, "#keep-status")
    assert f"Kept {FAVOURITE}'s voice" in status and "tencent_vrs" in status and "cosyvoice" in status
    comparison = store.comparisons.require(cid)
    assert comparison.kept == FAVOURITE
    for entry in comparison.vendors:
        voice = store.voices.get(entry.voice_id or "")
        assert voice is not None and voice.state.value == (
            "READY" if entry.vendor == FAVOURITE else "DELETED"
        )
    assert not [m for m in console if "Content Security Policy" in m], console
    page.context.close()
