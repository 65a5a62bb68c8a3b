"""Train the VAE (Oobleck autoencoder) of a model: multi-resolution STFT + KL + hinge adversarial losses.

audiox train-vae --model-config tiny-dit --data train.jsonl --out runs/vae --set run.max_steps=1000
audiox train-vae --init MODEL_DIR --data train.jsonl --out runs/vae   (continue from a model's VAE)
Settings: --config vae.json (audiox.training.config.VaeTrainConfig) and dotted --set overrides.
The weights go to OUT/vae.safetensors with the Turbo vae.ckpt key names (encoder.*, decoder.*).
Needs the `train` extra (pip install 'audiox[train]').
"""

from __future__ import annotations

import argparse

from audiox.cli.train import add_training_arguments


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_training_arguments(
        p,
        data_help="manifest (.jsonl) of audio files",
        out_help="output folder: vae.safetensors, checkpoints/, logs/",
        config_help="VAE training config JSON (VaeTrainConfig fields)",
        init_help="model folder whose VAE to continue training",
    )


def run(args: argparse.Namespace) -> int:
    from audiox.training.config import VaeTrainConfig, load_train_config
    from audiox.training.fit import build_training_model
    from audiox.training.vae_train import train_vae

    cfg = load_train_config(VaeTrainConfig, args.config, args.overrides)
    built = build_training_model(init=args.init, model_config=args.model_config, seed=cfg.run.seed,
                                 download=args.download)
    result = train_vae(built.model, cfg, args.data, args.out, resume=args.resume)
    if result.trainer.is_global_zero:
        print(f"trained {result.trainer.global_step} optimizer steps; VAE weights: {result.weights}")
    return 0
