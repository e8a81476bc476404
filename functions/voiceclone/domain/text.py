"""What a voice can read: the one rule for text sent to a vendor's speech synthesis.

A text is **readable** when, once markup-like tags (``<...>``) are taken out, at least one
character is a letter or a digit of any script (``str.isalnum``: Unicode categories L and N,
so ``你``, ``é``, ``٣`` and ``½`` count). Everything else says nothing a vendor can speak:
white space, punctuation of any script (``。。。！``, ``...``, ``-``), symbols and emoji
(``😀``), invisible format characters (``\\u200b``, ``\\ufeff``, bidi marks) and control
characters. The vendors differ in what they do with such text (Tencent VRS and Volcengine
refuse it with their own codes; the Tencent gateway and Huawei make a fraction of a second of
noise and bill it): voiceclone refuses it before any vendor is called, with a 422, and counts
nothing.

Markup is taken out because no vendor reads a tag aloud (``<speak></speak>`` is nothing to
say, ``<b>hello</b>`` is "hello"); a ``<`` without a closing ``>`` is not a tag and stays.
"""

from __future__ import annotations

import re

# A markup-like tag: from "<" to the next ">", with no "<" or ">" inside.
MARKUP_TAG = re.compile(r"<[^<>]*>")

UNREADABLE_MESSAGE = (
    "the text has nothing a voice can read: it needs at least one letter or digit outside markup tags "
    "(white space, punctuation, emoji, invisible and control characters are not read)"
)


def without_markup(text: str) -> str:
    """The text with markup-like tags taken out."""
    return MARKUP_TAG.sub("", text)


def readable(text: str) -> bool:
    """Whether a vendor has something to read in ``text`` (the module's rule)."""
    return any(ch.isalnum() for ch in without_markup(text))
