"""The recorded recipe that trains audiox's own shipped model on the synthetic world (`audiox train-own`).

Stages (each skipped when its output already exists in `out_dir`, so an interrupted run continues):
  1. vae/     the Oobleck VAE on random crops of rendered world audio: multi-resolution STFT + KL, no
              adversary (cheap on CPU; synthetic sounds need no GAN sharpening). -> vae/vae.safetensors
              (resumable: vae/vae_state.pt; a larger --vae-steps trains an existing VAE further)
  2. scale    the std of the VAE posterior means over held-out items -> the config's pretransform scale,
              so the diffusion model sees unit-scale latents. -> vae/latent_scale.json
  3. cache/   `training.encode_dataset` over `items` synthetic training examples (all tasks; VAE
              latents + frozen text / video features) -> cache/index.json
  4. dit/     `training.fit.train_diffusion` from that cache (input masking, CFG dropout, EMA) ->
              dit/export/final (a larger `steps` resumes from dit/checkpoints/last.ckpt)
  5. decoder/ the VAE decoder refined alone (encoder frozen, so the latent space stays the one the
              diffusion model learned; optionally against a waveform discriminator too) ->
              decoder/vae.safetensors (a larger `decoder_steps` continues it; the shipped model's ran 800,
              then was continued to 2300)
  6. model/   the exported folder with the refined decoder, in float16, with the sampler defaults of a
              small rectified-flow model (`generation_defaults`) -> out_dir/model, loadable by
              `AudioX.from_pretrained`.

Every random draw is seeded from `OwnRecipe.seed`; the world is `synth` seed `world_seed`.
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch

from audiox.config.own_model import OWN_SAMPLE_RATE
from audiox.config.own_recipe import (  # noqa: F401 (re-exported: the recipe's home before the split)
    GENERATION_DEFAULTS,
    OWN_TASK_WEIGHTS,
    OwnRecipe,
    recipe_with,
)
from audiox.errors import ConfigError

SAVE_EVERY_S = 600.0  # VAE / decoder stages save their state every 100 steps or this many seconds
CROP_POOL_OFFSET = 10_000_000  # world items CROP_POOL_OFFSET.. are the VAE crop pool (`_crop_pool`, `EventCrops`)


def _say(text: str, quiet: bool) -> None:
    if not quiet:
        print(f"train-own: {text}", file=sys.stderr, flush=True)


def _world_audio(cfg: Any, count: int, *, offset: int) -> torch.Tensor:
    """(count, C, S) rendered audio of world items offset .. offset + count - 1 (clamped to [-1, 1])."""
    from audiox.synth.dataset import render_item

    audio_only = replace(cfg, video_fps=0, with_image=False)
    return torch.stack([render_item(audio_only, offset + i)["audio"].clamp(-1.0, 1.0) for i in range(count)])


def vae_step_loss(pretransform: Any, crops: torch.Tensor, generator: torch.Generator, *,
                  floor: float = 1e-2, fft_sizes: tuple[int, ...] = (2048, 1024, 512, 256, 128),
                  probe: Any = None, probe_weight: float = 0.0, discriminator: Any = None,
                  encoder: Any = None, decoder: Any = None, mel_weight: float = 0.0,
                  target_decoder: Any = None) -> tuple[torch.Tensor, dict, torch.Tensor]:
    """crops: (B, C, S) -> (loss, parts, reconstruction (B, C, S)): multi-resolution STFT (`fft_sizes` no
    longer than the crop, hop n / 4, log-magnitude `floor`, see `training.vae_losses.stft_loss`) + 1e-4 KL
    through a posterior sample, + `mel_weight` x `analyser_mel_loss` when > 0, + `probe_weight` x the
    `LatentSpectralProbe` error of the posterior means when a probe is given, + the adversarial terms of
    `discriminator` when one is given (weighted as in `training.config.VaeTrainConfig`).
    `encoder` / `decoder`: compiled stand-ins for the pretransform's own modules (same weights).
    `target_decoder`: a frozen decoder whose output on the same posterior sample replaces `crops` as the
    target of every term (decoder distillation; the probe still reads the crops)."""
    from audiox.training.vae_losses import multi_resolution_stft_loss
    from audiox.training.vae_train import posterior_sample

    encoder = encoder if encoder is not None else pretransform.model.encoder
    decoder = decoder if decoder is not None else pretransform.model.decoder
    latents, kl, mean = posterior_sample(encoder, crops, generator)  # (B, D, L) each
    recon = decoder(latents)[..., : crops.shape[-1]]
    target = crops
    if target_decoder is not None:
        with torch.no_grad():
            target = target_decoder(latents)[..., : crops.shape[-1]]
    ffts = tuple(n for n in fft_sizes if n <= crops.shape[-1])
    stft = multi_resolution_stft_loss(recon, target, ffts, tuple(n // 4 for n in ffts), ffts, floor=floor)
    loss, parts = stft + 1e-4 * kl, {"stft": float(stft.detach()), "kl": float(kl.detach())}
    if mel_weight > 0:
        from audiox.training.vae_losses import analyser_mel_loss

        mel = analyser_mel_loss(recon, target, sample_rate=OWN_SAMPLE_RATE)
        loss, parts["mel"] = loss + mel_weight * mel, float(mel.detach())
    if probe is not None and probe_weight > 0:
        spectral = probe.loss(mean, crops, sample_rate=OWN_SAMPLE_RATE, hop=pretransform.downsampling_ratio)
        loss = loss + probe_weight * spectral
        parts["probe"] = float(spectral.detach())
    if discriminator is not None:
        from audiox.training.config import VaeTrainConfig
        from audiox.training.vae_losses import adversarial_terms

        weights = VaeTrainConfig()
        hinge, matching = adversarial_terms(discriminator, recon, target)
        loss = loss + weights.adversarial_weight * hinge + weights.feature_matching_weight * matching
        parts |= {"adversarial": float(hinge.detach()), "feature_matching": float(matching.detach())}
    return loss, parts, recon


def train_vae_stage(model: Any, recipe: OwnRecipe, world: Any, out: Path, *, quiet: bool = False,
                    decoder_only: bool = False, target_decoder: Any = None) -> Path:
    """Stage 1: train `model.pretransform` on random crops of `recipe.vae_pool` world items up to
    `recipe.vae_steps` optimizer steps; writes out/vae.safetensors (Turbo `vae.ckpt` key names), a loss log
    and out/vae_state.pt (weights, spectral probe, optimizer, step) every 100 steps. A stage that finds
    vae_state.pt, or a finished vae.safetensors with its log, continues from there: a larger `vae_steps`
    trains further, with a new cosine learning-rate schedule from `vae_lr` over the remaining steps (so a
    resumed run is not the same as an uninterrupted one; crops drawn after a restart differ too).

    `decoder_only`: stage 5, train only the decoder for `recipe.decoder_steps` (the encoder, hence the
    latent space the diffusion model learned, stays fixed; no probe). With `recipe.decoder_adversarial`
    a multi-scale waveform discriminator (seeded, same learning rate and schedule) takes a hinge step after
    each decoder step and is saved in vae_state.pt; a stage continued from a state without one starts a
    fresh one (so an STFT-only decoder can be refined further against it). `target_decoder` (decoder-only):
    a frozen decoder whose output on the same latents is the target instead of the crops (`vae_step_loss`)."""
    from tqdm.auto import tqdm

    from audiox.training.vae_losses import LatentSpectralProbe, discriminator_loss
    from audiox.training.vae_train import save_vae

    ratio = model.pretransform.downsampling_ratio
    if recipe.vae_crop % ratio:
        raise ConfigError(f"train-own: vae_crop={recipe.vae_crop} must be a multiple of the VAE ratio {ratio}")
    out.mkdir(parents=True, exist_ok=True)
    total = recipe.decoder_steps if decoder_only else recipe.vae_steps
    pretransform = model.pretransform.train().requires_grad_(True)
    if decoder_only:
        pretransform.model.encoder.eval().requires_grad_(False)
    probe = None
    if recipe.vae_probe_weight > 0 and not decoder_only:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(recipe.seed)
            probe = LatentSpectralProbe(latent_dim=pretransform.latent_dim)
    trained = [p for p in pretransform.parameters() if p.requires_grad]
    trained += list(probe.parameters()) if probe is not None else []
    opt = torch.optim.AdamW(trained, lr=recipe.vae_lr, betas=(0.8, 0.99), weight_decay=1e-3)
    adversary = _decoder_adversary(pretransform, recipe) if decoder_only and recipe.decoder_adversarial else None
    log, start = _resume_vae(pretransform, opt, out, probe, adversary)
    if start == 0 and not decoder_only:
        shrink_posterior_std(pretransform, recipe.vae_std_bias)
        sharpen_encoder_snakes(pretransform, recipe.vae_encoder_log_alpha, recipe.vae_encoder_alpha_blocks)
    remaining = max(1, total - start)
    scheds = []
    for optimizer in [opt] + ([adversary[1]] if adversary is not None else []):
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"] = recipe.vae_lr
        scheds.append(torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, remaining) / remaining))))
    gen = torch.Generator().manual_seed(recipe.seed + 1_000_003 * start)
    pool = _crop_pool(world, recipe.vae_pool, out) if total > start else None
    encoder, decoder = _maybe_compiled(pretransform, recipe.vae_compile and total - start >= 200)
    saved = time.perf_counter()
    bar = tqdm(range(start, total), desc="decoder" if decoder_only else "vae", disable=quiet, mininterval=5,
               initial=start, total=total)
    events = EventCrops.of_pool(world, recipe.vae_pool) if recipe.vae_event_crops > 0 and pool is not None else None
    for step in bar:
        crops = draw_crops(pool, recipe.vae_batch, recipe.vae_crop, gen, events=events,
                           event_share=recipe.vae_event_crops)
        loss, parts, recon = vae_step_loss(
            pretransform, crops, gen, floor=recipe.vae_log_floor, fft_sizes=recipe.vae_fft_sizes, probe=probe,
            probe_weight=recipe.vae_probe_weight, discriminator=adversary[0] if adversary else None,
            encoder=encoder, decoder=decoder, mel_weight=recipe.vae_mel_weight, target_decoder=target_decoder)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trained, 1.0)
        opt.step()
        if adversary is not None:
            disc, disc_opt = adversary
            disc_loss = discriminator_loss(disc, crops, recon)
            disc_opt.zero_grad(set_to_none=True)
            disc_loss.backward()
            disc_opt.step()
            parts["discriminator"] = float(disc_loss.detach())
        for sched in scheds:
            sched.step()
        log.append({"step": step, **parts})
        bar.set_postfix(stft=f"{parts['stft']:.3f}", refresh=False)
        if (step + 1) % 100 == 0 or time.perf_counter() - saved > SAVE_EVERY_S:
            _save_vae_state(pretransform, opt, step + 1, log, out, probe, adversary)
            saved = time.perf_counter()
    _save_vae_state(pretransform, opt, max(start, total), log, out, probe, adversary)
    pretransform.eval().requires_grad_(False)
    return save_vae(pretransform, out / "vae.safetensors")


@dataclass(frozen=True, slots=True)
class EventCrops:
    """Where the crop pool's events are: `starts[kind]` = (rows, onset samples) of that kind's events, and
    `length` the pool items' length in samples (crops are clamped inside it)."""

    starts: dict[str, tuple[torch.Tensor, torch.Tensor]]
    length: int

    @classmethod
    def of_pool(cls, world: Any, count: int) -> EventCrops:
        """The events of the crop pool's items (world items 10_000_000.., as `_crop_pool` renders them);
        music items have none. Labels only: nothing is rendered."""
        from audiox.synth.dataset import sample_labels

        found: dict[str, list[tuple[int, int]]] = {}
        for row in range(count):
            for event in getattr(sample_labels(world, CROP_POOL_OFFSET + row), "events", ()):
                found.setdefault(event.kind, []).append((row, round(event.onset_s * world.sample_rate)))
        if not found:
            raise ConfigError("train-own: vae_event_crops > 0 but the crop pool holds no events")
        starts = {k: (torch.tensor([r for r, _ in v]), torch.tensor([o for _, o in v])) for k, v in sorted(found.items())}
        return cls(starts=starts, length=round(world.duration_s * world.sample_rate))


