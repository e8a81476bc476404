"""How a vendor's error becomes a class of the taxonomy: the rules each adapter declares, one precedence.

An adapter declares :class:`ErrorRules` (codes, code prefixes, words and statuses per
kind) and nothing else about classification; :func:`classify` applies them, the same way
for every vendor. The first step below that speaks decides:

1. **The vendor's code**, where a rule names it: an exact code before a code prefix, a
   longer prefix before a shorter one (Huawei's ``APIGW.0308`` is throttling although
   ``APIGW.03…`` is authentication).
2. **The HTTP status**: the vendor's auth statuses (401 and 403 unless it says otherwise),
   429 (throttled), 5xx (unavailable).
3. **The vendor's words**: its code and message against each kind's pattern (for vendors
   whose codes are undocumented or too coarse).
4. Otherwise **rejected**: the request itself is wrong, retrying will not help.

Where two rules of one step match, the kind first in :data:`KINDS` wins: auth, throttled,
unavailable, rejected. Throttled and unavailable are retried by the workflow; auth and
rejected are final. The error keeps the vendor's code (``HTTP<status>`` when it sent
none), its message and its request id, 429 and 5xx included.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from voiceclone.domain.errors import (
    VendorAuthError,
    VendorError,
    VendorRejected,
    VendorThrottled,
    VendorUnavailable,
)

Kind = Literal["auth", "throttled", "unavailable", "rejected"]
# The precedence between kinds, where rules of the same step disagree.
KINDS: tuple[Kind, ...] = ("auth", "throttled", "unavailable", "rejected")
ERROR_CLASSES: dict[Kind, type[VendorError]] = {
    "auth": VendorAuthError,
    "throttled": VendorThrottled,
    "unavailable": VendorUnavailable,
    "rejected": VendorRejected,
}
# What an error says when neither the vendor nor its rules give a message.
DEFAULT_MESSAGES: dict[Kind, str] = {
    "auth": "the vendor refused the credentials: check the {vendor} settings",
    "throttled": "rate limited by the vendor",
    "unavailable": "the vendor could not answer (HTTP {status})",
    "rejected": "the vendor refused the request (HTTP {status})",
}


def codes(kind: Kind, *names: str | int) -> dict[str, Kind]:
    """``{code: kind}`` for several codes of one kind (numbers are taken as their decimal text)."""
    return {str(name): kind for name in names}


@dataclass(frozen=True)
class ErrorRules:
    """One vendor API's error table, as data.

    ``codes``/``prefixes`` map the vendor's codes (exactly, or by how they start) to a kind;
    ``words`` are patterns searched in ``"<code> <message>"``; ``auth_statuses`` are the HTTP
    statuses that mean bad credentials at this vendor (Qiniu's 403 is a paid slot, not auth).
    ``messages`` (by code, else by kind) stand in when the vendor sent no message;
    ``advice`` (by code) replaces the vendor's message with what to do, keeping the vendor's
    words in the error's ``vendor_message``.
    """

    codes: Mapping[str, Kind] = field(default_factory=dict)
    prefixes: Mapping[str, Kind] = field(default_factory=dict)
    words: Mapping[Kind, re.Pattern[str]] = field(default_factory=dict)
    auth_statuses: tuple[int, ...] = (401, 403)
    messages: Mapping[str, str] = field(default_factory=dict)
    advice: Mapping[str, str] = field(default_factory=dict)

    def kind(self, status: int, code: str, message: str) -> Kind:
        """The kind of an error, by the module's precedence."""
        if code in self.codes:
            return self.codes[code]
        matching = [p for p in self.prefixes if code.startswith(p)]
        if code and matching:
            longest = max(len(p) for p in matching)
            return _first([self.prefixes[p] for p in matching if len(p) == longest])
        if status in self.auth_statuses:
            return "auth"
        if status == 429:
            return "throttled"
        if status >= 500:
            return "unavailable"
        text = f"{code} {message}"
        found = [kind for kind, pattern in self.words.items() if pattern.search(text)]
        return _first(found) if found else "rejected"


def _first(kinds: list[Kind]) -> Kind:
    return min(kinds, key=KINDS.index)


def classify(
    vendor_id: str,
    rules: ErrorRules,
    *,
    status: int,
    code: str = "",
    message: str = "",
    raw_text: str = "",
    request_id: str | None = None,
) -> VendorError:
    """The taxonomy error for what a vendor answered, keeping its code, message and request id.

    ``raw_text`` is the body when it was not the vendor's format (an HTML error page): it
    becomes the message when the vendor's envelope gave none.
    """
    kind = rules.kind(status, code, message)
    shown_code = code or f"HTTP{status}"
    details: dict[str, Any] = {"request_id": request_id} if request_id else {}
    advice = rules.advice.get(shown_code)
    if advice:
        if message:
            details["vendor_message"] = message
        text = advice
    else:
        text = (
            message
            or raw_text.strip()[:200]
            or rules.messages.get(shown_code)
            or rules.messages.get(kind)
            or DEFAULT_MESSAGES[kind].format(vendor=vendor_id, status=status)
        )
    return ERROR_CLASSES[kind](vendor_id, shown_code, text, **details)
