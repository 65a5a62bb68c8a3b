"""Run training on Lightning: data position, Trainer from the config, resume, model building.

Data position: `ResumableBatchSampler` is an endless stream of micro-batches; micro-batch m of rank r
takes the positions ((m * world + r) * B ... + B - 1) of a stream that walks through the dataset one
epoch after another, epoch e in the order of a permutation seeded by (seed, e). Every item is then
loaded with a generator seeded by (seed, epoch, index) (`EpochItems`). The sampler starts at
micro-batch `global_step * accumulate_grad_batches`, read from the restored trainer when the train
dataloader is built (after checkpoint restore), so a resumed run sees exactly the items, crops and
draws the uninterrupted run would have seen. Checkpoints are written at optimizer-step boundaries.

Data: a JSONL manifest (raw files, encoders run every step) or a folder written by `audiox
encode-dataset` (`training_dataset` tells them apart; cached batches skip every frozen encoder, see
`lightning_module`). The cache must come from the model's own frozen encoders (checked by fingerprint).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from torch.utils.data import DataLoader, Dataset, Sampler

from audiox.errors import ConfigError
from audiox.training.config import RunSection, TrainConfig
from audiox.training.data import ManifestDataset, TrainingDataConfig, item_seed
from audiox.training.manifest import ManifestRecord, read_manifest


class ResumableBatchSampler(Sampler[list[tuple[int, int]]]):
    """Endless micro-batches of (epoch, index) pairs for one rank, starting at micro-batch `start`."""

    def __init__(
        self, num_items: int, batch_size: int, *, seed: int, rank: int = 0, world_size: int = 1, start: int = 0
    ) -> None:
        if num_items <= 0 or batch_size <= 0:
            raise ConfigError(f"sampler: need items and batch_size > 0, got {num_items}, {batch_size}")
        self.num_items, self.batch_size = num_items, batch_size
        self.seed, self.rank, self.world_size, self.start = seed, rank, world_size, start
        self._orders: dict[int, list[int]] = {}

    def order(self, epoch: int) -> list[int]:
        """The item order of `epoch` (a permutation seeded by (seed, epoch))."""
        if epoch not in self._orders:
            generator = torch.Generator().manual_seed(item_seed(self.seed, epoch, -1))
            self._orders = {epoch: torch.randperm(self.num_items, generator=generator).tolist()}
        return self._orders[epoch]

    def batch(self, micro_batch: int) -> list[tuple[int, int]]:
        """The (epoch, index) pairs of micro-batch `micro_batch` on this rank."""
        first = (micro_batch * self.world_size + self.rank) * self.batch_size
        out = []
        for position in range(first, first + self.batch_size):
            epoch, offset = divmod(position, self.num_items)
            out.append((epoch, self.order(epoch)[offset]))
        return out

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        micro_batch = self.start
        while True:
            yield self.batch(micro_batch)
            micro_batch += 1


class EpochItems(Dataset):
    """Dataset items addressed by (epoch, index), each with its own seeded generator. The dataset is a
    `ManifestDataset` or a drop-in (`cfg.seed`, `load_example(index, generator)`: `CachedDataset`...)."""

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: tuple[int, int]) -> dict[str, Any]:
        epoch, index = key
        generator = torch.Generator().manual_seed(item_seed(self.dataset.cfg.seed, epoch, index))
        return self.dataset.load_example(index, generator)


class ManifestDataModule(pl.LightningDataModule):
    """Train dataloader over a manifest (or cache) dataset with the resumable sampler (rank / start read
    from the trainer)."""

    def __init__(
        self, dataset: Any, run: RunSection, *, num_workers: int = 0, optimizer_steps_per_batch: int = 1
    ) -> None:
        """`optimizer_steps_per_batch`: how much `global_step` grows per batch (2 for the VAE GAN's two
        optimisers under manual optimisation), to find the data position from it."""
        super().__init__()
        self.dataset, self.run, self.num_workers = dataset, run, num_workers
        self.optimizer_steps_per_batch = optimizer_steps_per_batch

    def train_dataloader(self) -> DataLoader:
        trainer = self.trainer
        rank, world = (trainer.global_rank, trainer.world_size) if trainer is not None else (0, 1)
        step = trainer.global_step if trainer is not None else 0
        sampler = ResumableBatchSampler(
            len(self.dataset), self.run.batch_size, seed=self.run.seed, rank=rank, world_size=world,
            start=step // self.optimizer_steps_per_batch * self.run.accumulate_grad_batches,
        )
        return DataLoader(
            EpochItems(self.dataset), batch_sampler=sampler, collate_fn=self.dataset.collate,
            num_workers=self.num_workers, persistent_workers=False,
        )


def data_config_for_model(
    model: Any, cfg: TrainConfig | Any, *, load_video: bool | None = None, sample_size: int | None = None
) -> TrainingDataConfig:
    """TrainingDataConfig with the model's window (or `sample_size`), rate, channels and video frame grid."""
    from audiox.conditioning.video_clip import ClipVideoBase

    mc = model.config
    fps, size = 5.0, 224
    for conditioner in (model.conditioner.conditioners.values() if model.conditioner is not None else ()):
        if isinstance(conditioner, ClipVideoBase):
            fps = conditioner.num_frames / 10.0
            tower = conditioner.visual_encoder_model
            size = tower.config.image_size if tower is not None else size
    return TrainingDataConfig(
        sample_rate=mc.sample_rate, sample_size=sample_size or mc.sample_size, channels=mc.audio_channels,
        random_crop=cfg.data.random_crop, random_sign_flip=cfg.data.random_sign_flip,
        load_video=cfg.data.load_video if load_video is None else load_video,
        video_fps=fps, video_size=size, seed=cfg.run.seed,
    )