def draw_crops(pool: torch.Tensor, batch: int, crop: int, gen: torch.Generator, *,
               events: EventCrops | None = None, event_share: float = 0.0) -> torch.Tensor:
    """pool: (N, C, S) -> (batch, C, crop) random crops. Without `events` (or share 0) uniform over rows and
    starts (the draws of the recipe before event crops existed, so old runs resume alike). Else each crop
    is, with probability `event_share`, on an event: a kind drawn uniformly, one of its events uniformly,
    its onset at a uniform place in the crop's first half (clamped inside the item)."""
    rows = torch.randint(0, pool.shape[0], (batch,), generator=gen)
    starts = torch.randint(0, pool.shape[-1] - crop + 1, (batch,), generator=gen)
    if events is not None and event_share > 0:
        kinds = list(events.starts)
        on_event = torch.rand(batch, generator=gen) < event_share
        kind_pick = torch.randint(0, len(kinds), (batch,), generator=gen)
        which = torch.rand(batch, generator=gen)
        lead = torch.randint(0, crop // 2 + 1, (batch,), generator=gen)
        for b in torch.nonzero(on_event).flatten().tolist():
            event_rows, onsets = events.starts[kinds[int(kind_pick[b])]]
            i = min(int(which[b] * len(event_rows)), len(event_rows) - 1)
            rows[b] = event_rows[i]
            starts[b] = max(0, min(int(onsets[i]) - int(lead[b]), min(events.length, pool.shape[-1]) - crop))
    return torch.stack([pool[r, :, s : s + crop] for r, s in zip(rows.tolist(), starts.tolist())])


def _crop_pool(world: Any, count: int, out: Path) -> torch.Tensor:
    """(count, C, S) world items 10_000_000.. (never seen by the diffusion stage) that VAE crops come from;
    kept in out/crop_pool.pt (float16, ~0.3 MB per 10 s item) so a resumed stage does not render them again."""
    import os

    path = out / "crop_pool.pt"
    if path.is_file():
        pool = torch.load(path, weights_only=True)
        if pool.shape[0] == count:
            return pool.float()
    pool = _world_audio(world, count, offset=CROP_POOL_OFFSET).half()
    torch.save(pool, out / "crop_pool.pt.tmp")
    os.replace(out / "crop_pool.pt.tmp", path)
    return pool.float()  # the same values a resumed stage loads


def _decoder_adversary(pretransform: Any, recipe: OwnRecipe) -> tuple[Any, Any]:
    """(discriminator, its AdamW) of stage 5: a `MultiScaleDiscriminator` of the `audiox train-vae` sizes,
    initialised from `recipe.seed`."""
    from audiox.training.config import VaeTrainConfig
    from audiox.training.vae_losses import MultiScaleDiscriminator

    sizes = VaeTrainConfig()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(recipe.seed + 7)
        disc = MultiScaleDiscriminator(in_channels=pretransform.io_channels, channels=sizes.discriminator_channels,
                                       num_layers=sizes.discriminator_layers, num_scales=sizes.discriminator_scales)
    return disc, torch.optim.AdamW(disc.parameters(), lr=recipe.vae_lr, betas=(0.8, 0.99), weight_decay=1e-3)


def _maybe_compiled(pretransform: Any, compile_modules: bool) -> tuple[Any, Any]:
    """(encoder, decoder) of the pretransform, through `torch.compile` when asked and possible (about 1.4x
    faster VAE steps on 2 CPU cores after a ~75 s compile; needs a C++ compiler, else the plain modules)."""
    encoder, decoder = pretransform.model.encoder, pretransform.model.decoder
    if not compile_modules:
        return encoder, decoder
    import shutil

    if shutil.which("g++") is None and shutil.which("c++") is None and not torch.cuda.is_available():
        return encoder, decoder
    return torch.compile(encoder), torch.compile(decoder)


@torch.no_grad()
def sharpen_encoder_snakes(pretransform: Any, log_alpha: float, blocks: int) -> int:
    """Set the SnakeBeta frequency (log alpha, init 0) of the first `blocks` encoder blocks to `log_alpha`;
    returns how many activations changed. Snake is x + sin(alpha x)^2 / beta: with alpha 1 and the small
    signals of the first layers it is nearly linear, so the encoder cannot demodulate content above the
    Nyquist rate of its first strides (a tiny encoder trained for a few thousand steps stayed deaf to tones
    above ~1 kHz: whistles, chirps, bell partials). A larger alpha makes the squaring term, hence
    envelope detection, available from the start."""
    from audiox.vae.snake import SnakeBeta

    changed = 0
    for block in list(pretransform.model.encoder.layers)[1 : 1 + blocks]:  # layers[0] is the input conv
        for module in block.modules():
            if isinstance(module, SnakeBeta):
                module.alpha.fill_(log_alpha)
                changed += 1
    return changed


@torch.no_grad()
def shrink_posterior_std(pretransform: Any, shift: float) -> None:
    """Add `shift` to the bias of the encoder's last layer on its scale half (the posterior std is
    softplus(scale) + 1e-4): with shift -6 the std starts near 0.0026 instead of ~0.7, so the decoder trains
    on nearly clean latents. With std ~0.7 (and KL weight 1e-4 too weak to move it in a short run) the
    decoder learned to average over the noise and lost sustained tones, i.e. phase-coherent content."""
    last = pretransform.model.encoder.layers[-1]  # WNConv1d: (.., 2 * latent_dim, L) mean | scale
    half = last.bias.shape[0] // 2
    last.bias[half:] += shift


def _save_vae_state(pretransform: Any, opt: Any, step: int, log: list, out: Path, probe: Any = None,
                    adversary: tuple[Any, Any] | None = None) -> None:
    import os

    tmp = out / "vae_state.pt.tmp"
    state = {"step": step, "model": pretransform.model.state_dict(), "optimizer": opt.state_dict()}
    if probe is not None:
        state["probe"] = probe.state_dict()
    if adversary is not None:
        state["discriminator"], state["discriminator_optimizer"] = (m.state_dict() for m in adversary)
    torch.save(state, tmp)
    os.replace(tmp, out / "vae_state.pt")
    (out / "vae_log.json.tmp").write_text(json.dumps(log))
    os.replace(out / "vae_log.json.tmp", out / "vae_log.json")


def _resume_vae(pretransform: Any, opt: Any, out: Path, probe: Any = None,
                adversary: tuple[Any, Any] | None = None) -> tuple[list, int]:
    """(loss log, steps done) of an earlier run in `out`, its weights (probe, optimizer, discriminator if
    saved) loaded; ([], 0) if none."""
    from safetensors.torch import load_file

    log = json.loads((out / "vae_log.json").read_text()) if (out / "vae_log.json").is_file() else []
    if (out / "vae_state.pt").is_file():
        state = torch.load(out / "vae_state.pt", weights_only=True)
        pretransform.model.load_state_dict(state["model"], strict=True)
        if (probe is not None) != ("probe" in state):
            raise ConfigError(f"train-own: {out / 'vae_state.pt'} was written with a different vae_probe_weight "
                              "setting; use the same recipe or a new --out")
        if probe is not None:
            probe.load_state_dict(state["probe"], strict=True)
        if adversary is not None and "discriminator" in state:
            adversary[0].load_state_dict(state["discriminator"], strict=True)
            adversary[1].load_state_dict(state["discriminator_optimizer"])
        opt.load_state_dict(state["optimizer"])
        return log[: state["step"]], state["step"]
    if (out / "vae.safetensors").is_file() and log:  # a finished run of an older recipe: weights only
        pretransform.model.load_state_dict(load_file(str(out / "vae.safetensors")), strict=True)
        return log, len(log)
    return [], 0


def vae_steps_done(out: Path) -> int:
    """Optimizer steps stage 1 has completed in `out` (0 when it never ran)."""
    if (out / "vae_state.pt").is_file():
        return int(torch.load(out / "vae_state.pt", weights_only=True)["step"])
    if (out / "vae.safetensors").is_file() and (out / "vae_log.json").is_file():
        return len(json.loads((out / "vae_log.json").read_text()))
    return 0


@torch.no_grad()
def latent_scale(pretransform: Any, audio: torch.Tensor) -> float:
    """audio: (N, C, S) -> std of the (unscaled) posterior means: the pretransform scale to use."""
    from audiox.vae import bottleneck

    means = [bottleneck.posterior(pretransform.model.encode_features(a[None]))[0] for a in audio]
    return float(torch.cat(means).std())


def _load_vae(model: Any, path: Path) -> None:
    from safetensors.torch import load_file

    model.pretransform.model.load_state_dict(load_file(str(path)), strict=True)


def diffusion_train_config(recipe: OwnRecipe, *, progress: bool) -> Any:
    """The TrainConfig of stage 4: the AudioX preset with a from-scratch learning rate, a short-run EMA and
    logit-normal timesteps; batch, steps and seed from the recipe."""
    from audiox.training.config import RunSection, TrainConfig
    from audiox.training.ema import EmaConfig
    from audiox.training.schedules import AdamWConfig, InverseLRConfig

    return TrainConfig(
        run=RunSection(batch_size=recipe.batch, max_steps=recipe.steps, seed=recipe.seed, log_every_n_steps=25,
                       checkpoint_every_n_steps=200, gradient_clip_val=1.0, progress_bar=progress),
        optimizer=AdamWConfig(lr=recipe.lr, betas=(0.9, 0.99), weight_decay=1e-3),
        scheduler=InverseLRConfig(inv_gamma=1e6, power=0.5, warmup=0.99, final_lr=0.0),
        ema=EmaConfig(beta=0.999),
        timestep_sampler="logit_normal",
        timestep_mean=recipe.timestep_mean,
        event_weight=recipe.event_weight,
    )


def train_own_model(out_dir: str | Path, recipe: OwnRecipe = OwnRecipe(), *, quiet: bool = False) -> Path:  # noqa: B008 (frozen)
    """Run every stage (module docstring) into `out_dir`; returns the finished model folder out_dir/model."""
    from audiox.synth.training_data import (
        SynthTrainingConfig,
        SynthTrainingDataset,
        build_own_model,
        copy_vae_encoder,
        synth_training_config,
        to_storage_dtype,
    )
    from audiox.training.encode_dataset import encode_dataset
    from audiox.training.fit import train_diffusion

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "recipe.json").write_text(json.dumps(asdict(recipe), indent=2))
    started = time.perf_counter()
    model, options = build_own_model(recipe.backbone, seed=recipe.seed)
    vae_from = recipe.vae_from if recipe.vae_from is not None else recipe.init_from
    if vae_from is not None:
        import_vae(Path(vae_from), out / "vae")
    data_cfg: SynthTrainingConfig = synth_training_config(
        model, seed=recipe.seed, world_seed=recipe.world_seed, length=recipe.items, music_prob=recipe.music_prob,
        task_weights=recipe.task_weights, random_sign_flip=False,
    )
    vae_path = out / "vae" / "vae.safetensors"
    scale_path = out / "vae" / "latent_scale.json"
    if vae_from is None and (vae_steps_done(out / "vae") < recipe.vae_steps or not vae_path.is_file()):
        _say(f"stage 1/6: VAE, {recipe.vae_steps} steps", quiet)
        train_vae_stage(model, recipe, data_cfg.world(), out / "vae", quiet=quiet)
        scale_path.unlink(missing_ok=True)
        _remove_stale(out / "cache", out / "dit")  # encoded with (and trained on) the old VAE
    if not scale_path.is_file():
        _load_vae(model, vae_path)
        scale = latent_scale(model.pretransform, _world_audio(data_cfg.world(), 32, offset=20_000_000))
        scale_path.write_text(json.dumps({"scale": scale}))
    scale = json.loads(scale_path.read_text())["scale"]
    _say(f"stage 2/6: latent scale {scale:.4f}", quiet)
    model, options = build_own_model(recipe.backbone, seed=recipe.seed, latent_scale=scale,
                                     pooled_condition=recipe.pooled_condition, coherent_init=recipe.coherent_init,
                                     plan_slots=recipe.plan_slots, plan_concrete=recipe.plan_truth > 0)
    if recipe.init_from is not None:
        init_diffusion_from(model, Path(recipe.init_from))
    _load_vae(model, vae_path)  # after the init: a --vae-from other than --init-from wins, as documented
    copy_vae_encoder(model)
    if recipe.caption_pretrain_steps > 0:
        _say(f"stage 2b: caption encoder, {recipe.caption_pretrain_steps} steps", quiet)
        pretrained_caption_encoder(model, recipe, out / "caption_encoder", quiet=quiet)
    if recipe.plan_slots > 0:
        _say(f"stage 2c: caption planner, {recipe.planner_steps} steps", quiet)
        trained_planner(model, recipe, out / "planner", quiet=quiet)
    cache = out / "cache"
    if not (cache / "index.json").is_file():
        _say(f"stage 3/6: encoding {recipe.items} training examples", quiet)
        encode_dataset(model, SynthTrainingDataset(data_cfg), cache, batch_size=8, progress=not quiet)
    dit = out / "dit"
    final = dit / "export" / "final"
    done_path = dit / "steps_done.json"
    done = json.loads(done_path.read_text())["steps"] if done_path.is_file() else 0
    if not (final / "config.json").is_file() or done < recipe.steps:
        _say(f"stage 4/6: diffusion, {recipe.steps} steps of {recipe.batch}", quiet)
        last = dit / "checkpoints" / "last.ckpt"
        wrap = None
        if recipe.plan_truth > 0:
            from functools import partial

            from audiox.synth.plan_truth import PlanTruthDataset

            wrap = partial(PlanTruthDataset, world=data_cfg.world(), slots=recipe.plan_slots,
                           share=recipe.plan_truth, seed=recipe.seed)
        result = train_diffusion(model, diffusion_train_config(recipe, progress=not quiet), cache, dit,
                                 resume=last if last.is_file() else None, export_options=options, wrap_dataset=wrap)
        done_path.write_text(json.dumps({"steps": int(result.trainer.global_step)}))
    decoder_path = out / "decoder" / "vae.safetensors"
    refine = recipe.decoder_steps > 0 and vae_from is None
    if refine and (vae_steps_done(out / "decoder") < recipe.decoder_steps or not decoder_path.is_file()):
        _say(f"stage 5/6: decoder refinement, {recipe.decoder_steps} steps", quiet)
        _load_vae(model, vae_path)
        train_vae_stage(model, recipe, data_cfg.world(), out / "decoder", quiet=quiet, decoder_only=True)
    folder = out / "model"
    _say("stage 6/6: float16 model folder", quiet)
    _finish_folder(final, folder, decoder_path if refine else None)
    to_storage_dtype(str(folder))
    _say(f"done in {(time.perf_counter() - started) / 60:.1f} min: {folder}", quiet)
    return folder


