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


def test_status_json_is_the_comparison(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    api.on("GET", "/v1/comparisons/cmp-1", comparison("TRAINING", RUNNING))
    code, out, _ = run(capsys, "compare", "status", "cmp-1", "--json")
    assert code == 0 and json.loads(out)["vendors"][0]["vendor"] == "qiniu"
