"""Fast, exact loading: build a model on the `meta` device, assign the checkpoint's tensors, recompute the rest.

A full-size official model has 2.7 B parameters; building it on the CPU first fills ~11 GB with random
numbers that the checkpoint then overwrites. Here the module is built on `meta` (no storage), the strict
loader assigns the file's tensors (`checkpoints.load.load_into`, assign semantics), and what no file holds
is recomputed on the CPU: the non-persistent buffers (today only the CLIP `position_ids` of the vision tower).

A module that owns a non-persistent buffer is materialised by, in order:
1. its own `reset_buffers()` method (the hook for our modules: re-register every non-persistent buffer with
   its correct value on `device`; signature `reset_buffers(self, device: torch.device) -> None`);
2. an entry in `BUFFER_RECIPES` (for third-party classes: transformers' CLIP embeddings).
Anything else is a `CheckpointError` raised before a single tensor is read into the model, and the result is
checked once more: no parameter, buffer or tensor attribute may stay on `meta`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
from torch import Tensor, nn
from transformers.models.clip.modeling_clip import CLIPTextEmbeddings, CLIPVisionEmbeddings

from audiox.checkpoints.load import StateDict, load_into
from audiox.errors import CheckpointError

SHOWN = 5  # names listed in an error

# module -> {buffer name: value}, values on the CPU
BufferRecipe = Callable[[nn.Module], dict[str, Tensor]]


def _clip_vision_position_ids(module: nn.Module) -> dict[str, Tensor]:
    """(1, num_positions) = arange, an expanded view, exactly as CLIPVisionEmbeddings builds it."""
    return {"position_ids": torch.arange(module.num_positions).expand((1, -1))}


def _clip_text_position_ids(module: nn.Module) -> dict[str, Tensor]:
    """(1, max_position_embeddings) = arange, as CLIPTextEmbeddings builds it."""
    return {"position_ids": torch.arange(module.position_embedding.num_embeddings).expand((1, -1))}


BUFFER_RECIPES: dict[type[nn.Module], BufferRecipe] = {
    CLIPVisionEmbeddings: _clip_vision_position_ids,
    CLIPTextEmbeddings: _clip_text_position_ids,
}


def build_on_meta(build: Callable[[], nn.Module]) -> nn.Module:
    """Call `build()` with `meta` as the default device: every parameter and buffer it creates has a shape
    and a dtype but no storage (and no random init). Modules passed into `build` from outside (e.g. a loaded
    T5) keep their device."""
    with torch.device("meta"):
        return build()


def build_then_load(
    build: Callable[[], nn.Module], state_dict: StateDict, *, config_name: str, source: str
) -> nn.Module:
    """Build on `meta`, strictly load `state_dict` (keys already in the module's naming) by assignment, then
    recompute the non-persistent buffers. Same module, same values as `build()` + `load_into`, without the
    random init. Raises `CheckpointError` on any key/shape mismatch or if a tensor would stay uninitialised."""
    module = build_on_meta(build)
    return load_and_materialize(module, state_dict, config_name=config_name, source=source)


def load_and_materialize(module: nn.Module, state_dict: StateDict, *, config_name: str, source: str) -> nn.Module:
    """The second half of `build_then_load`, for callers that need the meta module to finish the state dict
    (e.g. to know which VAE copies it has). A module not on `meta` is simply loaded strictly."""
    owners = list(_buffer_owners(module))
    unknown = [name for name, owner, _ in owners if not _can_materialize(owner)]
    if unknown:
        raise CheckpointError(
            f"{source}: cannot rebuild the non-persistent buffers of {', '.join(unknown[:SHOWN])} for config "
            f"{config_name}; give the module a reset_buffers(device) method or a BUFFER_RECIPES entry"
        )
    load_into(module, state_dict, config_name=config_name, source=source)
    device = _loaded_device(state_dict)
    for _, owner, names in owners:
        _materialize_buffers(owner, names, device)
    check_no_meta(module, config_name=config_name, source=source)
    return module


def check_no_meta(module: nn.Module, *, config_name: str, source: str) -> None:
    """Raise `CheckpointError` naming the tensors of `module` still on `meta` (parameters, buffers and plain
    tensor attributes)."""
    left = [name for name, tensor in _all_tensors(module) if tensor.is_meta]
    if left:
        raise CheckpointError(
            f"{source}: {len(left)} tensors stay uninitialised (on meta) after loading into config {config_name} "
            f"(first {SHOWN}: {', '.join(left[:SHOWN])}); the model builds a tensor no checkpoint holds"
        )


def _buffer_owners(module: nn.Module) -> Iterator[tuple[str, nn.Module, list[str]]]:
    """(qualified module name, module, names of its non-persistent buffers still on meta)."""
    for prefix, owner in module.named_modules():
        names = sorted(
            n for n in owner._non_persistent_buffers_set if owner._buffers.get(n) is not None and owner._buffers[n].is_meta
        )
        if names:
            yield prefix or type(module).__name__, owner, names


def _can_materialize(owner: nn.Module) -> bool:
    return callable(getattr(owner, "reset_buffers", None)) or type(owner) in BUFFER_RECIPES


def _materialize_buffers(owner: nn.Module, names: list[str], device: torch.device) -> None:
    """Recompute `names` of `owner` on `device` (its hook first, else its recipe)."""
    if callable(getattr(owner, "reset_buffers", None)):
        owner.reset_buffers(device)
        return
    values = BUFFER_RECIPES[type(owner)](owner)
    for name in names:
        expected = owner._buffers[name]
        value = values[name]
        if value.shape != expected.shape or value.dtype != expected.dtype:
            raise CheckpointError(
                f"{type(owner).__name__}.{name}: recomputed {list(value.shape)} {value.dtype} but the module "
                f"built {list(expected.shape)} {expected.dtype}; the buffer recipe is out of date"
            )
        owner._buffers[name] = value.to(device)  # keeps the name in the non-persistent set


def _loaded_device(state_dict: StateDict) -> torch.device:
    """Where the file's tensors live (the CPU for every reader here)."""
    return next((v.device for v in state_dict.values() if not v.is_meta), torch.device("cpu"))


def _all_tensors(module: nn.Module) -> Iterator[tuple[str, Tensor]]:
    """Every parameter, buffer and plain tensor attribute of every submodule, with its qualified name."""
    for prefix, sub in module.named_modules(remove_duplicate=False):
        dot = f"{prefix}." if prefix else ""
        for name, param in sub._parameters.items():
            if param is not None:
                yield dot + name, param
        for name, buffer in sub._buffers.items():
            if buffer is not None:
                yield dot + name, buffer
        for name, value in vars(sub).items():
            if isinstance(value, Tensor):
                yield dot + name, value