def pretrained_caption_encoder(model: Any, recipe: OwnRecipe, out: Path, *, quiet: bool = False) -> Path:
    """Stage 2b: pretrain the model's T5 on world captions (`synth.caption_pretraining`) and save it to `out`
    (a Hugging Face folder); a run that finds it there loads it instead of training again."""
    from transformers import T5EncoderModel

    from audiox.synth.caption_pretraining import kind_readout, pretrain_caption_encoder
    from audiox.synth.training_data import text_conditioner

    text = text_conditioner(model)
    encoder = text.text_encoder
    if (out / "config.json").is_file():
        loaded = T5EncoderModel.from_pretrained(str(out)).float().eval().requires_grad_(False)
        encoder.model.load_state_dict(loaded.state_dict(), strict=True)
        return out
    before = kind_readout(encoder, max_length=text.max_length)
    log = pretrain_caption_encoder(encoder, steps=recipe.caption_pretrain_steps, seed=recipe.seed,
                                   max_length=text.max_length, progress=not quiet)
    after = kind_readout(encoder, max_length=text.max_length)
    encoder.model.to(text.text_encoder_dtype)
    import shutil

    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    encoder.model.save_pretrained(str(tmp))
    (tmp / "pretraining.json").write_text(json.dumps({"steps": len(log), "loss": log, "kind_readout_before": before,
                                                      "kind_readout_after": after}))
    shutil.rmtree(out, ignore_errors=True)
    tmp.replace(out)
    _say(f"caption encoder: kind readout {before:.2f} -> {after:.2f} (Jaccard, held-out captions)", quiet)
    return out


