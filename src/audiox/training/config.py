"""Training configs: frozen dataclasses read strictly from JSON, with dotted `--set key=value` overrides.

`TrainConfig` drives `audiox train` (diffusion training / fine-tuning), `VaeTrainConfig` drives
`audiox train-vae`. A JSON file holds any subset of the fields (the rest keep their defaults); unknown
fields are a ConfigError naming the dotted path. Overrides (`optimizer.lr=1e-4`, `strategy=ddp`,
`masking.video_ratio=0.5`) are applied to the dict form and then parsed strictly again, so they are
type-checked exactly like the file: a value is read as JSON (`3`, `1e-4`, `true`, `[0.9, 0.99]`,
`null`) unless the field is a string field, where the raw text is taken.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from audiox.config.parse import config_to_dict, parse_section, read_json
from audiox.errors import ConfigError
from audiox.training.ema import EmaConfig
from audiox.training.masking import InputMaskingConfig
from audiox.training.schedules import AdamWConfig, InverseLRConfig, OptimizerPreset

T = TypeVar("T")

STRATEGIES = ("auto", "ddp", "fsdp", "deepspeed")


@dataclass(frozen=True, kw_only=True, slots=True)
class DataSection:
    """How training windows are cut from the manifest (sizes come from the model config)."""

    random_crop: bool = True
    random_sign_flip: bool = True
    load_video: bool = True
    manifest_root: str | None = None
    num_workers: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class DemoSection:
    """Demo generation at intervals: `num_demos` samples of the first training items' (unmasked) conditions."""

    every_n_steps: int = 0  # 0: no demos
    num_demos: int = 2
    steps: int = 8
    cfg_scale: float = 1.0
    sampler: str | None = None  # None: the objective's default (euler-type solvers are the cheapest)
    use_ema: bool = True


@dataclass(frozen=True, kw_only=True, slots=True)
class RunSection:
    """Engine settings shared by diffusion and VAE training."""

    batch_size: int = 2
    accumulate_grad_batches: int = 1
    precision: str = "auto"  # auto: bf16-mixed on GPU, 32-true on CPU; or any Lightning precision string
    strategy: Literal["auto", "ddp", "fsdp", "deepspeed"] = "auto"
    accelerator: str = "auto"
    devices: int = 1
    num_nodes: int = 1
    max_steps: int = 1000
    gradient_clip_val: float | None = None
    checkpoint_every_n_steps: int = 500
    export_every_n_steps: int = 0  # 0: export a model folder only at the end of training
    log_every_n_steps: int = 10
    seed: int = 0
    progress_bar: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class LoraSection:
    """LoRA fine-tuning (`audiox train --lora RANK`): rank 0 trains the model itself; rank > 0 trains only
    low-rank adapters on the backbone's nn.Linear layers matching `targets` (globs or words; empty: all)
    and exports only them (`audiox.backbone.lora`). alpha None: alpha = rank (scaling 1)."""

    rank: int = 0
    alpha: float | None = None
    targets: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class TrainConfig:
    """Diffusion training. Defaults: the AudioX preset (AdamW 1e-5 / wd 1e-3, InverseLR warmup 0.99,
    EMA 0.9999, cfg dropout 0.1, input masking video 0.6 / text 0.2 / audio 0.6, uniform t)."""

    run: RunSection = field(default_factory=RunSection)
    optimizer: AdamWConfig = field(default_factory=AdamWConfig)
    scheduler: InverseLRConfig = field(
        default_factory=lambda: InverseLRConfig(inv_gamma=1e6, power=0.5, warmup=0.99, final_lr=0.0)
    )
    use_ema: bool = True
    ema: EmaConfig = field(default_factory=EmaConfig)
    masking: InputMaskingConfig = field(default_factory=InputMaskingConfig)
    cfg_dropout_prob: float = 0.1
    timestep_sampler: Literal["uniform", "logit_normal"] = "uniform"
    # own options (no official trainer has them): the mean of the logit-normal t draw (> 0 draws more high
    # noise levels, where the condition decides the content) and the extra loss weight of latent frames
    # where the clean latent departs from the clip's quiet frames (`losses.event_frame_weights`; 0: plain MSE)
    timestep_mean: float = 0.0
    event_weight: float = 0.0
    mask_padding: bool = False
    data: DataSection = field(default_factory=DataSection)
    demo: DemoSection = field(default_factory=DemoSection)
    lora: LoraSection = field(default_factory=LoraSection)

    def __post_init__(self) -> None:
        if not self.event_weight >= 0:
            raise ConfigError(f"event_weight={self.event_weight!r} must be >= 0 (0: plain MSE)")
        if abs(self.timestep_mean) > 5:
            raise ConfigError(f"timestep_mean={self.timestep_mean!r} is outside [-5, 5]; 0 is the plain logit-normal")

    @property
    def optimizer_preset(self) -> OptimizerPreset:
        return OptimizerPreset(optimizer=self.optimizer, scheduler=self.scheduler)