def manifest_dataset(
    model: Any,
    cfg: Any,
    manifest: str | os.PathLike | Sequence[ManifestRecord],
    *,
    load_video: bool | None = None,
    sample_size: int | None = None,
) -> ManifestDataset:
    """The ManifestDataset of a JSONL manifest (or records) cut for `model`."""
    records = manifest if not isinstance(manifest, (str, os.PathLike)) else read_manifest(
        manifest, root=cfg.data.manifest_root, check_files=True
    )
    return ManifestDataset(records, data_config_for_model(model, cfg, load_video=load_video, sample_size=sample_size))


def training_dataset(model: Any, cfg: TrainConfig, data: str | os.PathLike | Sequence[ManifestRecord]) -> Any:
    """The dataset of `data`: a `CachedDataset` for an encode-dataset folder (checked against the model's
    frozen encoders; its windows are fixed, so `cfg.data` crop / flip / video settings do not apply),
    else the `ManifestDataset` of a manifest file or records."""
    from audiox.training.encode_dataset import (
        CachedDataConfig,
        CachedDataset,
        check_cache_matches,
        is_cache_dir,
    )

    if not is_cache_dir(data):
        return manifest_dataset(model, cfg, data)
    dataset = CachedDataset(data, CachedDataConfig(seed=cfg.run.seed))
    check_cache_matches(model, dataset.index, data)
    return dataset


def demo_batch(dataset: Any, num_demos: int) -> dict[str, Any]:
    """The collated first `num_demos` items (unmasked conditions) for `DemoCallback`."""
    from audiox.training.encode_dataset import CachedDataset

    items = [dataset[i] for i in range(min(num_demos, len(dataset)))]
    batch = dataset.collate(items)
    if isinstance(dataset, CachedDataset):  # the demo reads only the window length from "audio"
        batch["audio"] = torch.zeros(len(items), 1, dataset.index["sample_size"])
    return batch


def resolve_precision(precision: str, accelerator: str) -> str:
    """ "auto" -> "bf16-mixed" on GPU, "32-true" on CPU; anything else is passed to Lightning."""
    if precision != "auto":
        return precision
    on_gpu = accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available())
    return "bf16-mixed" if on_gpu else "32-true"