def trained_planner(model: Any, recipe: OwnRecipe, out: Path, *, quiet: bool = False) -> Path:
    """Stage 2c: train the model's caption planner on world captions (`synth.plan_pretraining`, the T5 as
    it is now) and save it to out/planner.safetensors with its held-out scores; a run that finds the file
    loads it instead. Needs the T5 final (after stage 2b)."""
    from safetensors.torch import load_file, save_file

    from audiox.synth.plan_pretraining import plan_scores, pretrain_planner
    from audiox.synth.training_data import text_conditioner

    text = text_conditioner(model)
    path = out / "planner.safetensors"
    if path.is_file():
        text.planner.load_state_dict(load_file(str(path)), strict=True)
        return path
    dtype = next(text.text_encoder.model.parameters()).dtype
    text.text_encoder.model.float()
    before = plan_scores(text)
    log = pretrain_planner(text, steps=recipe.planner_steps, seed=recipe.seed, progress=not quiet)
    after = plan_scores(text)
    text.text_encoder.model.to(dtype)
    out.mkdir(parents=True, exist_ok=True)
    (out / "planner.json").write_text(json.dumps({"steps": len(log), "loss": log, "before": before, "after": after}))
    save_file({k: v.contiguous() for k, v in text.planner.state_dict().items()}, str(out / "planner.tmp"))
    (out / "planner.tmp").replace(path)
    _say(f"caption planner: held-out kinds {before['kinds']:.2f} -> {after['kinds']:.2f} (Jaccard), active slots "
         f"{before['active_slots']:.2f} -> {after['active_slots']:.2f} (F1), loss {after['loss']:.4f}", quiet)
    return path


