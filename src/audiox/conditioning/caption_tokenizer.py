"""The own model's text encoder: a T5-style tokenizer trained on the synthetic world's caption vocabulary,
and a small random `T5EncoderModel` of the T5 architecture for it.

Tokenizer (`train_caption_tokenizer`): `tokenizers` WordPiece, NFKC + lowercase normalisation, split on
whitespace and punctuation, digits one by one (so every number is in-vocab), ids 0 `<pad>`, 1 `</s>`,
2 `<unk>` like T5, and `</s>` appended to every sequence. The vocabulary is learned from a corpus of
the captions the composer (`audiox.synth.captions`) writes for many seeds in every style, plus every
phrase of its tables and the default prompts of video-only requests, so every word a synth caption
uses is one whole token; other words fall back to `##` pieces of the ASCII alphabet rather than
`<unk>`. Deterministic: the same corpus gives the same vocabulary (`corpus_vocabulary`). It is returned as a transformers
`PreTrainedTokenizerFast` that `save_pretrained` / `AutoTokenizer.from_pretrained` round-trip offline.

Encoder (`small_t5`): built on `meta`, then initialised from an explicit `torch.Generator` with the T5
initialisation scales (no global RNG is touched).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from string import ascii_lowercase, digits, punctuation

import numpy as np
import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
from transformers import PreTrainedTokenizerFast, T5Config, T5EncoderModel

from audiox.conditioning.text_t5 import T5TextEncoder
from audiox.synth import captions as synth_captions
from audiox.synth.captions import caption_styles, compose_caption
from audiox.synth.dataset import SynthConfig, sample_labels
from audiox.synth.labels import MODES, PITCH_CLASSES
from audiox.synth.music import GENRES, INSTRUMENTS

SPECIAL_TOKENS = ("<pad>", "</s>", "<unk>")  # ids 0, 1, 2 as in T5
CORPUS_ITEMS = 2000  # synth items captioned (every style each) for the corpus
EXTRA_TEXT = (  # prompts users and the pipeline write that the composer does not
    "Generate general audio for the video. Generate music for the video. "
    "two knocks then a bell. a dog barks. sound effects, music, audio, video, image, and, then, after, before"
)
ALPHABET = list(ascii_lowercase + digits + punctuation)


def caption_corpus(*, items: int = CORPUS_ITEMS, seeds: Iterable[int] = (0, 1)) -> Iterator[str]:
    """Lines of training text: every table phrase of the composer, then the captions of `items` synth
    items per seed in every caption style (each drawn with the item's own caption generator)."""
    yield from composer_phrases()
    for seed in seeds:
        cfg = SynthConfig(seed=seed, length=items)
        for index in range(items):
            labels = sample_labels(cfg, index)
            for style in caption_styles(labels):
                yield compose_caption(labels, np.random.default_rng([seed, index, 1]), style=style)


def composer_phrases() -> list[str]:
    """Every phrase of the caption composer's tables (kinds, backgrounds, genres, instruments, counts,
    numbers, keys, modes, tempo words) and the extra prompts."""
    lines = [EXTRA_TEXT, "Silence.", "Only background sound (hum, noise, room)."]
    for p in synth_captions.VOCABULARY.values():
        lines.append(f"{p.tag}, {p.noun}, {p.plural}, {p.clause}, {p.gerund}")
    lines.append(", ".join(synth_captions.BACKGROUND_PHRASES.values()))
    lines.append(", ".join(n for nouns in synth_captions.GENRE_NOUNS.values() for n in nouns))
    lines.append(", ".join([*synth_captions.INSTRUMENT_NOUNS.values(), *INSTRUMENTS, *GENRES]))
    lines.append(", ".join([*synth_captions.COUNT_WORDS.values(), *synth_captions.NUMBER_WORDS.values()]))
    lines.append(", ".join([*PITCH_CLASSES, *MODES, "slow", "moderate", "upbeat", "fast", "BPM"]))
    lines.append("bright cheerful melancholic moody melody with bass over a simple bass line featuring in at")
    return lines


def _caption_tokenizer(vocab: dict[str, int]) -> Tokenizer:
    """A WordPiece tokenizer over `vocab` with the caption normalisation and pre-tokenisation."""
    tokenizer = Tokenizer(models.WordPiece(vocab, unk_token="<unk>", continuing_subword_prefix="##"))
    tokenizer.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation(), pre_tokenizers.Digits(individual_digits=True)]
    )
    tokenizer.decoder = decoders.WordPiece(prefix="##")
    return tokenizer