@dataclass(frozen=True, kw_only=True, slots=True)
class StftLossSection:
    """Multi-resolution STFT loss: one (fft, hop, window) triple per resolution."""

    fft_sizes: tuple[int, ...] = (512, 256, 128)
    hop_sizes: tuple[int, ...] = (128, 64, 32)
    win_lengths: tuple[int, ...] = (512, 256, 128)


@dataclass(frozen=True, kw_only=True, slots=True)
class VaeTrainConfig:
    """VAE (Oobleck autoencoder) training: STFT reconstruction + KL + hinge adversarial + feature matching."""

    run: RunSection = field(default_factory=RunSection)
    generator_optimizer: AdamWConfig = field(
        default_factory=lambda: AdamWConfig(lr=1.5e-4, betas=(0.8, 0.99), weight_decay=1e-3)
    )
    discriminator_optimizer: AdamWConfig = field(
        default_factory=lambda: AdamWConfig(lr=3e-4, betas=(0.8, 0.99), weight_decay=1e-3)
    )
    stft: StftLossSection = field(default_factory=StftLossSection)
    stft_weight: float = 1.0
    kl_weight: float = 1e-4
    adversarial_weight: float = 0.1
    feature_matching_weight: float = 5.0
    adversarial_start_step: int = 0
    discriminator_scales: int = 3
    discriminator_channels: int = 16
    discriminator_layers: int = 3
    sample_size: int | None = None  # training window in samples; None: the model's sample_size
    data: DataSection = field(default_factory=DataSection)


def load_train_config(cls: type[T], path: str | Path | None, overrides: list[str] | tuple[str, ...] = ()) -> T:
    """Read `cls` from a JSON file (None: all defaults), then apply dotted overrides, strictly."""
    data: dict[str, Any] = {}
    source = "defaults"
    if path is not None:
        path = Path(path)
        data = read_json(path, missing_hint="pass a training config JSON file")
        source = path.name
    cfg = parse_section(cls, data, source=source)
    return apply_overrides(cfg, overrides) if overrides else cfg


def apply_overrides(cfg: T, overrides: list[str] | tuple[str, ...]) -> T:
    """`cfg` with each "a.b.c=value" applied; the result is parsed strictly (types checked)."""
    data = config_to_dict(cfg)
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. optimizer.lr=1e-4")
        field_type = _field_type(type(cfg), key.split("."), key)
        _assign(data, key.split("."), _parse_value(text, field_type))
    return parse_section(type(cfg), data, source="--set")


def _field_type(cls: type, parts: list[str], key: str) -> Any:
    """The annotated type of dotted field `parts` of dataclass `cls` (ConfigError if unknown)."""
    tp: Any = cls
    for i, part in enumerate(parts):
        if not dataclasses.is_dataclass(tp):
            raise ConfigError(f"--set {key}: {'.'.join(parts[:i])} is not a section")
        hints = typing.get_type_hints(tp)
        if part not in hints:
            known = ", ".join(f.name for f in dataclasses.fields(tp))
            raise ConfigError(f"--set {key}: unknown field {part!r} (known: {known})")
        tp = hints[part]
    if dataclasses.is_dataclass(tp):
        raise ConfigError(f"--set {key}: is a section; set one of its fields, e.g. {key}.<field>=...")
    return tp


def _is_string_field(tp: Any) -> bool:
    args = [a for a in typing.get_args(tp) if a is not type(None)] or [tp]
    if typing.get_origin(tp) is Literal:
        return all(isinstance(a, str) for a in typing.get_args(tp))
    return all(a is str or (typing.get_origin(a) is Literal and _is_string_field(a)) for a in args)


def _parse_value(text: str, tp: Any) -> Any:
    if _is_string_field(tp):
        return None if text == "null" else text
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text  # the strict parse reports the type mismatch with the dotted path


def _assign(data: dict[str, Any], parts: list[str], value: Any) -> None:
    node = data
    for part in parts[:-1]:
        node = node[part]
    node[parts[-1]] = value