def init_diffusion_from(model: Any, folder: Path) -> None:
    """Load every weight of an own-model folder into `model` (built by `build_own_model` with this run's
    options): backbone, MAF, conditioner layers, the frozen CLIP tower and VAE copies, and the T5 (outside
    the state dict). The frozen encoders must be the folder's: its backbone learned their features (a recipe
    build with other options draws other random frozen towers), so the run's cache is encoded with them.
    The only keys allowed to be missing are those of a request path the folder lacks (`pooled`, and the
    caption planner with its projection: their outputs start at zero, so the loaded model computes as the
    folder's until it trains; the token-axis projection's timeline columns are then pointed at the same
    times, `init_plan_slots`, which changes only what it reads from the ~0 padding slots)."""
    from audiox.conditioning.text_t5 import T5TextConditioner
    from audiox.pipeline import AudioX
    from audiox.synth.training_data import init_plan_slots, text_conditioner

    source = AudioX.from_pretrained(folder).model
    try:
        result = model.load_state_dict({k: v.float() for k, v in source.state_dict().items()}, strict=False)
    except RuntimeError as err:  # shape mismatches
        raise ConfigError(f"train-own: --init-from {folder} does not fit this recipe's model "
                          f"({str(err).splitlines()[1].strip()}); use a folder of the same backbone and sizes") from None
    if any(".planner." in k for k in result.unexpected_keys):
        raise ConfigError(f"train-own: --init-from {folder} has a caption planner; add --plan-slots "
                          f"{text_conditioner(source).planner.slots} to keep it")
    new_paths = (".pooled.", ".planner.", ".plan_proj.")
    missing = [k for k in result.missing_keys if not any(p in k for p in new_paths)]
    if missing or result.unexpected_keys:
        raise ConfigError(f"train-own: --init-from {folder} does not fit this recipe's model (missing "
                          f"{missing[:3]}, unexpected {result.unexpected_keys[:3]}); use a folder of the same "
                          "backbone and sizes")
    for cond_id, conditioner in model.conditioner.conditioners.items():
        if isinstance(conditioner, T5TextConditioner):
            theirs = source.conditioner.conditioners[cond_id].text_encoder.model.state_dict()
            conditioner.text_encoder.model.load_state_dict({k: v.float() for k, v in theirs.items()}, strict=True)
    if any(".planner." in k for k in result.missing_keys):
        init_plan_slots(model)  # the folder's projection never read a timeline


