"""Training building blocks (model-independent): manifests, data, input masking, losses, EMA, LR schedule.

The Lightning training module lives in `lightning_module.py` (extra: train) and imports these.
"""

from audiox.training.data import ManifestDataset, TrainingDataConfig, collate_examples
from audiox.training.ema import EMA, EmaConfig, ema_decay
from audiox.training.losses import diffusion_loss, noised_input_and_target, sample_timesteps
from audiox.training.manifest import ManifestRecord, caption_for_window, read_manifest
from audiox.training.masking import InputMaskingConfig, cfg_dropout, mask_inputs
from audiox.training.schedules import InverseLRConfig, audiox_optimizer_preset, build_optimizer, inverse_lr

__all__ = [
    "EMA",
    "EmaConfig",
    "InputMaskingConfig",
    "InverseLRConfig",
    "ManifestDataset",
    "ManifestRecord",
    "TrainingDataConfig",
    "audiox_optimizer_preset",
    "build_optimizer",
    "caption_for_window",
    "cfg_dropout",
    "collate_examples",
    "diffusion_loss",
    "ema_decay",
    "inverse_lr",
    "mask_inputs",
    "noised_input_and_target",
    "read_manifest",
    "sample_timesteps",
]
