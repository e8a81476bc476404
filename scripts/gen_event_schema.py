"""Write docs/events.schema.json from the JobEvent model (a unit test fails when the file is stale)."""

from __future__ import annotations

from pathlib import Path

from voiceclone.domain.notifications import json_schema_text

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "docs" / "events.schema.json"

if __name__ == "__main__":
    SCHEMA_FILE.write_text(json_schema_text(), encoding="utf-8")
    print(f"wrote {SCHEMA_FILE}")
