"""Training examples from the synthetic world, in exactly the format `audiox.training` consumes.

`SynthTrainingDataset` is a drop-in for `training.data.ManifestDataset`: items are the dicts of
`ManifestDataset.load_example` (audio (C, S), padding_mask (S,), text_prompt, video_prompt (F, 3, H, W)
float 0..255 | None, video_sync_frames None, audio_prompt (C, P), data_type, seconds_start,
seconds_total, path, sign_flipped) plus `task`; `collate` gives `collate_examples`' batch plus `task`
(list[str]); `cfg.seed`, `load_example(index, generator)`, `set_epoch` let `training.fit`'s
`ManifestDataModule` / `EpochItems` drive it unchanged.

Item `index` renders world item `index` (`synth.dataset.render_item`) at the model's rate, channels and
video grid, and trains one task, drawn once per (seed, index) among the tasks of the item's kind
(`TASKS`, weights `task_weights`). Each task is one official manifest type, so the audio prompt rule and
the default text are those of `training.manifest`:

  T2A  text_condition-audio          caption                       no video   silent prompt
  T2M  text_condition-music          caption                       no video   silent prompt
  V2A  video_condition-audio         default sentence              video      silent prompt
  V2M  video_condition-music         default sentence              video      silent prompt
  TV2A text+video_condition-audio    caption                       video      silent prompt
  TV2M text+video_condition-music    caption                       video      silent prompt
  I2A  video_condition-audio         default sentence              still x F  silent prompt
  INP  audio_condition-audio         caption                       no video   the same window ("same")
  CONT audio_condition-music         caption                       no video   the 10 s before ("previous")

INP (inpainting) trains with the target window as the prompt; the training step's input masking zeroes
spans of it (`training.masking`). CONT (continuation) renders the music item twice as long and
predicts its second window from the first. I2A images follow the pipeline's official image scaling
(values in [0, 1], `image_scaling="official"`) unless `image_scaling="pixels"`. The sign flip (p = 0.5,
target only, official quirk kept) is drawn from the item generator like `ManifestDataset`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from audiox.errors import ConfigError
from audiox.synth.dataset import SynthConfig, render_item, sample_labels
from audiox.synth.labels import MusicLabels
from audiox.synth.music import render_music
from audiox.training.data import collate_examples, item_seed
from audiox.training.manifest import AUDIO_PROMPT_RULES, default_text_prompt, target_kind


@dataclass(frozen=True, slots=True)
class TaskRule:
    """One training task: its manifest type, whether the caption is the text, and the video source."""

    data_type: str
    use_caption: bool
    video: str  # "none", "video" or "image"


TASKS: dict[str, TaskRule] = {
    "T2A": TaskRule("text_condition-audio", True, "none"),
    "T2M": TaskRule("text_condition-music", True, "none"),
    "V2A": TaskRule("video_condition-audio", False, "video"),
    "V2M": TaskRule("video_condition-music", False, "video"),
    "TV2A": TaskRule("text+video_condition-audio", True, "video"),
    "TV2M": TaskRule("text+video_condition-music", True, "video"),
    "I2A": TaskRule("video_condition-audio", False, "image"),
    "INP": TaskRule("audio_condition-audio", True, "none"),
    "CONT": TaskRule("audio_condition-music", True, "none"),
}
DEFAULT_TASK_WEIGHTS: dict[str, float] = {
    "T2A": 3.0, "T2M": 3.0, "V2A": 2.0, "V2M": 2.0, "TV2A": 2.0, "TV2M": 1.0, "I2A": 1.0, "INP": 1.0, "CONT": 2.0,
}
IMAGE_SCALINGS = ("official", "pixels")


@dataclass(frozen=True, kw_only=True, slots=True)
class SynthTrainingConfig:
    """The world (`world_seed`, `length`, `music_prob`), the model's grid, and the task mix.
    `seed` keys the task draw and the per-item generators (use the run seed)."""

    sample_rate: int
    channels: int
    video_fps: float
    video_size: int
    window_s: float = 10.0
    length: int = 100_000
    world_seed: int = 0
    music_prob: float = 0.3
    task_weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_TASK_WEIGHTS))
    random_sign_flip: bool = True
    image_scaling: str = "official"
    seed: int = 0

    def __post_init__(self) -> None:
        unknown = sorted(set(self.task_weights) - set(TASKS))
        if unknown:
            raise ConfigError(f"synth training data: unknown tasks {unknown}; known: {sorted(TASKS)}")
        if any(w < 0 for w in self.task_weights.values()):
            raise ConfigError(f"synth training data: task weights must be >= 0, got {dict(self.task_weights)}")
        kinds = [k for k, present in (("audio", self.music_prob < 1.0), ("music", self.music_prob > 0.0)) if present]
        for kind in kinds:
            if not _tasks_for(kind, self.task_weights)[0]:
                raise ConfigError(f"synth training data: no task with weight > 0 targets {kind}; add one")
        if self.image_scaling not in IMAGE_SCALINGS:
            raise ConfigError(f"synth training data: image_scaling={self.image_scaling!r}; use {IMAGE_SCALINGS}")
        if self.sample_rate <= 0 or self.channels <= 0 or self.video_fps <= 0 or self.video_size <= 0:
            raise ConfigError("synth training data: sample_rate, channels, video_fps and video_size must be > 0")

    @property
    def num_samples(self) -> int:
        return round(self.window_s * self.sample_rate)

    # what `training.encode_dataset` reads of a dataset's cfg: synthetic windows are never cropped
    random_crop = False

    @property
    def sample_size(self) -> int:
        return self.num_samples

    @property
    def prompt_samples(self) -> int:
        return self.num_samples

    @property
    def video_shape(self) -> tuple[int, int, int, int]:
        """(F, 3, H, W) of a video prompt."""
        return (round(self.window_s * self.video_fps), 3, self.video_size, self.video_size)

    def world(self, *, duration_factor: int = 1) -> SynthConfig:
        """The SynthConfig that renders items at this grid (`duration_factor` windows long)."""
        return SynthConfig(
            seed=self.world_seed, length=self.length, duration_s=self.window_s * duration_factor,
            sample_rate=self.sample_rate, channels=self.channels, music_prob=self.music_prob,
            video_fps=self.video_fps, video_height=self.video_size, video_width=self.video_size, with_image=True,
        )


def _tasks_for(kind: str, weights: Mapping[str, float]) -> tuple[list[str], np.ndarray]:
    names = [n for n, rule in TASKS.items() if target_kind(rule.data_type) == kind and weights.get(n, 0.0) > 0]
    w = np.array([weights[n] for n in names], dtype=np.float64)
    return names, (w / w.sum() if names else w)


def draw_task(cfg: SynthTrainingConfig, index: int, *, is_music: bool) -> str:
    """The task of item `index`: a pure function of (cfg.seed, index) and the item's kind."""
    names, probs = _tasks_for("music" if is_music else "audio", cfg.task_weights)
    rng = np.random.default_rng([cfg.seed, index, 7])
    return names[int(rng.choice(len(names), p=probs))]


