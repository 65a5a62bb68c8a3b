"""Text conditioner (`t5`): a frozen T5 encoder, then `proj_out` and zeroing of padded positions.

The T5 encoder is external and frozen: it is passed in (or loaded offline with `load_t5_text_encoder`)
and held outside the module registry, so it is in no state dict, like the official checkpoints. The
only weight of the conditioner is `proj_out` (a Linear only when the T5 width differs from cond_dim or
`project_out` is set; official t5-base -> 768 has none).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from audiox.config.schema import T5ConditionerConfig
from audiox.errors import CheckpointError, ConfigError, InputError

# hidden width per official T5 name (the official code's table)
T5_MODEL_DIMS: dict[str, int] = {
    "t5-small": 512,
    "t5-base": 768,
    "t5-large": 1024,
    "t5-3b": 1024,
    "t5-11b": 1024,
    "t5-xl": 2048,
    "t5-xxl": 4096,
    "google/flan-t5-small": 512,
    "google/flan-t5-base": 768,
    "google/flan-t5-large": 1024,
    "google/flan-t5-3b": 1024,
    "google/flan-t5-11b": 1024,
    "google/flan-t5-xl": 2048,
    "google/flan-t5-xxl": 4096,
}


@dataclass(frozen=True)
class T5TextEncoder:
    """A tokenizer plus a `T5EncoderModel` (or anything with the same call signature and `.config.d_model`)."""

    tokenizer: Any
    model: nn.Module


def _hub_candidates(name: str) -> list[str]:
    """Official short names also live under the `google-t5/` organisation on the hub."""
    return [name, f"google-t5/{name}"] if "/" not in name else [name]


def load_t5_text_encoder(name_or_folder: str | Path, *, cache_dir: str | Path | None = None) -> T5TextEncoder:
    """Load tokenizer + encoder from a local folder or the local Hugging Face cache, never the network.

    Raises `CheckpointError` naming the model when it is not available locally.
    """
    from transformers import AutoTokenizer, T5EncoderModel

    folder = Path(name_or_folder)
    candidates = [str(folder)] if folder.is_dir() else _hub_candidates(str(name_or_folder))
    for candidate in candidates:
        try:
            tokenizer = AutoTokenizer.from_pretrained(candidate, local_files_only=True, cache_dir=cache_dir)
            model = T5EncoderModel.from_pretrained(candidate, local_files_only=True, cache_dir=cache_dir)
        except (OSError, ValueError):
            continue
        return T5TextEncoder(tokenizer=tokenizer, model=model)
    raise CheckpointError(
        f"T5 model {str(name_or_folder)!r} not found locally (tried folder/HF cache entries {candidates}); "
        "download it once (e.g. `hf download google-t5/t5-base`) or pass its folder"
    )


class T5TextConditioner(nn.Module):
    """`t5` conditioner. Attribute names = official keys after `conditioner.conditioners.<id>.`."""

    def __init__(
        self,
        cfg: T5ConditionerConfig,
        *,
        output_dim: int,
        text_encoder: T5TextEncoder | None = None,
        text_encoder_dtype: torch.dtype = torch.float16,
    ) -> None:
        super().__init__()
        if cfg.enable_grad:
            raise ConfigError(
                "t5 conditioner: enable_grad=true (fine-tuning T5) is not supported; set it to false"
            )
        t5_dim = self._t5_dim(cfg, text_encoder)
        self.proj_out = (
            nn.Linear(t5_dim, output_dim) if (t5_dim != output_dim or cfg.project_out) else nn.Identity()
        )
        self.max_length = cfg.max_length
        self.t5_model_name = cfg.t5_model_name
        self.planner, self.plan_proj = self._planner(cfg, t5_dim, output_dim)
        self.plan_concrete = cfg.plan_concrete
        # official quirk: T5 runs with float16 weights (AudioX conditioners.py casts the model at load)
        self.text_encoder_dtype = text_encoder_dtype
        self.text_encoder: T5TextEncoder | None = None  # plain attribute: outside the state dict
        if text_encoder is not None:
            self.set_text_encoder(text_encoder)

    @staticmethod
    def _planner(cfg: T5ConditionerConfig, t5_dim: int, output_dim: int) -> tuple[nn.Module | None, nn.Module | None]:
        """audiox's own caption planner (frozen, trained apart) and its zero-initialised trainable projection
        into the token slots, when the config asks for `plan_slots`; else (None, None)."""
        if cfg.plan_slots <= 0:
            return None, None
        if cfg.plan_channels <= 0 or cfg.plan_slots >= cfg.max_length:
            raise ConfigError(f"t5 conditioner: plan_slots {cfg.plan_slots} needs plan_channels > 0 (got "
                              f"{cfg.plan_channels}) and fewer slots than max_length {cfg.max_length}")
        from audiox.conditioning.caption_planner import CaptionPlanner

        planner = CaptionPlanner(width=t5_dim, slots=cfg.plan_slots, channels=cfg.plan_channels)
        proj = nn.Linear(cfg.plan_channels, output_dim)
        nn.init.zeros_(proj.weight)
        nn.init.zeros_(proj.bias)
        return planner.requires_grad_(False), proj

    @property
    def plan_start(self) -> int:
        """First token slot of the planner's timeline (= max_length without a planner)."""
        return self.max_length - (self.planner.slots if self.planner is not None else 0)

    @staticmethod
    def _t5_dim(cfg: T5ConditionerConfig, text_encoder: T5TextEncoder | None) -> int:
        if text_encoder is not None:
            return int(text_encoder.model.config.d_model)
        if cfg.t5_model_name not in T5_MODEL_DIMS:
            known = ", ".join(T5_MODEL_DIMS)
            raise ConfigError(f"t5 conditioner: unknown t5_model_name {cfg.t5_model_name!r}; known: {known}")
        return T5_MODEL_DIMS[cfg.t5_model_name]

    def set_text_encoder(self, text_encoder: T5TextEncoder) -> None:
        """Attach a frozen encoder, cast to `text_encoder_dtype` (the official fp16 numerics by default)."""
        width = int(text_encoder.model.config.d_model)
        expected = self.proj_out.in_features if isinstance(self.proj_out, nn.Linear) else None
        if expected is not None and width != expected:
            raise InputError(f"T5 encoder width {width} does not match proj_out.in_features={expected}")
        text_encoder.model.eval().requires_grad_(False).to(self.text_encoder_dtype)
        self.text_encoder = text_encoder

    def project_hidden(self, hidden: Tensor, attention_mask: Tensor, *, plan: Tensor | None = None,
                       plan_rows: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """The part after T5. hidden: (B, L, E) T5 last_hidden_state (any float dtype), attention_mask: (B, L)
        -> (tokens (B, L, D) float32 with padded rows exactly zero, mask (B, L) bool).
        `plan` (B, plan_slots, plan_channels) in [0, 1], with `plan_rows` (B,) bool: a timeline that replaces
        the planner's in those rows (training on the true timeline of a caption, `synth.plan_truth`)."""
        mask = attention_mask.bool()
        tokens = self.proj_out(hidden.float())  # (B, L, D)
        tokens = tokens * mask.unsqueeze(-1).float()  # padding zeroed after proj_out (bias included)
        if self.planner is None:
            return tokens, mask
        # own planner: caption tokens past plan_start are dropped, the timeline fills those slots
        start = self.plan_start
        timeline = self.planner.plan(hidden, mask)  # (B, plan_slots, plan_channels)
        if self.plan_concrete:
            from audiox.conditioning.plan_concrete import concrete_plan

            timeline = concrete_plan(timeline)
        if plan is not None and plan_rows is not None:
            timeline = torch.where(plan_rows.to(timeline.device)[:, None, None], plan.to(timeline), timeline)
        plan = self.plan_proj(timeline)  # (B, plan_slots, D)
        tokens = torch.cat((tokens[:, :start], plan.to(tokens.dtype)), dim=1)
        mask = torch.cat((mask[:, :start], torch.ones_like(mask[:, start:])), dim=1)
        return tokens, mask

    def encode_text(self, texts: list[str]) -> tuple[Tensor, Tensor]:
        """Tokenize (pad/truncate to max_length) and run T5. -> (hidden (B, L, E), attention_mask (B, L) bool)."""
        if self.text_encoder is None:
            raise InputError(
                f"t5 conditioner has no text encoder; load {self.t5_model_name!r} with load_t5_text_encoder and attach it"
            )
        if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
            raise InputError(f"texts must be a list of strings, got {type(texts).__name__}")
        encoded = self.text_encoder.tokenizer(
            list(texts),
            truncation=True,
            max_length=self.max_length,
            padding="max_length",
            return_tensors="pt",
        )
        device = next(self.text_encoder.model.parameters()).device
        input_ids = encoded["input_ids"].to(device)
        attention_mask = encoded["attention_mask"].to(device).bool()
        with torch.no_grad():
            hidden = self.text_encoder.model(input_ids=input_ids, attention_mask=attention_mask)[
                "last_hidden_state"
            ]
        return hidden, attention_mask

    def forward(self, texts: list[str]) -> tuple[Tensor, Tensor]:
        """texts: B strings ("" = no text) -> (tokens (B, max_length, D), mask (B, max_length) bool)."""
        hidden, attention_mask = self.encode_text(texts)
        return self.project_hidden(hidden, attention_mask)
