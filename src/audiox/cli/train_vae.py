"""Train the VAE (Oobleck autoencoder) of a model: multi-resolution STFT + KL + hinge adversarial losses.

audiox train-vae --model-config tiny-dit --data train.jsonl --out runs/vae --set run.max_steps=1000
audiox train-vae --init MODEL_DIR --data train.jsonl --out runs/vae   (continue from a model's VAE)
Settings: --config vae.json (audiox.training.config.VaeTrainConfig) and dotted --set overrides.
The weights go to OUT/vae.safetensors with the Turbo vae.ckpt key names (encoder.*, decoder.*).
Needs the `train` extra (pip install 'audiox[train]').
"""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="manifest (.jsonl) of audio files")
    p.add_argument("--out", required=True, help="output folder: vae.safetensors, checkpoints/, logs/")
    p.add_argument("--config", default=None, help="VAE training config JSON (VaeTrainConfig fields)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="dotted override of a config field, e.g. kl_weight=1e-3 (repeatable)")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--init", default=None, help="model folder whose VAE to continue training")
    source.add_argument("--model-config", default=None, help="tiny-dit, tiny-mmdit, or a model config.json")
    p.add_argument("--resume", default=None, help="Lightning checkpoint to resume from")


def run(args: argparse.Namespace) -> int:
    from audiox.training.config import VaeTrainConfig, load_train_config
    from audiox.training.fit import build_training_model
    from audiox.training.vae_train import train_vae

    cfg = load_train_config(VaeTrainConfig, args.config, args.overrides)
    built = build_training_model(init=args.init, model_config=args.model_config, seed=cfg.run.seed)
    result = train_vae(built.model, cfg, args.data, args.out, resume=args.resume)
    if result.trainer.is_global_zero:
        print(f"trained {result.trainer.global_step} optimizer steps; VAE weights: {result.weights}")
    return 0