class SynthTrainingDataset(Dataset):
    """Map-style synthetic training examples (see the module docstring)."""

    def __init__(self, cfg: SynthTrainingConfig) -> None:
        self.cfg = cfg
        self.epoch = 0

    def __len__(self) -> int:
        return self.cfg.length

    def set_epoch(self, epoch: int) -> None:
        """Change the sign flips drawn for every item (tasks and content stay)."""
        self.epoch = epoch

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} outside [0, {len(self)})")
        generator = torch.Generator().manual_seed(item_seed(self.cfg.seed, self.epoch, index))
        return self.load_example(index, generator)

    def task(self, index: int) -> str:
        """The task item `index` trains (cheap: only the labels are drawn)."""
        labels = sample_labels(self.cfg.world(), index)
        return draw_task(self.cfg, index, is_music=isinstance(labels, MusicLabels))

    def load_example(self, index: int, generator: torch.Generator) -> dict[str, Any]:
        """One example (keys of `ManifestDataset.load_example` plus "task")."""
        cfg = self.cfg
        item = render_item(cfg.world(), index)
        task = draw_task(cfg, index, is_music=isinstance(item["labels"], MusicLabels))
        rule = TASKS[task]
        source, seconds_start = _source_audio(cfg, item, task)  # (C, S_total), whole seconds
        start = round(seconds_start * cfg.sample_rate)
        audio = source[:, start : start + cfg.num_samples].clone()  # (C, S)
        flipped = cfg.random_sign_flip and bool(torch.rand((), generator=generator) < 0.5)
        prompt = _audio_prompt(cfg, source, AUDIO_PROMPT_RULES[rule.data_type], seconds_start)
        return {
            "audio": -audio if flipped else audio,
            "padding_mask": torch.ones(cfg.num_samples, dtype=torch.bool),
            "text_prompt": item["caption"] if rule.use_caption else default_text_prompt(rule.data_type),
            "video_prompt": _video_prompt(cfg, item, rule.video),
            "video_sync_frames": None,
            "audio_prompt": prompt,
            "data_type": rule.data_type,
            "seconds_start": seconds_start,
            "seconds_total": round(source.shape[1] / cfg.sample_rate),
            "path": f"synth://{cfg.world_seed}/{index}",
            "sign_flipped": flipped,
            "task": task,
        }

    def collate(self, examples: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """`collate_examples` (videos of items without one are zeros, `has_video` False) plus `task`."""
        batch = collate_examples(examples, video_shape=self.cfg.video_shape)
        batch["task"] = [e["task"] for e in examples]
        return batch


def _source_audio(cfg: SynthTrainingConfig, item: dict, task: str) -> tuple[torch.Tensor, int]:
    """(whole clamped source audio (C, S), start of the target in whole seconds). CONT renders the music
    clip two windows long and targets the second window."""
    if task != "CONT":
        return item["audio"].clamp(-1.0, 1.0), 0
    labels = dataclasses.replace(item["labels"], duration_s=2 * cfg.window_s)
    audio = torch.from_numpy(render_music(labels, sample_rate=cfg.sample_rate, channels=cfg.channels))
    return audio.clamp(-1.0, 1.0), round(cfg.window_s)


def _audio_prompt(cfg: SynthTrainingConfig, source: torch.Tensor, rule: str, seconds_start: int) -> torch.Tensor:
    """(C, P) prompt by the manifest rule: zeros, the target window, or the window before it."""
    if rule == "none":
        return source.new_zeros(source.shape[0], cfg.num_samples)
    start_s = seconds_start if rule == "same" else max(0.0, seconds_start - cfg.window_s)
    start = round(start_s * cfg.sample_rate)
    return source[:, start : start + cfg.num_samples].clone()


def _video_prompt(cfg: SynthTrainingConfig, item: dict, source: str) -> torch.Tensor | None:
    """(F, 3, H, W) float32: the video (0..255), the still repeated (official scaling: [0, 1]), or None."""
    frames = cfg.video_shape[0]
    if source == "none":
        return None
    if source == "video":
        video = item["video"][:frames].float()
        if video.shape[0] < frames:  # the world renders round(duration * fps) frames; pad defensively
            video = torch.cat([video, video[-1:].expand(frames - video.shape[0], -1, -1, -1)])
        return video
    still = item["image"].float() / (255.0 if cfg.image_scaling == "official" else 1.0)
    return still[None].expand(frames, -1, -1, -1).clone()


def synth_training_config(model: Any, **overrides: Any) -> SynthTrainingConfig:
    """A SynthTrainingConfig at `model`'s rate, channels and video grid (fps and CLIP image size of its
    video conditioner); `overrides` set any other field (seed, length, task_weights...)."""
    from audiox.conditioning.video_clip import ClipVideoBase

    mc = model.config
    fps, size = float(mc.video_fps), 224
    for conditioner in model.conditioner.conditioners.values() if model.conditioner is not None else ():
        if isinstance(conditioner, ClipVideoBase):
            fps = conditioner.num_frames / 10.0
            tower = conditioner.visual_encoder_model
            size = tower.config.image_size if tower is not None else size
    grid = {"sample_rate": mc.sample_rate, "channels": mc.audio_channels, "video_fps": fps, "video_size": size}
    return SynthTrainingConfig(**(grid | overrides))


def build_own_model(backbone: str = "dit", *, seed: int = 0, latent_scale: float = 1.0,
                    pooled_condition: bool = False, coherent_init: bool = False,
                    plan_slots: int = 0, plan_concrete: bool = False) -> tuple[Any, dict[str, Any]]:
    """A random-weight own model (`config.own_model`) with its own text encoder, and the `audiox.json`
    options of its folder. New weights come from `seed` (the global RNG is restored afterwards).
    MMDiT only: `pooled_condition` adds the pooled request path; `coherent_init` starts the token-axis
    projection readable (`backbone.mmdit.init_coherent_seq_projection`). `plan_slots` > 0: the caption
    planner (untrained: `synth.plan_pretraining`) with its timeline in the last `plan_slots` text slots, which
    the MMDiT's token-axis projection reads at the positions of the same time (`init_plan_slots`);
    `plan_concrete`: that timeline made concrete before use (`conditioning.plan_concrete`)."""
    from transformers import CLIPVisionConfig

    from audiox.conditioning.caption_tokenizer import own_text_encoder
    from audiox.config.own_model import OWN_SIZES, OWN_T5_SIZES, own_model_options, own_small_config
    from audiox.diffusion.model import DiffusionModel
    from audiox.synth.plan_pretraining import PLAN_CHANNELS

    options = own_model_options()
    text_encoder = own_text_encoder(**OWN_T5_SIZES, seed=seed, max_length=OWN_SIZES["text_max_length"])
    conditioner_options = {
        "vision_config": CLIPVisionConfig(**options["vision_config"]),
        "temporal_sizes": options["temporal_sizes"],
        "text_encoder_dtype": torch.float32,
    }
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)  # module constructors draw their initial weights from the global RNG
        config = own_small_config(backbone, latent_scale=latent_scale, pooled_condition=pooled_condition,
                                  plan_slots=plan_slots, plan_channels=PLAN_CHANNELS if plan_slots else 0,
                                  plan_concrete=plan_concrete)
        model = DiffusionModel(config, text_encoder=text_encoder, conditioner_options=conditioner_options)
    if coherent_init and backbone == "mmdit":
        from audiox.backbone.mmdit import init_coherent_seq_projection

        init_coherent_seq_projection(model.backbone.transformer)
    init_plan_slots(model)
    return model, options


