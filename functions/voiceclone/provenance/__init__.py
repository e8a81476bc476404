"""Labels on every generated audio file: the audible rhythm, the GB 45438 AIGC metadata, C2PA credentials.

Bytes and models in, bytes and models out: the speech paths call :func:`label_speech`, a
stream takes what it can carry ahead of its audio from :func:`stream_labels`, a checker calls
:func:`verify`. c2pa-python is bound lazily and runs only when signing or
verifying; nothing here imports PyAV. See docs/labels.md for what the law asks and why each
label looks as it does. The development CA (``voiceclone.provenance.devca``) is imported
on its own, by the local stack and the tests only.
"""

from voiceclone.provenance.aigc import AigcLabel, aigc_value, parse_aigc
from voiceclone.provenance.credentials import KmsSigner
from voiceclone.provenance.errors import LabelError
from voiceclone.provenance.models import AudioFormat, LabelPolicy, SpeechContext
from voiceclone.provenance.rhythm import RhythmDetection
from voiceclone.provenance.speech import AIGC_HEADER, AIGC_OBJECT_METADATA, LabelledSpeech, label_speech
from voiceclone.provenance.streaming import StreamLabels, stream_labels
from voiceclone.provenance.verify import Finding, ProvenanceReport, verify

__all__ = [
    "AIGC_HEADER",
    "AIGC_OBJECT_METADATA",
    "AigcLabel",
    "AudioFormat",
    "Finding",
    "KmsSigner",
    "LabelError",
    "LabelPolicy",
    "LabelledSpeech",
    "ProvenanceReport",
    "RhythmDetection",
    "SpeechContext",
    "StreamLabels",
    "aigc_value",
    "label_speech",
    "parse_aigc",
    "stream_labels",
    "verify",
]
