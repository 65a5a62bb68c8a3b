"""Which VAE shape keeps the world's events: train the own VAE from scratch with other strides / latent
width (`audiox train-own`'s stage 1, same recipe, same crops), then hear isolated events through it with
the bench's analyser (as `benchmarks/vae_events.py` does for a model folder). Figures only; each run
resumes (OUT/vae, the stage's own state), so a larger --steps continues it.

    python benchmarks/vae_design.py --out runs/vae640 --steps 1000                      # the shipped shape
    python benchmarks/vae_design.py --out runs/vae320 --steps 1000 --strides 2,4,4,10   # 2x the latent rate
    python benchmarks/vae_design.py --out runs/vae640w --steps 1000 --latent-dim 64     # 2x the latent width
    python benchmarks/vae_design.py --out runs/vae640m --steps 1000 --mel-weight 1      # + the analyser-view loss
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from vae_events import print_fidelity

from audiox.config.own_model import OWN_SIZES
from audiox.config.own_recipe import OwnRecipe, recipe_with
from audiox.evaluation.analyser import Analyser
from audiox.evaluation.event_fidelity import event_fidelity
from audiox.pipeline import AudioX


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(","))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--steps", type=int, default=1000, help="VAE training steps (stage 1 of train-own)")
    p.add_argument("--strides", type=_ints, default=OWN_SIZES["vae"]["strides"], help="e.g. 2,4,4,10 (even: the decoded length is frames x ratio)")
    p.add_argument("--latent-dim", type=int, default=OWN_SIZES["vae"]["latent_dim"])
    p.add_argument("--mel-weight", type=float, default=0.0,
                   help="weight of the analyser-view log-mel L1 (30 ms windows) added to the VAE loss")
    p.add_argument("--per-kind", type=int, default=10, help="events per kind")
    args = p.parse_args(argv)
    if len(args.strides) != len(OWN_SIZES["vae"]["c_mults"]) or min(args.strides) < 2 or any(s % 2 for s in args.strides):
        p.error(f"--strides needs {len(OWN_SIZES['vae']['c_mults'])} even values")
    shape = {"strides": list(args.strides), "latent_dim": args.latent_dim, "mel_weight": args.mel_weight}
    args.out.mkdir(parents=True, exist_ok=True)
    pinned = args.out / "vae_shape.json"
    if pinned.is_file() and json.loads(pinned.read_text()) != shape:
        p.error(f"{args.out} holds a VAE of shape {pinned.read_text()}; use another --out")
    pinned.write_text(json.dumps(shape))
    # the own model's sizes are read when it is built: this process builds it with the asked VAE shape
    OWN_SIZES["vae"] = dict(OWN_SIZES["vae"], strides=tuple(args.strides), latent_dim=args.latent_dim)

    from audiox.synth.own_training import train_vae_stage
    from audiox.synth.training_data import build_own_model, synth_training_config

    recipe = recipe_with(OwnRecipe(), vae_steps=args.steps, backbone="mmdit", vae_mel_weight=args.mel_weight)
    model, _ = build_own_model("mmdit", seed=recipe.seed)
    ratio = model.pretransform.downsampling_ratio
    recipe = recipe_with(recipe, vae_crop=max(1, round(recipe.vae_crop / ratio)) * ratio)
    world = synth_training_config(model, seed=recipe.seed, world_seed=recipe.world_seed).world()
    started = time.perf_counter()
    train_vae_stage(model, recipe, world, args.out / "vae")
    minutes = (time.perf_counter() - started) / 60

    results = event_fidelity(AudioX(model).reconstruct, Analyser.trained(), sample_rate=16000,
                             per_kind=args.per_kind)
    rate = 16000 / ratio
    print_fidelity(f"VAE strides {list(args.strides)} ({ratio}x, {rate:g} latent frames/s), latent dim "
                   f"{args.latent_dim} ({rate * args.latent_dim / 16000:.3f} numbers per sample), {args.steps} "
                   f"steps, mel weight {args.mel_weight:g} ({minutes:.1f} min in this call)", results)


if __name__ == "__main__":
    main()