def text_conditioner(model: Any) -> Any:
    """The model's `t5` conditioner."""
    from audiox.conditioning.text_t5 import T5TextConditioner

    return next(c for c in model.conditioner.conditioners.values() if isinstance(c, T5TextConditioner))


def init_plan_slots(model: Any) -> None:
    """MMDiT with a caption planner: point the token-axis projection's timeline columns at the latent
    positions of the same time (`backbone.mmdit.init_plan_projection`); else nothing. Run it after loading
    weights that lack the planner (`--init-from` an older folder)."""
    text = text_conditioner(model)
    if text.planner is None or model.config.model.diffusion.type != "mmdit":
        return
    from audiox.backbone.mmdit import init_plan_projection

    init_plan_projection(model.backbone.transformer, first_slot=text.plan_start, slots=text.planner.slots)


def copy_vae_encoder(model: Any) -> int:
    """Copy the main VAE's encoder into every audio conditioner's VAE copy (after VAE training; the
    copies' decoders never run). Returns the number of tensors copied."""
    source = model.pretransform.model.encoder.state_dict()
    copied = 0
    for conditioner in model.conditioner.conditioners.values():
        copy = getattr(conditioner, "pretransform", None)
        if copy is not None:
            copy.model.encoder.load_state_dict(source, strict=True)
            copied += len(source)
    return copied