def resolve_strategy(run: RunSection) -> Any:
    """Lightning strategy from the config; DDP on CPU uses the gloo backend. DDP looks for unused
    parameters (as the official trainer): e.g. `to_global_embed` has no input in the AudioX configs."""
    if run.strategy == "ddp":
        from lightning.pytorch.strategies import DDPStrategy

        cpu = run.accelerator == "cpu" or (run.accelerator == "auto" and not torch.cuda.is_available())
        return DDPStrategy(process_group_backend="gloo" if cpu else None, find_unused_parameters=True)
    if run.strategy == "fsdp":
        return "fsdp"
    if run.strategy == "deepspeed":
        return "deepspeed_stage_2"
    return "auto"


def build_trainer(run: RunSection, out_dir: str | os.PathLike, callbacks: Sequence[pl.Callback] = ()) -> pl.Trainer:
    """A Trainer for `run`: strategy, precision, accumulation, step checkpoints under out_dir/checkpoints."""
    out = Path(out_dir)
    checkpoint = ModelCheckpoint(
        dirpath=out / "checkpoints", filename="step_{step:07d}", auto_insert_metric_name=False,
        every_n_train_steps=run.checkpoint_every_n_steps, save_top_k=-1, save_last=True,
    )
    return pl.Trainer(
        accelerator=run.accelerator, devices=run.devices, num_nodes=run.num_nodes,
        strategy=resolve_strategy(run), precision=resolve_precision(run.precision, run.accelerator),
        max_steps=run.max_steps, max_epochs=-1, accumulate_grad_batches=run.accumulate_grad_batches,
        gradient_clip_val=run.gradient_clip_val, log_every_n_steps=run.log_every_n_steps,
        callbacks=[checkpoint, *callbacks], logger=CSVLogger(out, name="logs"), default_root_dir=out,
        enable_progress_bar=run.progress_bar, enable_model_summary=False, use_distributed_sampler=False,
        num_sanity_val_steps=0, limit_val_batches=0,
    )


@dataclass
class TrainResult:
    trainer: pl.Trainer
    module: pl.LightningModule
    out_dir: Path


def train_diffusion(
    model: Any,
    cfg: TrainConfig,
    data: str | os.PathLike | Sequence[ManifestRecord],
    out_dir: str | os.PathLike,
    *,
    resume: str | os.PathLike | None = None,
    export_options: dict[str, Any] | None = None,
    synchformer: Any = None,
    callbacks: Sequence[pl.Callback] = (),
    base_model: str = "",
    wrap_dataset: Any = None,
) -> TrainResult:
    """Train `model` (a DiffusionModel) on `data` (a manifest, records, or an encode-dataset cache folder);
    checkpoints, logs, demos and the exported model folder (`out_dir/export/final`) go under `out_dir`.
    `resume`: a Lightning checkpoint to continue. `base_model`: the fine-tuned folder (recorded in a LoRA
    run's adapter file). `wrap_dataset`: a callable that wraps the training dataset (e.g. the own model's
    `synth.plan_truth.PlanTruthDataset`)."""
    from audiox.training.callbacks import ExportCallback
    from audiox.training.lightning_module import DiffusionTrainingModule

    out = Path(out_dir)
    dataset = training_dataset(model, cfg, data)
    dataset = wrap_dataset(dataset) if wrap_dataset is not None else dataset
    module = DiffusionTrainingModule(model, cfg)
    export = ExportCallback(out / "export", every_n_steps=cfg.run.export_every_n_steps, options=export_options or {},
                            synchformer=synchformer, base_model=base_model)
    return fit_module(module, cfg, dataset, out, export=export, callbacks=callbacks, resume=resume)


