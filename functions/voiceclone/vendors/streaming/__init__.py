"""Streaming speech: the WebSocket mechanics once (``base``), one module per vendor protocol beside it.

Imported by an adapter's ``stream_synthesis`` when it runs, never at import: a function that
does not stream never loads the WebSocket client.
"""
