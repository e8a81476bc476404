"""`voiceclone compare`: create uploads each take once (and the letter, and the consent) from one folder;
status prints one row per vendor, follows to the end with --wait, and fails when a vendor failed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.unit.test_cli import S3, SAMPLES, FakeApi, api, run, upload_target  # noqa: F401 - fixture by name

LETTER = SAMPLES.parent / "authorization-letter.pdf"


def comparison(status: str, vendors: list[dict[str, Any]], takes: int = 3) -> dict[str, Any]:
    sentences = [
        {
            "text_id": "consent",
            "text": "我，李华，同意……",
            "status": "PENDING_UPLOAD",
            "upload": upload_target("consent"),
        }
    ]
    sentences += [
        {
            "text_id": f"0000{n}",
            "text": f"t{n}",
            "status": "PENDING_UPLOAD",
            "upload": upload_target(f"0000{n}"),
        }
        for n in range(1, takes + 1)
    ]
    return {
        "comparison_id": "cmp-1",
        "status": status,
        "consent": {"statement": "我，李华，同意……", "language": "zh"},
        "sentences": sentences,
        "documents": [{"name": "authorization_letter", "uploaded": False, "upload": upload_target("letter")}],
        "vendors": vendors,
    }


def vendor(name: str, status: str, **fields: Any) -> dict[str, Any]:
    return {"vendor": name, "job_id": f"job-{name}", "status": status, "voice_id": None, "error": None,
            "seconds_to_ready": None, **fields}  # fmt: skip


RUNNING = [vendor("qiniu", "TRAINING"), vendor("huawei", "TRAINING")]
ENDED = [
    vendor("qiniu", "SUCCEEDED", voice_id="v-q", seconds_to_ready=12.5),
    vendor("huawei", "FAILED", error={"error": "VendorRejected", "code": "MSS.1", "message": "audit failed"}),
]


def test_create_uploads_each_take_once_the_letter_and_the_consent(
    api: FakeApi,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    api.on("POST", "/v1/comparisons", comparison("AWAITING_AUDIO", RUNNING), status=201)
    consent = tmp_path / "consent.wav"
    consent.write_bytes((SAMPLES / "00001.wav").read_bytes())
    code, out, err = run(
        capsys, "compare", "create", "--vendor", "qiniu", "--vendor", "huawei", "--speaker", "Li Hua",
        "--option", "huawei.edition=BASIC", "--document", f"authorization_letter={LETTER}",
        "--consent", str(consent), "--recordings", str(SAMPLES),
    )  # fmt: skip
    assert code == 0, err
    body = json.loads(api.sent("POST", "/v1/comparisons")[0].content)
    assert body["vendors"] == ["qiniu", "huawei"] and body["options"] == {"huawei": {"edition": "BASIC"}}
    assert body["speaker_name"] == "Li Hua"
    # Three takes, the letter and the consent: five uploads, each once
    uploads = [r for r in api.requests if r.url.host == "s3.test"]
    assert len(uploads) == 5
    assert "cmp-1 created" in out and "voiceclone compare status cmp-1 --wait" in out


def test_create_refuses_a_folder_that_lacks_a_take(
    api: FakeApi,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    api.on("POST", "/v1/comparisons", comparison("AWAITING_AUDIO", RUNNING, takes=1), status=201)
    code, _, err = run(
        capsys, "compare", "create", "--vendor", "qiniu", "--vendor", "huawei", "--speaker", "Li Hua",
        "--recordings", str(tmp_path),
    )  # fmt: skip
    assert code == 2 and "00001" in err and "authorization_letter" in err
    assert not [r for r in api.requests if r.url.host == "s3.test"]


def test_a_bad_vendor_option_is_a_usage_error(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    code, _, err = run(
        capsys, "compare", "create", "--vendor", "qiniu", "--vendor", "huawei", "--speaker", "S",
        "--option", "edition=BASIC", "--recordings", str(SAMPLES),
    )  # fmt: skip
    assert code == 2 and "VENDOR.KEY=VALUE" in err and not api.requests


def test_status_prints_one_row_per_vendor_and_wait_follows_to_the_end(
    api: FakeApi,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    api.on(
        "GET", "/v1/comparisons/cmp-1", comparison("TRAINING", RUNNING), comparison("PARTLY_SUCCEEDED", ENDED)
    )
    code, out, _ = run(capsys, "compare", "status", "cmp-1", "--wait")
    assert code == 1  # a vendor failed
    assert "PARTLY_SUCCEEDED" in out
    qiniu = next(line for line in out.splitlines() if "qiniu" in line)
    assert "v-q" in qiniu and "12.5" in qiniu
    huawei = next(line for line in out.splitlines() if "huawei" in line)
    assert "FAILED" in huawei and "MSS.1" in huawei
    assert len(api.sent("GET", "/v1/comparisons/cmp-1")) == 2


def test_a_comparison_ended_by_rejected_takes_is_a_failure_named_once(
    api: FakeApi,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    reason = "1 of 21: 00003 (NOT_WAV)"
    rejected = {"error": "SentencesRejected", "code": "SentencesRejected", "message": reason}
    ended = comparison("FAILED", [vendor("qiniu", "CHECK_FAILED", error=rejected)])
    api.on("GET", "/v1/comparisons/cmp-1", ended)
    code, out, _ = run(capsys, "compare", "status", "cmp-1")
    assert code == 1
    qiniu = next(line for line in out.splitlines() if "qiniu" in line)
    assert "SentencesRejected: 1 of 21: 00003 (NOT_WAV)" in qiniu and qiniu.count("SentencesRejected") == 1


def test_status_json_is_the_comparison(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    api.on("GET", "/v1/comparisons/cmp-1", comparison("TRAINING", RUNNING))
    code, out, _ = run(capsys, "compare", "status", "cmp-1", "--json")
    assert code == 0 and json.loads(out)["vendors"][0]["vendor"] == "qiniu"


RANKING = {
    "comparison_id": "cmp-1",
    "method": "bradley-terry",
    "votes": 9,
    "needed_per_pair": 3,
    "kept": None,
    "vendors": [
        {"rank": 1, "vendor": "huawei", "voice_id": "v-h", "strength": 0.6123, "wins": 6, "losses": 0,
         "same": 0, "win_rate": 1.0, "seconds_to_ready": 41.5,
         "facts": {"delivery": "whole", "first_audio_seconds": 1.234, "real_time_factor": 0.41,
                   "speech_dbfs": -21.04, "price": "0.3 CNY", "probes_spoken": 12}},
        {"rank": 2, "vendor": "qiniu", "voice_id": "v-q", "strength": 0.3877, "wins": 0, "losses": 6,
         "same": 0, "win_rate": 0.0, "seconds_to_ready": None, "facts": None},
    ],
}  # fmt: skip


def test_ranking_prints_the_order_with_the_facts_beside(
    api: FakeApi,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    api.on("GET", "/v1/comparisons/cmp-1/ranking", RANKING)
    code, out, _ = run(capsys, "compare", "ranking", "cmp-1")
    assert code == 0 and "bradley-terry" in out and "9 blind votes" in out
    rows = [line for line in out.splitlines() if "huawei" in line or "qiniu" in line]
    assert "huawei" in rows[0] and "qiniu" in rows[1]
    for shown in ("0.612", "100%", "1.23", "0.41", "-21.0", "0.3 CNY", "41.5"):
        assert shown in rows[0], shown


def test_ranking_says_what_is_still_needed(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    refusal = {
        "error": "RankingNotReady",
        "message": "every pair of voices needs 3 votes before the ranking is shown: 2 of 3 pairs still "
        "need 2, 1 votes",
        "details": {"votes_needed": [2, 1], "needed_per_pair": 3, "pairs": 3},
    }
    api.on("GET", "/v1/comparisons/cmp-1/ranking", refusal, status=409)
    code, out, _ = run(capsys, "compare", "ranking", "cmp-1")
    assert code == 3 and "no ranking yet" in out and "still need 2, 1 votes" in out
    code, out, _ = run(capsys, "compare", "ranking", "cmp-1", "--json")
    assert code == 3 and json.loads(out)["details"]["votes_needed"] == [2, 1]


def test_keep_sends_the_vendor_and_names_what_was_deleted(
    api: FakeApi,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    kept = {
        "comparison_id": "cmp-1",
        "kept": "huawei",
        "voice_id": "v-h",
        "deleted": [
            {"vendor": "qiniu", "voice_id": "v-q", "note": None},
            {"vendor": "tencent_vrs", "voice_id": "v-t", "note": "tencent_vrs has no API to delete a voice"},
        ],
    }
    api.on("POST", "/v1/comparisons/cmp-1/keep", kept)
    code, out, _ = run(capsys, "compare", "keep", "cmp-1", "huawei", "--yes")
    assert code == 0
    assert json.loads(api.sent("POST", "/v1/comparisons/cmp-1/keep")[0].content) == {"vendor": "huawei"}
    assert "kept huawei's voice v-h" in out and "deleted qiniu's voice v-q" in out
    assert "no API to delete" in next(line for line in out.splitlines() if "tencent_vrs" in line)
