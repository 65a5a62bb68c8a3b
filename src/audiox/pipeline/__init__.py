"""Generation pipeline: `AudioX(model)(GenerationRequest(...))` or `AudioX.from_pretrained(dir).generate(...)`.

`GenerationRequest` is light; `AudioX` (torch, transformers) is imported on first use, so the CLI can check
a request before paying for the model stack.
"""

from audiox.pipeline.request import GenerationRequest

__all__ = ["AudioOutput", "AudioX", "Defaults", "GenerationRequest"]


def __getattr__(name: str):
    if name in ("AudioOutput", "AudioX", "Defaults"):
        from audiox.pipeline import core

        return getattr(core, name)
    raise AttributeError(f"module 'audiox.pipeline' has no attribute {name!r}")
