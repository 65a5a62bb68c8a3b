"""audiox: a faithful, fast implementation of AudioX (text/video/audio -> sound effects and music)."""

from audiox.config.parse import load_config
from audiox.errors import AudioXError, CheckpointError, ConfigError, InputError, MediaError

__version__ = "0.1.0"

__all__ = [
    "AudioXError",
    "CheckpointError",
    "ConfigError",
    "InputError",
    "MediaError",
    "__version__",
    "load_config",
]