def fit_module(module: pl.LightningModule, cfg: Any, dataset: Any, out: Path, *, export: pl.Callback,
               callbacks: Sequence[pl.Callback] = (), resume: str | os.PathLike | None = None) -> TrainResult:
    """The loop shared by training and distillation: `export`, demos when `cfg.demo` asks for them, the
    trainer of `cfg.run`, the resumable data module over `dataset`, and the fit (from `resume` if given)."""
    from audiox.training.callbacks import DemoCallback

    own: list[pl.Callback] = [export]
    if cfg.demo.every_n_steps > 0:
        own.append(DemoCallback(out / "demos", cfg.demo, demo_batch(dataset, cfg.demo.num_demos), cfg.run.seed))
    trainer = build_trainer(cfg.run, out, [*own, *callbacks])
    datamodule = ManifestDataModule(dataset, cfg.run, num_workers=cfg.data.num_workers)
    trainer.fit(module, datamodule=datamodule, ckpt_path=None if resume is None else str(resume))
    return TrainResult(trainer=trainer, module=module, out_dir=out)


TINY_PRESETS = {"tiny-dit": "dit", "tiny-mmdit": "mmdit"}


@dataclass
class TrainingModel:
    """A model to train and what exporting it needs (audiox.json options, the Synchformer to copy)."""

    model: Any
    options: dict[str, Any]
    synchformer: Any = None


def build_training_model(
    *,
    init: str | os.PathLike | None = None,
    model_config: str | None = None,
    seed: int = 0,
    download: bool = False,
) -> TrainingModel:
    """Fine-tuning: `init` = a model folder (official or ours) or a Hugging Face repo id (local cache;
    fetched with `download`), loaded strictly with `load_pipeline`.
    From scratch: `model_config` = "tiny-dit" / "tiny-mmdit" (random tiny encoders) or a config.json
    (T5 from the local cache, official CLIP sizes; the VAE starts random: train it with train-vae).
    New weights are initialised from `seed` (the global RNG is restored afterwards)."""
    if (init is None) == (model_config is None):
        raise ConfigError("pass exactly one of --init MODEL_DIR (fine-tune) or --model-config CONFIG (from scratch)")
    if init is not None:
        return _from_folder(init if isinstance(init, str) else Path(init), download=download)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)  # module constructors draw their initial weights from the global RNG
        return _new_model(str(model_config))


def _new_model(model_config: str) -> TrainingModel:
    if model_config in TINY_PRESETS:
        return _tiny(TINY_PRESETS[model_config])
    from audiox.checkpoints.local_models import find_t5
    from audiox.conditioning.text_t5 import load_t5_text_encoder
    from audiox.config.parse import load_config
    from audiox.diffusion.model import DiffusionModel

    cfg = load_config(model_config)
    types = {c.type for c in (cfg.model.conditioning.configs if cfg.model.conditioning else ())}
    text_encoder = load_t5_text_encoder(find_t5()) if "t5" in types else None
    return TrainingModel(DiffusionModel(cfg, text_encoder=text_encoder), {})


def _from_folder(source: str | Path, *, download: bool) -> TrainingModel:
    from audiox.pipeline.load import load_pipeline, model_files, read_options

    pipe = load_pipeline(source, download=download)
    options = read_options(model_files(source).options)
    return TrainingModel(pipe.model, options, pipe.synchformer)


def _tiny(backbone: str) -> TrainingModel:
    from audiox.conditioning.synchformer import Synchformer
    from audiox.conditioning.tiny_encoders import tiny_conditioner_options, tiny_t5
    from audiox.config.presets import tiny_config
    from audiox.diffusion.model import DiffusionModel

    conditioner_options = tiny_conditioner_options()
    sync_sizes = {"image_size": 32, "patch_size": 16, "dim": 32, "depth": 1, "num_heads": 2}
    model = DiffusionModel(tiny_config(backbone), text_encoder=tiny_t5(), conditioner_options=conditioner_options)
    options = {
        "vision_config": conditioner_options["vision_config"].to_dict(),
        "temporal_sizes": conditioner_options["temporal_sizes"],
        "text_encoder_dtype": "float32",
        "synchformer": sync_sizes,
    }
    return TrainingModel(model, options, Synchformer(**sync_sizes))
