"""Generated speech texts for property tests: text a voice cannot read, and text it can.

Unreadable text mixes what people paste and what a vendor has nothing to say for: white space of
every kind, punctuation of any script, symbols and emoji, invisible format characters, control
characters, and markup tags (whose letters are not read).
"""

from __future__ import annotations

from hypothesis import strategies as st

# Seen answered 502 by Tencent VRS and Volcengine, or billed for 0.2 s of noise by the others.
UNREADABLE_SAMPLES = (
    "😀😀",
    "\u200b\u200b",
    "。。。！",
    "...",
    "-",
    "<>",
    "\x00\x01\x1f\x7f",
    "<speak></speak>",
    "<break time='1s'/>",
    " \t\n\u3000",
    "\ufeff\u200e\u2066",
    "★☆♪",
    "¿¡",
)

_NOTHING_TO_READ = st.characters(
    categories=(
        "Zs",
        "Zl",
        "Zp",
        "Cc",
        "Cf",
        "Pc",
        "Pd",
        "Ps",
        "Pe",
        "Pi",
        "Pf",
        "Po",
        "Sm",
        "Sc",
        "Sk",
        "So",
    ),
    exclude_characters="<>",
    codec="utf-8",  # no lone surrogates: no Unicode text holds one (the API refuses them apart)
)
_TAG = st.builds(
    lambda inside: f"<{inside}>", st.text(st.characters(exclude_characters="<>", codec="utf-8"), max_size=12)
)


def unreadable_texts() -> st.SearchStrategy[str]:
    """Non-empty text with no letter or digit outside markup tags."""
    piece = st.one_of(
        st.text(_NOTHING_TO_READ, min_size=1, max_size=8), _TAG, st.sampled_from(UNREADABLE_SAMPLES)
    )
    return st.lists(piece, min_size=1, max_size=6).map("".join)


def readable_texts() -> st.SearchStrategy[str]:
    """Unreadable text with one word or number somewhere outside its tags."""
    word = st.sampled_from(["你好", "hello", "3", "Grüße", "٣", "½", "こんにちは"])
    return st.tuples(unreadable_texts(), word, unreadable_texts()).map(
        lambda parts: parts[0].replace("<", "").replace(">", "") + parts[1] + parts[2]
    )
