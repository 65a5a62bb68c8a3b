"""Named configs: the official full-size ones (shipped as JSON beside this file) and small ones for tests."""

from __future__ import annotations

from pathlib import Path

from audiox.errors import ConfigError

OFFICIAL_DIR = Path(__file__).parent / "official"

# name -> what it is; the JSON is the official config.json (v1 reconstructed, see its file)
OFFICIAL_CONFIGS = {
    "audiox_turbo_infer_4step": "AudioX-Turbo / AudioX-Base: MMDiT + MAF, rectified flow (configs/audiox_turbo_infer_4step.json)",
    "audiox_v1": "original AudioX: DiT, v objective (reconstructed config.json)",
}


def official_config_path(name: str) -> Path:
    """Path of a shipped official config by name (see OFFICIAL_CONFIGS)."""
    if name not in OFFICIAL_CONFIGS:
        known = ", ".join(OFFICIAL_CONFIGS)
        raise ConfigError(f"unknown official config {name!r}; known: {known}")
    return OFFICIAL_DIR / f"{name}.json"