def fit_synth(model: Any, cfg: Any, dataset: SynthTrainingDataset, out_dir: str, *, options: dict[str, Any],
              resume: str | None = None) -> Any:
    """`training.fit.train_diffusion` with a synthetic dataset instead of a manifest: same module,
    trainer, resumable data position, demos and export (out_dir/export/final). Needs the `train` extra."""
    from pathlib import Path

    from audiox.training.callbacks import DemoCallback, ExportCallback
    from audiox.training.fit import ManifestDataModule, TrainResult, build_trainer
    from audiox.training.lightning_module import DiffusionTrainingModule

    out = Path(out_dir)
    module = DiffusionTrainingModule(model, cfg)
    callbacks = [ExportCallback(out / "export", every_n_steps=cfg.run.export_every_n_steps, options=options)]
    if cfg.demo.every_n_steps > 0:
        demo_items = [dataset[i] for i in range(min(cfg.demo.num_demos, len(dataset)))]
        callbacks.append(DemoCallback(out / "demos", cfg.demo, dataset.collate(demo_items), cfg.run.seed))
    trainer = build_trainer(cfg.run, out, callbacks)
    datamodule = ManifestDataModule(dataset, cfg.run, num_workers=cfg.data.num_workers)
    trainer.fit(module, datamodule=datamodule, ckpt_path=resume)
    return TrainResult(trainer=trainer, module=module, out_dir=out)


