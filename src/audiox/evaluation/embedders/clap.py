"""LAION-CLAP (Wu et al. 2023) for the CLAP score, through `transformers`' ClapModel (a core dependency).

Weights: a LAION-CLAP folder in Hugging Face layout, downloaded once, e.g.
huggingface.co/laion/clap-htsat-unfused or laion/larger_clap_general: config.json, model.safetensors
(or pytorch_model.bin), the preprocessor config and the RoBERTa tokenizer files. The model is built
from config.json and its weights loaded strictly by audiox's loader (transformers' own `from_pretrained`
would fill missing weights with random values).
Audio: 48 kHz mono, cut to the first 10 s (the extractor's random crop of longer clips is replaced by a
deterministic one), then the folder's feature extractor -> "audio": (D,) unit-norm projected embedding.
Text: `embed_text` -> (N, D) unit-norm projected embeddings.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from audiox.checkpoints.load import load_into
from audiox.checkpoints.read import read_checkpoint
from audiox.errors import CheckpointError
from audiox.evaluation.embedders.base import EmbedderInfo, file_sha256

PUBLISHED = "huggingface.co/laion/clap-htsat-unfused (the whole folder)"
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def _pooled(output) -> torch.Tensor:
    """transformers >= 5 returns an output object (pooler_output), older versions the tensor."""
    return output.pooler_output if hasattr(output, "pooler_output") else output


class ClapEmbedder:
    def __init__(self, model, processor, info: EmbedderInfo, device: str = "cpu") -> None:
        self.model, self.processor, self.info, self.device = model.eval(), processor, info, device

    @torch.no_grad()
    def embed(self, audio: torch.Tensor) -> dict[str, np.ndarray]:
        """audio: (S,) mono at 48 kHz -> {"audio": (D,)}."""
        extractor = self.processor.feature_extractor
        audio = audio[: extractor.nb_max_samples].double().cpu().numpy()
        inputs = extractor(audio, sampling_rate=self.info.sample_rate, return_tensors="pt")
        inputs = {k: v.to(self.device) for k, v in inputs.items() if k in ("input_features", "is_longer")}
        features = _pooled(self.model.get_audio_features(**inputs))  # (1, D)
        return {"audio": torch.nn.functional.normalize(features, dim=-1)[0].double().cpu().numpy()}

    @torch.no_grad()
    def embed_text(self, captions: list[str]) -> np.ndarray:
        """captions: N strings -> (N, D) unit-norm text embeddings."""
        tokens = self.processor.tokenizer(captions, padding=True, return_tensors="pt")
        tokens = {k: v.to(self.device) for k, v in tokens.items() if k in ("input_ids", "attention_mask")}
        features = _pooled(self.model.get_text_features(**tokens))  # (N, D)
        return torch.nn.functional.normalize(features, dim=-1).double().cpu().numpy()


def _weight_file(folder: Path) -> Path:
    if folder is None or not folder.is_dir():
        raise CheckpointError(f"embedder 'clap' needs a LAION-CLAP folder: download {PUBLISHED} and pass "
                              "--embedder clap=FOLDER (nothing is downloaded at run time)")
    if not (folder / "config.json").is_file():
        raise CheckpointError(f"{folder}: no config.json; embedder 'clap' wants the folder {PUBLISHED}")
    for name in WEIGHT_FILES:
        if (folder / name).is_file():
            return folder / name
    raise CheckpointError(f"{folder}: no {' or '.join(WEIGHT_FILES)}; download it from {PUBLISHED}")


def load_clap(path: Path | None, *, device: str = "cpu") -> ClapEmbedder:
    """LAION-CLAP from a local Hugging Face folder, strictly loaded, offline."""
    from transformers import ClapConfig, ClapModel, ClapProcessor

    weights = _weight_file(path)
    model = ClapModel(ClapConfig.from_pretrained(path, local_files_only=True))
    state, _ = read_checkpoint(weights)
    load_into(model, state, config_name=f"LAION-CLAP {path.name}", source=weights.name)
    try:
        processor = ClapProcessor.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError) as exc:
        reason = " ".join(str(exc).split())[:200]
        raise CheckpointError(f"{path}: cannot load the CLAP processor / tokenizer ({reason}); the folder "
                              f"needs the preprocessor and tokenizer files of {PUBLISHED}") from None
    rate = int(processor.feature_extractor.sampling_rate)
    info = EmbedderInfo(name="clap", sample_rate=rate, checkpoint=str(weights), sha256=file_sha256(weights),
                        version=1)
    return ClapEmbedder(model.to(device), processor, info, device)
