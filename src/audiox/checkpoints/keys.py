"""Official <-> internal state-dict key names: one declarative prefix map plus the known wrappers.

Official root keys (a `ConditionedDiffusionModelWrapper`): `model.model.*` (backbone),
`conditioner.conditioners.<id>.*`, `pretransform.model.*`, `maf_block.*`. Our `DiffusionModel` names them
`backbone.*`, `conditioner.conditioners.<id>.*`, `pretransform.*` (the pretransform keeps `.model`),
`maf_block.*`: only the backbone root is renamed.
Everything below a root is identical on both sides, so this prefix table is the whole rename.

`to_internal` also accepts what official files wrap around those keys: DDP / Turbo student prefixes,
Lightning training checkpoints (EMA weights preferred), the CLIP `position_ids` buffer, and the new
PyTorch weight-norm parametrization names. Both directions use the legacy `weight_g` / `weight_v`
names; `checkpoints.load` renames to the parametrized form when the module uses it.
"""

from __future__ import annotations

import torch

from audiox.errors import CheckpointError

# (official prefix, internal prefix); first match wins
PREFIX_MAP: tuple[tuple[str, str], ...] = (
    ("model.model.", "backbone."),
    ("conditioner.conditioners.", "conditioner.conditioners."),
    ("pretransform.", "pretransform."),
    ("maf_block.", "maf_block."),
)
OFFICIAL_ROOTS = tuple(official for official, _ in PREFIX_MAP)
INTERNAL_ROOTS = tuple(internal for _, internal in PREFIX_MAP)

# DDP / Turbo student wrappers, tried in order; stripped only when what remains is an official root
WRAPPER_PREFIXES = ("module.", "student.model.", "student.", "model.")

# Lightning diffusion training (`DiffusionCondTrainingWrapper`): `diffusion.` is the whole wrapper,
# `diffusion_ema.ema_model.` the EMA copy of its `model` (the DiT/MMDiT wrapper); EMA wins, like the export
LIGHTNING_ONLINE = "diffusion."
LIGHTNING_EMA = "diffusion_ema.ema_model."
LIGHTNING_BOOKKEEPING = ("diffusion_ema.initted", "diffusion_ema.step")
# DMD distillation checkpoints: only the student is an inference model
DMD_OTHER_PREFIXES = ("teacher.", "fake.", "discriminator_head.", "discriminator_heads.")

# present or absent depending on the transformers version that saved the file; never a weight
TOLERATED_SUFFIXES = (".embeddings.position_ids",)

# new-PyTorch weight-norm parametrization <-> legacy (official) names
WEIGHT_NORM_NAMES: tuple[tuple[str, str], ...] = (
    (".parametrizations.weight.original0", ".weight_g"),
    (".parametrizations.weight.original1", ".weight_v"),
)

StateDict = dict[str, torch.Tensor]


def is_tolerated(key: str) -> bool:
    """True for keys a file may or may not hold without it being a mismatch (CLIP `position_ids`)."""
    return ("." + key).endswith(TOLERATED_SUFFIXES)


def is_official_root(key: str) -> bool:
    """True when `key` starts at the root of an official model (not inside a wrapper)."""
    # `model.model.model.` is a wrapper around an official root, not the backbone itself
    return key.startswith(OFFICIAL_ROOTS) and not key.startswith("model.model.model.")


def strip_wrappers(key: str) -> str:
    """Remove DDP / Turbo wrapper prefixes when doing so reaches an official root; else `key` unchanged."""
    found = _strip_to_root(key, depth=3)
    return key if found is None else found


def _strip_to_root(key: str, *, depth: int) -> str | None:
    if is_official_root(key) or key.startswith(INTERNAL_ROOTS):
        return key
    if depth == 0:
        return None
    for prefix in WRAPPER_PREFIXES:  # depth-first, in table order: `student.model.` before `student.`
        if key.startswith(prefix):
            found = _strip_to_root(key[len(prefix) :], depth=depth - 1)
            if found is not None:
                return found
    return None


def select_training_weights(state_dict: StateDict) -> StateDict:
    """Reduce a Lightning / DMD training state dict to inference keys (official names).

    Diffusion training: `diffusion.*` minus its `model.*`, plus the EMA `model.*` when present. DMD:
    drops teacher / fake-score / discriminator weights when student weights are present.
    A state dict of another layout is returned unchanged.
    """
    keys = list(state_dict)
    if any(k.startswith("student.") for k in keys):
        state_dict = {k: v for k, v in state_dict.items() if not k.startswith(DMD_OTHER_PREFIXES)}
    has_ema = any(k.startswith(LIGHTNING_EMA) for k in keys)
    if not has_ema and not any(k.startswith(LIGHTNING_ONLINE) for k in keys):
        return dict(state_dict)
    out: StateDict = {}
    for key, value in state_dict.items():
        if key.startswith(LIGHTNING_EMA):
            out["model." + key[len(LIGHTNING_EMA) :]] = value
        elif key.startswith(LIGHTNING_ONLINE):
            rest = key[len(LIGHTNING_ONLINE) :]
            if not (has_ema and rest.startswith("model.")):
                out[rest] = value
        elif key not in LIGHTNING_BOOKKEEPING:
            out[key] = value
    return out


def legacy_weight_norm_name(key: str) -> str:
    """`x.parametrizations.weight.original0/1` -> `x.weight_g/_v`; other keys unchanged."""
    for parametrized, legacy in WEIGHT_NORM_NAMES:
        if key.endswith(parametrized):
            return key[: -len(parametrized)] + legacy
    return key


def parametrized_weight_norm_name(key: str) -> str:
    """`x.weight_g/_v` -> `x.parametrizations.weight.original0/1`; other keys unchanged."""
    for parametrized, legacy in WEIGHT_NORM_NAMES:
        if key.endswith(legacy):
            return key[: -len(legacy)] + parametrized
    return key


def official_to_internal_key(key: str) -> str:
    """One key: wrappers stripped, official root prefix -> internal, legacy weight-norm names."""
    key = legacy_weight_norm_name(strip_wrappers(key))
    for official, internal in PREFIX_MAP:
        if key.startswith(official):
            return internal + key[len(official) :]
    return key


def internal_to_official_key(key: str) -> str:
    """One key: internal root prefix -> official, legacy weight-norm names."""
    key = legacy_weight_norm_name(key)
    for official, internal in PREFIX_MAP:
        if key.startswith(internal):
            return official + key[len(internal) :]
    return key


def to_internal(state_dict: StateDict) -> StateDict:
    """Official (or wrapped / training / already internal) keys -> our `DiffusionModel` keys.

    Tolerated keys are dropped; unknown keys pass through unchanged (the strict loader reports them).
    Raises `CheckpointError` when two file keys land on the same name.
    """
    return _rename(select_training_weights(state_dict), official_to_internal_key, drop_tolerated=True)


def to_official(state_dict: StateDict) -> StateDict:
    """Our `DiffusionModel` keys -> official `ConditionedDiffusionModelWrapper` keys."""
    return _rename(state_dict, internal_to_official_key, drop_tolerated=False)


def _rename(state_dict: StateDict, rename, *, drop_tolerated: bool) -> StateDict:
    out: StateDict = {}
    origin: dict[str, str] = {}
    for key, value in state_dict.items():
        if drop_tolerated and is_tolerated(key):
            continue
        new = rename(key)
        if new in out:
            raise CheckpointError(
                f"file keys {origin[new]!r} and {key!r} both map to {new!r}; the file mixes two layouts, "
                "keep one of them"
            )
        out[new] = value
        origin[new] = key
    return out
