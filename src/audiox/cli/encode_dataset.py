"""Pre-encode a manifest: cache VAE latents, T5 text states, CLIP video states and sync features to disk.

audiox encode-dataset --model MODEL_DIR --data train.jsonl --out cache/
Writes safetensors shards (keys "<item>/<name>") and cache/index.json; see
audiox.training.encode_dataset for the tensors. Windows start at 0 and are not sign-flipped.
"""

from __future__ import annotations

import argparse

from audiox.cli.model_arg import MODEL_HELP, add_download_argument


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="manifest (.jsonl)")
    p.add_argument("--out", required=True, help="cache folder")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", default=None, help=f"whose encoders to use: {MODEL_HELP}")
    source.add_argument("--model-config", default=None, help="tiny-dit, tiny-mmdit, or a model config.json")
    p.add_argument("--batch-size", type=int, default=4, help="items encoded together")
    p.add_argument("--shard-size", type=int, default=256, help="items per safetensors shard")
    p.add_argument("--manifest-root", default=None, help="folder that relative media paths are joined to")
    p.add_argument("--no-video", action="store_true", help="skip video files (no CLIP states)")
    add_download_argument(p)


def run(args: argparse.Namespace) -> int:
    from audiox.training.config import DataSection, TrainConfig
    from audiox.training.encode_dataset import encode_dataset
    from audiox.training.fit import build_training_model, manifest_dataset

    built = build_training_model(init=args.model, model_config=args.model_config, download=args.download)
    data = DataSection(random_crop=False, random_sign_flip=False, load_video=not args.no_video,
                       manifest_root=args.manifest_root)
    dataset = manifest_dataset(built.model, TrainConfig(data=data), args.data)
    index = encode_dataset(built.model, dataset, args.out, batch_size=args.batch_size, shard_size=args.shard_size,
                           progress=not args.quiet)
    print(f"encoded {len(dataset)} items; index: {index}")
    return 0
