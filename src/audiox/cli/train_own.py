"""Train audiox's own small model (the one shipped in the package) on the synthetic world, from scratch.

The shipped model was made by these commands (2 CPU cores, ~2 h + 13 min; see the README for the one
resumed stage):
    audiox train-own --out runs/own
    audiox train-own --out runs/own --decoder-steps 2300      (the decoder-only stage continued)
then `runs/own/model` was copied to src/audiox/assets/own_model. Sizes can be changed for a quick try:
    audiox train-own --out runs/try --vae-steps 50 --items 64 --steps 50
Stages: VAE -> latent scale -> encoded cache -> diffusion (Lightning) -> float16 model folder; a stage
whose output exists is skipped, so rerunning the command continues an interrupted run.
Needs the `train` extra (pip install 'audiox[train]').
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    from audiox.config.own_recipe import OwnRecipe

    d = OwnRecipe()
    p.add_argument("--out", type=Path, required=True, help="run folder (vae/, cache/, dit/, decoder/, model/)")
    p.add_argument("--backbone", choices=("mmdit", "dit"), default=None, help=f"default: {d.backbone}")
    p.add_argument("--seed", type=int, default=None, help=f"seed of weights, crops, tasks and noise (default {d.seed})")
    p.add_argument("--vae-steps", type=int, default=None, help=f"VAE optimizer steps (default {d.vae_steps})")
    p.add_argument("--items", type=int, default=None, help=f"cached training examples (default {d.items})")
    p.add_argument("--steps", type=int, default=None, help=f"diffusion optimizer steps (default {d.steps})")
    p.add_argument("--batch", type=int, default=None, help=f"diffusion batch size (default {d.batch})")
    p.add_argument("--decoder-steps", type=int, default=None,
                   help=f"decoder-only refinement steps after the diffusion stage (default {d.decoder_steps})")
    p.add_argument("--decoder-adversarial", action="store_true", default=None,
                   help="refine the decoder against a multi-scale waveform discriminator too (hinge + feature "
                        "matching); a larger --decoder-steps with it continues an STFT-only refinement")
    p.add_argument("--pooled-condition", action="store_true", default=None,
                   help="MMDiT: add the pooled request path to every block's adaLN input (own option)")
    p.add_argument("--coherent-init", action="store_true", default=None,
                   help="MMDiT: start the token-axis context projection readable (text summed, video and "
                        "audio mapped by time)")
    p.add_argument("--vae-from", type=Path, default=None,
                   help="take the VAE from this model folder (e.g. the shipped one: src/audiox/assets/own_model) "
                        "instead of training one; skips the VAE, scale and decoder stages")


def run(args: argparse.Namespace) -> int:
    from audiox.synth.own_training import OwnRecipe, recipe_with, train_own_model

    recipe = recipe_with(OwnRecipe(), backbone=args.backbone, seed=args.seed, vae_steps=args.vae_steps,
                         items=args.items, steps=args.steps, batch=args.batch, decoder_steps=args.decoder_steps,
                         decoder_adversarial=args.decoder_adversarial, pooled_condition=args.pooled_condition,
                         coherent_init=args.coherent_init,
                         vae_from=str(args.vae_from) if args.vae_from is not None else None)
    folder = train_own_model(args.out, recipe, quiet=args.quiet)
    print(f"model folder: {folder}")
    return 0