def fit_synth_vae(model: Any, cfg: Any, dataset: SynthTrainingDataset, out_dir: str, *,
                  resume: str | None = None) -> Any:
    """`training.vae_train.train_vae` on a synthetic dataset (only `batch["audio"]` is used): trains
    `model.pretransform`, writes out_dir/vae.safetensors (Turbo `vae.ckpt` keys) and returns the trainer.
    Then `copy_vae_encoder(model)` fills the audio prompt's VAE copy. Needs the `train` extra."""
    from pathlib import Path

    from audiox.training.fit import ManifestDataModule, build_trainer
    from audiox.training.vae_train import VaeTrainingModule, save_vae

    if cfg.run.accumulate_grad_batches != 1:
        raise ConfigError("VAE training uses manual optimisation; set run.accumulate_grad_batches=1")
    out = Path(out_dir)
    module = VaeTrainingModule(model.pretransform, cfg)
    trainer = build_trainer(cfg.run, out)
    datamodule = ManifestDataModule(dataset, cfg.run, num_workers=cfg.data.num_workers, optimizer_steps_per_batch=2)
    trainer.fit(module, datamodule=datamodule, ckpt_path=resume)
    if trainer.is_global_zero:
        save_vae(model.pretransform, out / "vae.safetensors")
    return trainer


def to_storage_dtype(folder: str, dtype: torch.dtype = torch.float16) -> None:
    """Rewrite a saved model folder's `model.safetensors` and `t5/` weights in `dtype` (the shipped form;
    loading casts back to the model's float32)."""
    from pathlib import Path

    from safetensors.torch import load_file, safe_open

    from audiox.checkpoints.convert import write_safetensors_atomic

    for path in (Path(folder) / "model.safetensors", Path(folder) / "t5" / "model.safetensors"):
        if not path.is_file():
            continue
        with safe_open(str(path), "pt") as f:
            metadata = f.metadata() or {}
        tensors = {k: v.to(dtype) if v.is_floating_point() else v for k, v in load_file(str(path)).items()}
        write_safetensors_atomic(tensors, path, metadata)
