"""audiox: a faithful, fast implementation of AudioX (text/video/audio -> sound effects and music).

    from audiox import AudioX
    pipe = AudioX.from_pretrained("AudioX/")
    out = pipe.generate("a dog barks twice", duration_s=5)
"""

from audiox.config.parse import load_config
from audiox.errors import AudioXError, CheckpointError, ConfigError, InputError, MediaError

__version__ = "0.1.0"

__all__ = [
    "AudioOutput",
    "AudioX",
    "AudioXError",
    "CheckpointError",
    "ConfigError",
    "GenerationRequest",
    "InputError",
    "MediaError",
    "__version__",
    "load_config",
]


def __getattr__(name: str):
    """The pipeline (torch, transformers) is imported on first use, so `import audiox` stays light."""
    if name in ("AudioX", "AudioOutput", "GenerationRequest"):
        from audiox import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'audiox' has no attribute {name!r}")