def export_checkpoint(model_dir: str | Path, checkpoint: str | Path, folder: str | Path) -> Path:
    """A model folder from a diffusion-stage checkpoint of a run: `model_dir` (a finished folder of the same
    run: config, VAE, encoders, options) with the checkpoint's trained weights and its EMA backbone, in
    float16. For measuring a run at its intermediate steps (`benchmarks/own_curve.py`)."""
    import shutil

    from audiox.pipeline import AudioX
    from audiox.pipeline.load import save_pipeline
    from audiox.synth.training_data import to_storage_dtype

    pipe = AudioX.from_pretrained(model_dir)
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)["state_dict"]
    model_state = {k[len("model."):]: v for k, v in state.items() if k.startswith("model.")}
    pipe.model.load_state_dict(model_state, strict=True)
    ema = {k[len("ema.ema_model."):]: v for k, v in state.items() if k.startswith("ema.ema_model.")}
    if ema:
        pipe.model.backbone.load_state_dict(ema, strict=True)
    folder = Path(folder)
    if folder.exists():
        shutil.rmtree(folder)
    options = json.loads((Path(model_dir) / "audiox.json").read_text())
    save_pipeline(pipe, folder, options=options)
    to_storage_dtype(str(folder))
    return folder


def import_vae(model_dir: Path, out: Path) -> Path:
    """Write the VAE of a model folder (`pretransform.model.*` of its weights, its config's pretransform
    scale) as this run's out/vae.safetensors and out/latent_scale.json; returns the weights path. Stages
    that use the VAE then take it as if stage 1 had trained it. An existing import is kept."""
    from safetensors.torch import load_file

    from audiox.checkpoints.convert import write_safetensors_atomic
    from audiox.config.parse import load_config

    weights = out / "vae.safetensors"
    if weights.is_file() and (out / "latent_scale.json").is_file():
        return weights
    files = sorted(model_dir.glob("model.safetensors"))
    if not files:
        raise ConfigError(f"train-own: --vae-from {model_dir}: no model.safetensors there; give an own-model folder")
    prefix = "pretransform.model."
    tensors = {k[len(prefix):]: v.float() for k, v in load_file(str(files[0])).items() if k.startswith(prefix)}
    if not tensors:
        raise ConfigError(f"train-own: --vae-from {model_dir}: its weights hold no VAE ({prefix}*)")
    scale = load_config(model_dir / "config.json").model.pretransform.scale
    out.mkdir(parents=True, exist_ok=True)
    write_safetensors_atomic(tensors, weights, {"format": "audiox-vae", "source": str(model_dir)})
    (out / "latent_scale.json").write_text(json.dumps({"scale": scale}))
    return weights


