"""Encode the explicit label's rhythm as MP3 frames for every rate and channel count the vendors speak.

The api function puts these frames in front of a vendor's MP3 speech (voiceclone.provenance.rhythm)
without decoding or encoding anything at run time: it carries no FFmpeg. This script makes them at
development time with PyAV (FFmpeg's libmp3lame), from the same samples the WAV and PCM labels use,
and keeps only the audio frames (no ID3 tag, no Xing/Info frame): the package writes its own Xing
frame when it joins them to the speech; a stream of MP3 starts with them too. Rates come from the
vendors' declared ``speech_sample_rates`` and ``speech_stream_sample_rates`` (where they speak MP3);
channel counts are 1 and 2. Run ``make rhythm`` after a vendor gains a rate.

``PYTHONPATH=functions:local .venv/bin/python scripts/make_rhythm_mp3.py [--check]``; --check
exits non-zero when a file is missing or differs from what would be written.
"""

from __future__ import annotations

import argparse
import io
import sys

import av
from voiceclone.provenance import mpeg, rhythm
from voiceclone.vendors.base import Capabilities
from voiceclone.vendors.registry import capabilities, vendor_ids

CHANNELS = (1, 2)
# Constant bit rates: a pure tone needs little, and 32 kbit/s exists at every MPEG-2/2.5 rate (and 64
# for two channels at MPEG-1's); the Xing frame written at run time has room in a frame of either.
BIT_RATES = {1: 32000, 2: 64000}


def vendor_mp3_rates() -> list[int]:
    rates = {
        rate
        for vendor in vendor_ids()
        for formats, vendor_rates in _speech_rates(capabilities(vendor))
        if "mp3" in formats
        for rate in vendor_rates
    }
    return sorted(rates)


def _speech_rates(caps: Capabilities) -> list[tuple[tuple[str, ...], tuple[int, ...]]]:
    """(formats, rates) of a vendor's whole files and of its stream (whose MP3 starts with the frames too)."""
    return [
        (tuple(caps.speech_formats), caps.speech_sample_rates),
        (tuple(caps.speech_stream_formats), caps.speech_stream_sample_rates),
    ]


def encode(sample_rate: int, channels: int) -> bytes:
    """The label's samples through libmp3lame, then stripped to its audio frames."""
    pcm = rhythm.label_pcm(sample_rate, 2, channels)
    layout = "mono" if channels == 1 else "stereo"
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp3") as container:
        stream = container.add_stream("libmp3lame", rate=sample_rate, layout=layout)
        assert isinstance(stream, av.AudioStream)
        stream.bit_rate = BIT_RATES[channels]
        frame = av.AudioFrame(format="s16", layout=layout, samples=len(pcm) // (2 * channels))
        frame.planes[0].update(pcm)
        frame.sample_rate = sample_rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    data = buffer.getvalue()
    frames = mpeg.audio_frames(data)
    if mpeg.is_info_frame(data, frames[0]):
        frames = frames[1:]
    return b"".join(data[f.offset : f.offset + f.length] for f in frames)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare with the committed files")
    args = parser.parse_args()
    rhythm.ASSETS.mkdir(parents=True, exist_ok=True)
    stale = []
    for rate in vendor_mp3_rates():
        for channels in CHANNELS:
            path = rhythm.asset_path(rate, channels)
            frames = encode(rate, channels)
            if args.check:
                if not path.is_file() or path.read_bytes() != frames:
                    stale.append(path.name)
                continue
            path.write_bytes(frames)
            print(f"{path.relative_to(rhythm.ASSETS.parent.parent.parent.parent)}: {len(frames)} bytes")
    if stale:
        print(f"out of date: {', '.join(stale)} (run make rhythm)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