def corpus_vocabulary(lines: Iterable[str]) -> list[str]:
    """The WordPiece vocabulary learned from `lines`: the special tokens, then every word the caption
    pre-tokenisation yields and every alphabet character (sorted), then `##` + each character.

    Every corpus word is one whole token; other words split into characters. (The `tokenizers`
    WordPieceTrainer breaks count ties in hash order, so its vocabulary changes from run to run; this
    one is a pure function of the corpus.)"""
    probe = _caption_tokenizer({t: i for i, t in enumerate(SPECIAL_TOKENS)})
    words: set[str] = set(ALPHABET)
    for line in lines:
        normalized = probe.normalizer.normalize_str(line)
        words.update(word for word, _ in probe.pre_tokenizer.pre_tokenize_str(normalized))
    return [*SPECIAL_TOKENS, *sorted(words - set(SPECIAL_TOKENS)), *(f"##{c}" for c in ALPHABET)]


def train_caption_tokenizer(lines: Iterable[str] | None = None, *, max_length: int = 128) -> PreTrainedTokenizerFast:
    """Learn the caption tokenizer from `lines` (default: `caption_corpus()`) and wrap it.

    The result pads with id 0, ends every sequence with `</s>` (id 1) and maps unknown characters to
    `<unk>` (id 2); `model_max_length` = `max_length`."""
    vocabulary = corpus_vocabulary(caption_corpus() if lines is None else lines)
    tokenizer = _caption_tokenizer({token: i for i, token in enumerate(vocabulary)})
    eos = tokenizer.token_to_id("</s>")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", eos)]
    )
    return wrap_tokenizer(tokenizer, max_length=max_length)


def wrap_tokenizer(tokenizer: Tokenizer, *, max_length: int = 128) -> PreTrainedTokenizerFast:
    """A `tokenizers.Tokenizer` with the T5 special tokens -> transformers fast tokenizer."""
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, pad_token="<pad>", eos_token="</s>", unk_token="<unk>",
        model_max_length=max_length, padding_side="right",
    )


def t5_config(vocab_size: int, *, d_model: int, num_layers: int, num_heads: int, d_ff: int) -> T5Config:
    """A T5 (v1.0: ReLU feed-forward) encoder config; head dim = d_model // num_heads."""
    return T5Config(
        vocab_size=vocab_size, d_model=d_model, d_kv=d_model // num_heads, d_ff=d_ff, num_layers=num_layers,
        num_heads=num_heads, relative_attention_num_buckets=32, relative_attention_max_distance=128,
        dropout_rate=0.0, feed_forward_proj="relu", pad_token_id=0, eos_token_id=1, decoder_start_token_id=0,
    )


def small_t5(
    tokenizer: PreTrainedTokenizerFast,
    *,
    d_model: int = 128,
    num_layers: int = 2,
    num_heads: int = 4,
    d_ff: int = 256,
    generator: torch.Generator | None = None,
) -> T5EncoderModel:
    """A random `T5EncoderModel` for `tokenizer` (vocab = len(tokenizer)), eval mode, float32.

    Built on `meta` and initialised with T5's scales from `generator` (default: seeded with 0)."""
    cfg = t5_config(len(tokenizer), d_model=d_model, num_layers=num_layers, num_heads=num_heads, d_ff=d_ff)
    with torch.device("meta"):
        model = T5EncoderModel(cfg)
    model = model.to_empty(device="cpu")
    model.tie_weights()  # `to_empty` unties `shared` and `encoder.embed_tokens`
    init_t5_weights(model, cfg, generator if generator is not None else torch.Generator().manual_seed(0))
    return model.eval()


def init_t5_weights(model: T5EncoderModel, cfg: T5Config, generator: torch.Generator) -> None:
    """Fill every parameter with T5's initialisation (Mesh-TF scales), in parameter order, from `generator`."""
    d_model, inner, d_ff = cfg.d_model, cfg.num_heads * cfg.d_kv, cfg.d_ff
    scales = {
        "shared": 1.0, "q": (d_model * cfg.d_kv) ** -0.5, "k": d_model**-0.5, "v": d_model**-0.5,
        "o": inner**-0.5, "wi": d_model**-0.5, "wo": d_ff**-0.5, "relative_attention_bias": d_model**-0.5,
    }
    with torch.no_grad():
        for name, param in model.named_parameters():
            parts = name.split(".")
            if "layer_norm" in name:
                param.fill_(1.0)
                continue
            key = next((p for p in reversed(parts) if p in scales), None)
            if key is None:
                raise ValueError(f"no T5 init rule for parameter {name}")
            param.copy_(torch.randn(param.shape, generator=generator) * scales[key])


def own_text_encoder(
    *, d_model: int = 128, num_layers: int = 2, num_heads: int = 4, d_ff: int = 256, seed: int = 0,
    max_length: int = 128,
) -> T5TextEncoder:
    """The trained caption tokenizer plus a random small T5 (seeded), ready for the `t5` conditioner."""
    tokenizer = train_caption_tokenizer(max_length=max_length)
    model = small_t5(
        tokenizer, d_model=d_model, num_layers=num_layers, num_heads=num_heads, d_ff=d_ff,
        generator=torch.Generator().manual_seed(seed),
    )
    return T5TextEncoder(tokenizer=tokenizer, model=model)
