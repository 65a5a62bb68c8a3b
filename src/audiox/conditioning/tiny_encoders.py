"""Toy stand-ins for the pretrained encoders (T5, CLIP vision tower), built from `transformers` config
objects with random weights and a word-level tokenizer: no hub, no download. For tests, demos and the
`tiny` presets; real models load T5 offline (`text_t5.load_t5_text_encoder`) and CLIP from the checkpoint."""

from __future__ import annotations

import torch
from tokenizers import Tokenizer, models, pre_tokenizers, processors
from transformers import CLIPVisionConfig, PreTrainedTokenizerFast, T5Config, T5EncoderModel

from audiox.conditioning.text_t5 import T5TextEncoder

TINY_WORDS = (  # noqa: SIM905 (the word list reads better as one string)
    "a an the and then followed by of in on with music audio sound sounds for video generate general "
    "dog barks rain birds sing bell knock knocks clap whistle engine drum drums tone chirp loud soft "
    "two three four once twice piano guitar bass fast slow happy calm"
).split()


def word_tokenizer(words: tuple[str, ...] | list[str] = tuple(TINY_WORDS)) -> PreTrainedTokenizerFast:
    """A T5-style word-level tokenizer: ids 0 <pad>, 1 </s>, 2 <unk>, then `words`; appends </s>."""
    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2} | {w: i + 3 for i, w in enumerate(dict.fromkeys(words))}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")


def tiny_t5(d_model: int = 512, *, generator_seed: int = 0) -> T5TextEncoder:
    """A 1-layer T5 encoder of width `d_model` with the word tokenizer (random weights, seeded)."""
    tokenizer = word_tokenizer()
    cfg = T5Config(
        vocab_size=len(tokenizer), d_model=d_model, d_kv=8, d_ff=2 * d_model, num_layers=1, num_heads=4,
        relative_attention_num_buckets=8, relative_attention_max_distance=16, decoder_start_token_id=0,
    )
    state = torch.random.get_rng_state()
    torch.manual_seed(generator_seed)  # transformers initialises from the global RNG; restore it after
    try:
        model = T5EncoderModel(cfg).eval()
    finally:
        torch.random.set_rng_state(state)
    return T5TextEncoder(tokenizer=tokenizer, model=model)


def tiny_clip_config(hidden: int = 32) -> CLIPVisionConfig:
    """A 1-layer CLIP vision tower on 64 px frames with 32 px patches (5 tokens per frame)."""
    return CLIPVisionConfig(
        hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=1, num_attention_heads=2,
        patch_size=32, image_size=64, projection_dim=8, hidden_act="quick_gelu",
    )


def tiny_conditioner_options(clip_width: int = 32) -> dict:
    """`ConditionerSet` options for the tiny presets: tiny CLIP tower, a 1-layer temporal transformer,
    T5 in float32."""
    return {
        "vision_config": tiny_clip_config(clip_width),
        "temporal_sizes": {"temporal_depth": 1, "temporal_heads": 2, "temporal_dim_head": 8, "temporal_mlp_dim": 64},
        "text_encoder_dtype": torch.float32,
    }
