"""The probe set: short texts, written for voiceclone, that show where cloned voices differ when they speak.

Each probe stresses one thing a vendor's text front end or voice model may get wrong: numbers read
as amounts, phone numbers or ordinals; dates and times; rare personal and place names; Chinese
characters with several readings (行, 长, 重, 乐), each in a context that needs one; Chinese with
English words in it; English alone; a question's and an exclamation's intonation. The set is
versioned (:data:`PROBE_SET_VERSION`): facts measured with one version are compared only with facts
of the same version, so a changed text never mixes with figures of the old one.

Which probes a voice gets is decided by the voice's language (voiceclone.domain.models.Language),
not by the vendor: a probe is only worth its vendor call where it can say something about that
voice. Polyphonic characters or Chinese dates say nothing about a voice cloned to speak another
language, and would be billed for nothing. A zh-CN voice gets the English sentence too: every
vendor here clones from Mandarin recordings and claims to read English, product names and mixed
text with the same voice, and how well it does is one of the differences worth hearing.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import ConfigDict, Field

from voiceclone.domain.base import BaseModel
from voiceclone.domain.models import Language

# Bumped whenever a probe's text changes, is added or removed.
PROBE_SET_VERSION = "2026-12-1"


class ProbeCategory(StrEnum):
    NUMBERS = "numbers"
    DATES_TIMES = "dates_times"
    NAMES = "names"
    POLYPHONES = "polyphones"
    MIXED = "mixed"
    ENGLISH = "english"
    QUESTION = "question"
    EXCLAMATION = "exclamation"


class Probe(BaseModel):
    """One text to speak: its id (stable across versions while the text stays), what it probes, for whom.

    ``text_languages``: the languages the text is written in (BCP 47 primary tags, "zh", "en");
    ``voices``: the voice languages it is spoken with (see the module's docstring).
    """

    model_config = ConfigDict(frozen=True, defer_build=True)

    id: str = Field(pattern=r"^[a-z0-9-]+$")
    category: ProbeCategory
    text: str = Field(min_length=1)
    text_languages: tuple[str, ...]
    voices: tuple[Language, ...]
    note: str


_ZH = (Language.ZH_CN,)

PROBES: tuple[Probe, ...] = (
    Probe(
        id="numbers-amount",
        category=ProbeCategory.NUMBERS,
        text="本月账单共计12,345.67元，比上月多出3.5%。",
        text_languages=("zh",),
        voices=_ZH,
        note="an amount with a thousands separator and decimals, read as money; a percentage",
    ),
    Probe(
        id="numbers-phone",
        category=ProbeCategory.NUMBERS,
        text="如有疑问，请拨打客服电话400-820-1234，或者13901234567。",
        text_languages=("zh",),
        voices=_ZH,
        note="phone numbers, read digit by digit (1 as yāo), not as quantities",
    ),
    Probe(
        id="numbers-ordinal",
        category=ProbeCategory.NUMBERS,
        text="他在第3轮比赛中排名第21位，是本届第1个上场的新人。",
        text_languages=("zh",),
        voices=_ZH,
        note="ordinals with 第 and a counting classifier (个), read as numbers, not digits",
    ),
    Probe(
        id="dates-times",
        category=ProbeCategory.DATES_TIMES,
        text="会议定于2025年3月8日下午2:30开始，预计17:45结束。",
        text_languages=("zh",),
        voices=_ZH,
        note="a year read digit by digit, a month and a day, clock times in 12- and 24-hour form",
    ),
    Probe(
        id="names",
        category=ProbeCategory.NAMES,
        text="欧阳娜娜和单于先生从乐清出发，途经蚌埠，抵达六安。",
        text_languages=("zh",),
        voices=_ZH,
        note="a compound surname, 单于 (Chányú), and place names with rare readings: "
        "乐清 (Yuèqīng), 蚌埠 (Bèngbù), 六安 (Lù'ān)",
    ),
    Probe(
        id="polyphone-xing",
        category=ProbeCategory.POLYPHONES,
        text="银行行长说，这一行的人做事都很行。",
        text_languages=("zh",),
        voices=_ZH,
        note="行 read háng (银行, 行长, 这一行) and xíng (很行)",
    ),
    Probe(
        id="polyphone-chang-zhong",
        category=ProbeCategory.POLYPHONES,
        text="队长说这根绳子太长，要重新量一下重量。",
        text_languages=("zh",),
        voices=_ZH,
        note="长 read zhǎng (队长) and cháng (太长); 重 read chóng (重新) and zhòng (重量)",
    ),
    Probe(
        id="polyphone-le-yue",
        category=ProbeCategory.POLYPHONES,
        text="音乐老师快乐地说，这首乐曲让大家都很快乐。",
        text_languages=("zh",),
        voices=_ZH,
        note="乐 read yuè (音乐, 乐曲) and lè (快乐)",
    ),
    Probe(
        id="mixed-zh-en",
        category=ProbeCategory.MIXED,
        text="我们用iPhone录了一段demo，上传到GitHub以后，再发邮件请Alice确认。",
        text_languages=("zh", "en"),
        voices=_ZH,
        note="English product names and words inside Chinese, read in English by the same voice",
    ),
    Probe(
        id="english",
        category=ProbeCategory.ENGLISH,
        text="Please confirm your appointment for Tuesday at nine thirty.",
        text_languages=("en",),
        voices=_ZH,
        note="a whole English sentence spoken by a voice cloned from Mandarin recordings",
    ),
    Probe(
        id="question",
        category=ProbeCategory.QUESTION,
        text="你明天下午有空吗？我们可以一起去看看那套房子吗？",
        text_languages=("zh",),
        voices=_ZH,
        note="two yes-or-no questions: the rising end a question needs",
    ),
    Probe(
        id="exclamation",
        category=ProbeCategory.EXCLAMATION,
        text="太棒了！我们终于成功了！",
        text_languages=("zh",),
        voices=_ZH,
        note="exclamations: emphasis and energy, not a flat statement",
    ),
)


def probes_for(language: Language) -> tuple[Probe, ...]:
    """The probes a voice of ``language`` speaks, in the set's order."""
    return tuple(p for p in PROBES if language in p.voices)
