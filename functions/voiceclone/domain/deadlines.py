"""Deadlines that a step's work and its Lambda function's timeout are both made from (standard library only).

The handler table (voiceclone.handlers.table, loaded by every entry point) sets a function's timeout
from these, and the step bounds its own work by the same figure, so the two cannot drift apart.
"""

from __future__ import annotations

# Measuring one cloned voice (voiceclone.logic.comparisons.facts): every probe, async jobs polled
# included, within one Lambda invocation's 15 minutes.
MEASURE_VOICE_SECONDS = 600
# What the facts step does around the measurement: load the voice, keep each probe's audio, record
# the facts. The function's timeout is the measurement's deadline and this.
MEASURE_VOICE_MARGIN_SECONDS = 120
