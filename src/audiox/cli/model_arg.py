"""The model options the verbs share: a folder or a Hugging Face repo id, fetched only with --download."""

from __future__ import annotations

import argparse

MODEL_HELP = (
    "model folder (config.json + model.ckpt/model.safetensors, + vae.ckpt, synchformer_state_dict.pth, "
    "t5-base/) or Hugging Face repo id owner/name[@revision] (e.g. HKUSTAudio/AudioX-MAF), read from the "
    "local HF cache"
)


def add_download_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--download",
        action="store_true",
        help="fetch a hub model's missing files (and T5 / CLIP) into the Hugging Face cache; without it "
        "nothing is downloaded, and HF_HUB_OFFLINE=1 forbids it",
    )
