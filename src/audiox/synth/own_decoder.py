"""A new VAE decoder for an own-model folder, trained on that folder's frozen encoder (`audiox train-own
--decoder-only`).

The encoder and the latent scale stay exactly as in the source folder, so every diffusion model trained on
its latents can use the new decoder unchanged; only `model.pretransform.config.decoder.config` (width
`channels`, `c_mults`) and the `pretransform.model.decoder.*` weights change. Steps (each resumable):
  1. out/decoder/   the decoder trained alone (`own_training.train_vae_stage`, decoder_only) from a fresh,
                    seeded init when a shape is given (`decoder_channels` / `decoder_c_mults`; with
                    `decoder_widen` from the folder's decoder widened without changing its output,
                    `vae.widen`), else from the folder's own decoder -> out/decoder/vae.safetensors (state
                    every 100 steps; a resumed run loads it, so the init only matters at step 0)
  2. out/model/     the source folder with the new decoder (config and weights), float16.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import torch

from audiox.errors import ConfigError

DECODER_PREFIX = "pretransform.model.decoder."
ENCODER_PREFIX = "pretransform.model.encoder."
SHAPE_FILE = "decoder_shape.json"


def decoder_config_dict(source: Path, channels: int | None, c_mults: tuple[int, ...] | None,
                        noise_blocks: int | None = None) -> dict:
    """The source folder's config.json as a dict with the decoder's `channels` / `c_mults` / `noise_blocks`
    replaced (None: kept); one stride per c_mult is required (the strides, hence the hop, never change)."""
    config = json.loads((source / "config.json").read_text())
    try:
        decoder = config["model"]["pretransform"]["config"]["decoder"]["config"]
    except (KeyError, TypeError):
        raise ConfigError(f"train-own: {source / 'config.json'} has no model.pretransform.config.decoder; "
                          "give an own-model folder (--vae-from)") from None
    if channels is not None:
        if channels <= 0:
            raise ConfigError(f"train-own: --decoder-channels {channels} must be > 0")
        decoder["channels"] = channels
    if c_mults is not None:
        if len(c_mults) != len(decoder["strides"]) or min(c_mults) <= 0:
            raise ConfigError(f"train-own: --decoder-c-mults {list(c_mults)} needs {len(decoder['strides'])} "
                              f"positive values, one per stride {decoder['strides']}")
        decoder["c_mults"] = list(c_mults)
    if noise_blocks is not None:
        if not 0 <= noise_blocks <= len(decoder["strides"]):
            raise ConfigError(f"train-own: --decoder-noise {noise_blocks} must be in 0..{len(decoder['strides'])}")
        decoder["noise_blocks"] = noise_blocks
    return config


def new_decoder(config: dict, seed: int) -> torch.nn.Module:
    """A fresh `OobleckDecoder` of the config dict's decoder section, initialised from `seed` (the global
    RNG is restored afterwards)."""
    from audiox.config.parse import parse_config
    from audiox.vae.oobleck import OobleckDecoder

    parsed = parse_config(config, source="decoder config")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return OobleckDecoder(parsed.model.pretransform.config.decoder.config)


def with_noise_sources(decoder: torch.nn.Module, config: dict, seed: int) -> torch.nn.Module:
    """A decoder of the config dict's shape (with its `noise_blocks`) holding `decoder`'s weights; its noise
    sources start at zero, so it decodes exactly as `decoder` does."""
    noisy = new_decoder(config, seed)
    missing, unexpected = noisy.load_state_dict(decoder.state_dict(), strict=False)
    if unexpected or any(".gate." not in k for k in missing):
        raise ConfigError(f"train-own: --decoder-noise cannot take over this decoder (missing {missing[:3]}, "
                          f"unexpected {unexpected[:3]})")
    return noisy


def _check_shape(out: Path, decoder: dict) -> None:
    """Record the decoder shape of a run in out/decoder_shape.json; a rerun with another shape fails."""
    path = out / SHAPE_FILE
    shape = {k: decoder[k] for k in ("channels", "c_mults", "strides")} | {"noise_blocks": decoder.get("noise_blocks", 0)}
    if path.is_file():
        recorded = {"noise_blocks": 0} | json.loads(path.read_text())
        if recorded != shape:
            raise ConfigError(f"train-own: {out} holds a decoder of shape {recorded}, not {shape}; use the "
                              "same --decoder-channels / --decoder-c-mults or a new --out")
        return
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(shape))


def train_decoder_only(out_dir: str | Path, recipe: Any, *, quiet: bool = False) -> Path:
    """Train a decoder for `recipe.vae_from`'s frozen encoder (module docstring) for `recipe.decoder_steps`
    into out_dir/decoder and write out_dir/model; returns that folder. A larger `decoder_steps` on the same
    out_dir continues the run (`train_vae_stage`'s resume); 0 steps writes the initial decoder (e.g. the
    widened one, which decodes as the folder's own does)."""
    from safetensors.torch import load_file

    from audiox.pipeline import AudioX
    from audiox.synth.own_training import train_vae_stage
    from audiox.synth.training_data import synth_training_config

    if recipe.vae_from is None:
        raise ConfigError("train-own: --decoder-only needs --vae-from FOLDER (the model whose encoder stays)")
    source, out = Path(recipe.vae_from), Path(out_dir)
    if not (source / "config.json").is_file():
        raise ConfigError(f"train-own: --vae-from {source}: no config.json there; give an own-model folder")
    started = time.perf_counter()
    config = decoder_config_dict(source, recipe.decoder_channels, recipe.decoder_c_mults, recipe.decoder_noise)
    _check_shape(out / "decoder", config["model"]["pretransform"]["config"]["decoder"]["config"])
    model = AudioX.from_pretrained(str(source)).model.float()
    reshaped = recipe.decoder_channels is not None or recipe.decoder_c_mults is not None
    target = None
    if recipe.decoder_distill:
        if not reshaped or recipe.decoder_adversarial:
            raise ConfigError("train-own: --decoder-distill needs a new decoder shape (--decoder-channels / "
                              "--decoder-c-mults) and no --decoder-adversarial")
        target = model.pretransform.model.decoder.eval().requires_grad_(False)
    if reshaped:
        decoder = new_decoder(config, recipe.seed)
        if recipe.decoder_widen:
            from audiox.vae.widen import widen_decoder

            decoder = widen_decoder(model.pretransform.model.decoder, decoder, seed=recipe.seed)
        model.pretransform.model.decoder = decoder
    elif recipe.decoder_widen:
        raise ConfigError("train-own: --decoder-widen needs a wider shape (--decoder-channels)")
    if recipe.decoder_noise:
        model.pretransform.model.decoder = with_noise_sources(model.pretransform.model.decoder, config, recipe.seed)
    world = synth_training_config(model, seed=recipe.seed, world_seed=recipe.world_seed).world()
    if not quiet:
        shape = config["model"]["pretransform"]["config"]["decoder"]["config"]
        goal = ", learning the output of its decoder" if target is not None else ""
        print(f"train-own: decoder {shape['channels']} x {shape['c_mults']}, {recipe.decoder_steps} steps on "
              f"the frozen encoder of {source}{goal}", file=sys.stderr, flush=True)
    weights = train_vae_stage(model, recipe, world, out / "decoder", quiet=quiet, decoder_only=True,
                              target_decoder=target)
    folder = write_folder(source, config, load_file(str(weights)), out / "model")
    if not quiet:
        print(f"train-own: done in {(time.perf_counter() - started) / 60:.1f} min: {folder}", file=sys.stderr)
    return folder


def write_folder(source: Path, config: dict, vae_tensors: dict[str, torch.Tensor], folder: Path, *,
                 half: bool = True) -> Path:
    """`folder` = a copy of the model folder `source` with `config` (its decoder section changed) and the
    `decoder.*` tensors of `vae_tensors` (VAE key names, as a `save_vae` file holds them) in place of its own,
    in float16 (the shipped dtype; `half` False: every tensor in the dtype `source` stores it in, the new
    decoder in that of the encoder); returns `folder`. An existing `folder` is replaced."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    from audiox.checkpoints.convert import write_safetensors_atomic
    from audiox.synth.training_data import to_storage_dtype

    tmp = folder.with_name(folder.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    shutil.copytree(source, tmp)
    weights = tmp / "model.safetensors"
    with safe_open(str(weights), "pt") as f:
        metadata = f.metadata() or {}
    kept = {k: v for k, v in load_file(str(weights)).items() if not k.startswith(DECODER_PREFIX)}
    dtype = next((v.dtype for k, v in kept.items() if k.startswith(ENCODER_PREFIX)), torch.float32)
    decoder = {f"pretransform.model.{k}": v if half else v.to(dtype) for k, v in vae_tensors.items()
               if k.startswith("decoder.")}
    if not decoder:
        raise ConfigError(f"train-own: no decoder weights (decoder.*) to write into {folder}")
    write_safetensors_atomic(kept | decoder, weights, metadata)
    (tmp / "config.json").write_text(json.dumps(config, indent=2))
    if half:
        to_storage_dtype(str(tmp))
    if folder.exists():
        shutil.rmtree(folder)
    tmp.rename(folder)
    return folder


def swap_decoder(folder: str | Path, decoder_folder: str | Path, out: str | Path) -> Path:
    """`out` = the model folder `folder` with the VAE decoder (config section and weights) of `decoder_folder`,
    e.g. a distilled student given the lighter decoder that `audiox train-own --decoder-only` trained for
    its teacher; returns `out`. Both folders must share the encoder (every `pretransform.model.encoder.*`
    tensor equal in float32) and the latent scale, i.e. the same latents: else a ConfigError."""
    from safetensors.torch import load_file

    folder, decoder_folder, out = Path(folder), Path(decoder_folder), Path(out)
    for path in (folder, decoder_folder):
        if not (path / "config.json").is_file() or not (path / "model.safetensors").is_file():
            raise ConfigError(f"decoder swap: {path} is not a model folder (config.json + model.safetensors)")
    configs = [json.loads((p / "config.json").read_text()) for p in (folder, decoder_folder)]
    try:
        pre = [c["model"]["pretransform"] for c in configs]
        same_latents = pre[0]["config"]["encoder"] == pre[1]["config"]["encoder"] and \
            pre[0].get("scale") == pre[1].get("scale") and \
            pre[0]["config"]["latent_dim"] == pre[1]["config"]["latent_dim"]
    except (KeyError, TypeError):
        raise ConfigError(f"decoder swap: {folder} or {decoder_folder} has no model.pretransform section") from None
    mine, theirs = load_file(str(folder / "model.safetensors")), load_file(str(decoder_folder / "model.safetensors"))
    encoder = sorted(k for k in mine if k.startswith(ENCODER_PREFIX))
    same_latents = same_latents and encoder == sorted(k for k in theirs if k.startswith(ENCODER_PREFIX)) and \
        all(torch.equal(mine[k].float(), theirs[k].float()) for k in encoder)
    if not same_latents:
        raise ConfigError(f"decoder swap: {decoder_folder} was not trained on the encoder of {folder} (its encoder "
                          "weights or latent scale differ); train one with `audiox train-own --decoder-only "
                          f"--vae-from {folder}`")
    config = configs[0]
    config["model"]["pretransform"]["config"]["decoder"] = pre[1]["config"]["decoder"]
    decoder = {k.removeprefix("pretransform.model."): v for k, v in theirs.items() if k.startswith(DECODER_PREFIX)}
    return write_folder(folder, config, decoder, out, half=False)


def snapshot(run_dir: str | Path, source: str | Path, folder: str | Path) -> tuple[Path, int]:
    """A model folder from a decoder run's last saved state (run_dir/decoder/vae_state.pt, readable while the
    run goes on): `source` (the run's --vae-from) with that decoder; returns (folder, its step). For
    measuring a run at its intermediate steps."""
    run, folder = Path(run_dir), Path(folder)
    shape = json.loads((run / "decoder" / SHAPE_FILE).read_text())
    state = torch.load(run / "decoder" / "vae_state.pt", weights_only=True)
    config = decoder_config_dict(Path(source), shape["channels"], tuple(shape["c_mults"]), shape.get("noise_blocks"))
    folder.mkdir(parents=True, exist_ok=True)
    return write_folder(Path(source), config, state["model"], folder / "model"), int(state["step"])
