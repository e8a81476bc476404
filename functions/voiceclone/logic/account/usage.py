"""What a tenant used per vendor over a period: characters synthesized, speech requests, voices cloned."""

from __future__ import annotations

from datetime import date

from voiceclone.domain.api_models import UsageView, VendorUsage
from voiceclone.domain.errors import InvalidRequest
from voiceclone.logic.core.services import Services

# The longest period one usage request covers.
MAX_USAGE_DAYS = 366


def usage(svc: Services, tenant_id: str, start: date | None, end: date | None, today: date) -> UsageView:
    """Characters synthesized and voices cloned per vendor, from `start` to `end` (default: this month)."""
    end = end or today
    start = start or end.replace(day=1)
    if start > end:
        raise InvalidRequest("InvalidPeriod", f"from ({start}) is after to ({end})")
    days = (end - start).days + 1  # both ends included
    if days > MAX_USAGE_DAYS:
        raise InvalidRequest(
            "PeriodTooLong",
            f"a usage period covers at most {MAX_USAGE_DAYS} days, both ends included; "
            f"{start} to {end} is {days}",
        )
    speech = svc.store.usage.speech(tenant_id, start, end)
    clones = svc.store.voices.clone_counts(tenant_id, start, end)
    vendors = [
        VendorUsage(
            vendor=v,
            characters=speech.get(v, (0, 0))[0],
            speech_requests=speech.get(v, (0, 0))[1],
            clones=clones.get(v, 0),
        )
        for v in sorted(set(speech) | set(clones))
    ]
    return UsageView(start=start, end=end, vendors=vendors)
