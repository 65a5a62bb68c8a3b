"""Train audiox's own small model (the one shipped in the package) on the synthetic world, from scratch.

The shipped model was made by these commands (2 CPU cores, ~2 h + 13 min; see the README for the one
resumed stage):
    audiox train-own --out runs/own
    audiox train-own --out runs/own --decoder-steps 2300      (the decoder-only stage continued)
then `runs/own/model` was copied to src/audiox/assets/own_model. Sizes can be changed for a quick try:
    audiox train-own --out runs/try --vae-steps 50 --items 64 --steps 50
A new, wider decoder for the shipped model's frozen encoder (the latents, hence every diffusion model
trained on them, stay valid; resumable like the rest):
    audiox train-own --out runs/dec64 --vae-from src/audiox/assets/own_model --decoder-only \
        --decoder-channels 64 --decoder-steps 2000
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
    p.add_argument("--vae-mel-weight", type=float, default=None,
                   help="add this weight x an analyser-view log-mel L1 (64 mel bands, 30 ms) to the VAE and "
                        f"decoder losses (default {d.vae_mel_weight})")
    p.add_argument("--plan-truth", type=float, default=None,
                   help="share (0-1) of captioned diffusion training items that see the true timeline of their "
                        f"labels instead of the caption planner's (default {d.plan_truth})")
    p.add_argument("--vae-event-crops", type=float, default=None,
                   help="share (0-1) of VAE / decoder training crops placed on a world event, kinds drawn "
                        f"uniformly, so short events get as many crops as long ones (default {d.vae_event_crops})")
    p.add_argument("--pooled-condition", action="store_true", default=None,
                   help="MMDiT: add the pooled request path to every block's adaLN input (own option)")
    p.add_argument("--coherent-init", action="store_true", default=None,
                   help="MMDiT: start the token-axis context projection readable (text summed, video and "
                        "audio mapped by time)")
    p.add_argument("--vae-from", type=Path, default=None,
                   help="take the VAE from this model folder (e.g. the shipped one: src/audiox/assets/own_model) "
                        "instead of training one; skips the VAE, scale and decoder stages")
    p.add_argument("--init-from", type=Path, default=None,
                   help="start the diffusion stage from this own-model folder's weights (and its VAE unless "
                        "--vae-from is given); e.g. add --pooled-condition to the shipped model and train on")
    p.add_argument("--lr", type=float, default=None, help=f"diffusion learning rate (default {d.lr})")
    p.add_argument("--timestep-mean", type=float, default=None,
                   help=f"mean of the logit-normal noise-level draw; > 0 trains more on high noise (default "
                        f"{d.timestep_mean})")
    p.add_argument("--caption-pretrain-steps", type=int, default=None,
                   help="pretrain the caption encoder (T5) on the world's captions for this many steps before the "
                        "cache is encoded (default 0: keep it as built / loaded; ~600 steps take ~1 min)")
    p.add_argument("--plan-slots", type=int, default=None,
                   help="own option: a caption planner whose timeline (this many time slots, e.g. 48) fills the "
                        "last text slots, read by the MMDiT at the same times (default 0: none)")
    p.add_argument("--planner-steps", type=int, default=None,
                   help=f"steps of planner training on world captions (stage 2c; default {d.planner_steps})")
    p.add_argument("--event-weight", type=float, default=None,
                   help="extra loss weight of the latent frames where events sound (default 0: plain MSE)")
    p.add_argument("--decoder-only", action="store_true",
                   help="with --vae-from: train only a VAE decoder for that folder's frozen encoder (latent "
                        "scale kept) for --decoder-steps; writes OUT/model = the folder with the new decoder")
    p.add_argument("--decoder-channels", type=int, default=None,
                   help="--decoder-only: a new decoder of this width, trained from scratch (default: refine "
                        "the folder's own decoder)")
    p.add_argument("--decoder-c-mults", type=_int_list, default=None,
                   help="--decoder-only: channel multipliers of a new decoder, one per stride, e.g. 1,2,4,8")
    p.add_argument("--decoder-noise", type=int, default=None, metavar="N",
                   help="--decoder-only: add a latent-gated noise source after the decoder's last N blocks "
                        "(zero at the start, so training starts from the folder's decoder)")
    p.add_argument("--decoder-distill", action="store_true", default=None,
                   help="--decoder-only with a new shape: learn the folder's own decoder's output on the same "
                        "latents instead of the world audio (a lighter decoder that sounds like the folder's)")
    p.add_argument("--decoder-widen", action="store_true", default=None,
                   help="--decoder-only: start the new (wider) decoder as the folder's decoder widened "
                        "without changing its output, instead of from scratch")


def _int_list(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of integers") from None


def run(args: argparse.Namespace) -> int:
    from audiox.errors import ConfigError
    from audiox.synth.own_decoder import train_decoder_only
    from audiox.synth.own_training import OwnRecipe, recipe_with, train_own_model

    shaped = (args.decoder_channels is not None or args.decoder_c_mults is not None or args.decoder_widen
              or args.decoder_noise is not None or args.decoder_distill)
    if shaped and not args.decoder_only:
        raise ConfigError("train-own: --decoder-channels / --decoder-c-mults / --decoder-widen / --decoder-noise / "
                          "--decoder-distill need --decoder-only (and --vae-from)")
    recipe = recipe_with(OwnRecipe(), backbone=args.backbone, seed=args.seed, vae_steps=args.vae_steps,
                         items=args.items, steps=args.steps, batch=args.batch, decoder_steps=args.decoder_steps,
                         decoder_adversarial=args.decoder_adversarial, pooled_condition=args.pooled_condition,
                         coherent_init=args.coherent_init,
                         vae_from=str(args.vae_from) if args.vae_from is not None else None,
                         init_from=str(args.init_from) if args.init_from is not None else None,
                         lr=args.lr, timestep_mean=args.timestep_mean, event_weight=args.event_weight,
                         caption_pretrain_steps=args.caption_pretrain_steps, plan_slots=args.plan_slots,
                         planner_steps=args.planner_steps,
                         decoder_channels=args.decoder_channels, decoder_c_mults=args.decoder_c_mults,
                         decoder_widen=args.decoder_widen, decoder_noise=args.decoder_noise,
                         decoder_distill=args.decoder_distill,
                         vae_mel_weight=args.vae_mel_weight, vae_event_crops=args.vae_event_crops,
                         plan_truth=args.plan_truth)
    train = train_decoder_only if args.decoder_only else train_own_model
    folder = train(args.out, recipe, quiet=args.quiet)
    print(f"model folder: {folder}")
    return 0