def _remove_stale(*folders: Path) -> None:
    import shutil

    for folder in folders:
        if folder.exists():
            shutil.rmtree(folder)


def _finish_folder(exported: Path, folder: Path, vae: Path | None = None) -> None:
    """Copy the exported model folder to `folder`, put in the refined VAE decoder of `vae` (a
    `save_vae` file) and add the own model's generation defaults."""
    import shutil

    from safetensors import safe_open
    from safetensors.torch import load_file

    from audiox.checkpoints.convert import write_safetensors_atomic
    from audiox.config.parse import load_config

    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(exported, folder)
    if vae is not None:
        weights = folder / "model.safetensors"
        with safe_open(str(weights), "pt") as f:
            metadata = f.metadata() or {}
        tensors = load_file(str(weights))
        decoder = {f"pretransform.model.{k}": v for k, v in load_file(str(vae)).items() if k.startswith("decoder.")}
        missing = sorted(set(decoder) - set(tensors))
        if missing:
            raise ConfigError(f"train-own: refined decoder keys not in {weights}: {missing[:3]}")
        write_safetensors_atomic({**tensors, **decoder}, weights, metadata)
    options_path = folder / "audiox.json"
    options = json.loads(options_path.read_text()) if options_path.is_file() else {}
    objective = load_config(folder / "config.json").model.diffusion.diffusion_objective
    options["generation_defaults"] = dict(GENERATION_DEFAULTS[objective])
    options_path.write_text(json.dumps(options, indent=2))


