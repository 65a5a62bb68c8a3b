"""Generation pipeline: `AudioX(model)(GenerationRequest(...))` or `AudioX.from_pretrained(dir).generate(...)`."""

from audiox.pipeline.core import AudioOutput, AudioX, Defaults
from audiox.pipeline.request import GenerationRequest

__all__ = ["AudioOutput", "AudioX", "Defaults", "GenerationRequest"]
