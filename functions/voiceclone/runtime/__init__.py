"""voiceclone's Lambda runtime: a Python bootstrap that can stream responses (docs/streaming-runtime.md)."""
