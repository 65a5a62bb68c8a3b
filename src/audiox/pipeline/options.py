"""A model folder's `audiox.json` (our build options and sampler defaults), read strictly: a malformed file,
an unknown field or a value of the wrong type is a one-line ConfigError naming the file and the field.

Fields (all optional): `vision_config` (CLIPVisionConfig fields), `temporal_sizes` (temporal_depth,
temporal_heads, temporal_dim_head, temporal_mlp_dim), `text_encoder_dtype` (float32 / float16 / bfloat16),
`synchformer` (Synchformer keyword sizes), `generation_defaults` (sampler, steps, cfg_scale[, sigma_min,
sigma_max]).
"""

from __future__ import annotations

import json
import math
import numbers
from pathlib import Path
from typing import Any

from audiox.errors import ConfigError

DTYPE_NAMES = ("float32", "float16", "bfloat16")
TEMPORAL_FIELDS = ("temporal_depth", "temporal_heads", "temporal_dim_head", "temporal_mlp_dim")
SYNCHFORMER_INT_FIELDS = ("image_size", "patch_size", "tubelet_size", "temporal_resolution", "in_channels", "dim",
                          "depth", "num_heads")
DEFAULTS_FIELDS = {"sampler": str, "steps": int, "cfg_scale": float, "sigma_min": float, "sigma_max": float}
VISION_SIZE_FIELDS = ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                      "patch_size", "image_size", "projection_dim", "num_channels")


def read_options(path: Path | None) -> dict[str, Any]:
    """The checked content of `audiox.json` at `path` ({} for None or no file)."""
    if path is None or not path.is_file():
        return {}
    try:
        options = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; save it as UTF-8 JSON") from None
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path}: not valid JSON ({e}); fix the file") from None
    _need_object(path, "<root>", options)
    checks = {"vision_config": _vision, "temporal_sizes": _temporal, "text_encoder_dtype": _dtype,
              "synchformer": _synchformer, "generation_defaults": _defaults}
    for key, value in options.items():
        if key not in checks:
            raise ConfigError(f"{path}: {key}: unknown field; known fields: {', '.join(checks)}")
        checks[key](path, key, value)
    return options


def _fail(path: Path, field: str, what: str) -> ConfigError:
    return ConfigError(f"{path}: {field}: {what}")


def _need_object(path: Path, field: str, value) -> None:
    if not isinstance(value, dict):
        raise _fail(path, field, f"expected a JSON object, got {type(value).__name__}")


def _positive_int(path: Path, field: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _fail(path, field, f"expected a positive integer, got {value!r}")


def _known(path: Path, field: str, value: dict, allowed) -> None:
    _need_object(path, field, value)
    for key in value:
        if key not in allowed:
            raise _fail(path, f"{field}.{key}", "unknown field")


def _vision(path: Path, field: str, value) -> None:
    from transformers import CLIPVisionConfig

    _known(path, field, value, set(CLIPVisionConfig().to_dict()) | {"transformers_version"})
    for key in VISION_SIZE_FIELDS:
        if key in value:
            _positive_int(path, f"{field}.{key}", value[key])


def _temporal(path: Path, field: str, value) -> None:
    _known(path, field, value, TEMPORAL_FIELDS)
    for key, size in value.items():
        _positive_int(path, f"{field}.{key}", size)


def _dtype(path: Path, field: str, value) -> None:
    if value not in DTYPE_NAMES:
        raise _fail(path, field, f"{value!r} is not one of {', '.join(DTYPE_NAMES)}")


def _synchformer(path: Path, field: str, value) -> None:
    _known(path, field, value, (*SYNCHFORMER_INT_FIELDS, "mlp_ratio", "qkv_bias"))
    for key, size in value.items():
        if key in SYNCHFORMER_INT_FIELDS:
            _positive_int(path, f"{field}.{key}", size)


def _defaults(path: Path, field: str, value) -> None:
    _known(path, field, value, DEFAULTS_FIELDS)
    for key in ("sampler", "steps", "cfg_scale"):
        if key not in value:
            raise _fail(path, f"{field}.{key}", "missing (sampler, steps and cfg_scale are required)")
    for key, item in value.items():
        kind, name = DEFAULTS_FIELDS[key], f"{field}.{key}"
        if kind is str and not isinstance(item, str):
            raise _fail(path, name, f"expected a sampler name, got {item!r}")
        if kind is int:
            _positive_int(path, name, item)
        if kind is float and (isinstance(item, bool) or not isinstance(item, numbers.Real)
                              or not math.isfinite(item) or item < 0):
            raise _fail(path, name, f"expected a finite number >= 0, got {item!r}")
