"""Audio file formats audiox writes, by suffix (a table without heavy imports, for the CLI's early checks)."""

from __future__ import annotations

WRITE_FORMATS = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG"}  # suffix -> soundfile format
