"""Why a file could not be labelled: one error class, with a code the caller maps to its answer."""

from __future__ import annotations

from voiceclone.domain.errors import VoicecloneError


class LabelError(VoicecloneError):
    """The audio cannot carry the labels the policy asks for (unsupported encoding, PCM refused...).

    Raised before anything is handed out: a speech path that gets one must not deliver the
    audio unlabelled. Codes: ``UnsupportedAudio`` (the bytes are not audio this package can
    label), ``PcmNotLabelled`` (raw PCM where the policy refuses it), ``NoRhythmFrames`` (an
    MP3 rate or channel count with no pre-encoded explicit label), ``NotConfigured`` (no
    content producer or signing certificate configured), ``SigningFailed`` (C2PA refused).
    """
