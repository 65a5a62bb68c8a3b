"""The silence memo: the VAE encoder output of all-zero audio is computed once per model and shape, gives
the same latents and the same generator draws as encoding it, and is forgotten when a weight changes."""

from __future__ import annotations

import copy
import pickle

import pytest
import torch

from audiox.vae.pretransform import is_silence
from audiox.vae.silence import receptive_field
from tests.vae.tiny import randomize_, tiny_pretransform

SHAPE = (2, 2, 40)


def pretransform_with_counter():
    pt = randomize_(tiny_pretransform()).eval()
    calls = []
    pt.model.encoder.register_forward_hook(lambda *_: calls.append(1))
    return pt, calls


def encode(pt, audio, seed=0, reuse=True):
    """(latents, the generator's next draw): the draw checks the generator advanced identically."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        latents = pt.encode(audio, generator=g, reuse_silence=reuse)
    return latents, torch.rand(4, generator=g)


def test_silence_is_encoded_once_with_identical_latents_and_draws():
    pt, calls = pretransform_with_counter()
    silence = torch.zeros(SHAPE)
    expect, expect_next = encode(pt, silence, reuse=False)
    first, first_next = encode(pt, silence)
    second, second_next = encode(pt, silence, seed=1)
    assert len(calls) == 2  # the reference and the first memo fill; the second call ran no encoder
    assert torch.equal(first, expect) and torch.equal(first_next, expect_next)
    assert not torch.equal(second, first)  # the posterior sample is still drawn per call
    assert torch.equal(second_next, encode(pt, silence, seed=1, reuse=False)[1])


def test_other_shapes_and_sounds_are_not_served_from_the_memo():
    pt, calls = pretransform_with_counter()
    encode(pt, torch.zeros(SHAPE))
    encode(pt, torch.zeros(1, 2, 40))  # another batch size: its own entry
    sound = torch.zeros(SHAPE)
    sound[1, 0, 7] = 1e-3
    got, _ = encode(pt, sound)
    assert len(calls) == 3
    assert torch.equal(got, encode(pt, sound, reuse=False)[0])
    assert not is_silence(-torch.zeros(SHAPE))  # -0.0 is not treated as silence


def test_memo_is_forgotten_when_a_weight_changes():
    pt, calls = pretransform_with_counter()
    silence = torch.zeros(SHAPE)
    encode(pt, silence)
    weight = next(pt.model.encoder.parameters())
    with torch.no_grad():
        weight.add_(0.5)  # in place (an optimiser step)
    assert torch.equal(encode(pt, silence)[0], encode(pt, silence, reuse=False)[0])
    pt.load_state_dict(randomize_(tiny_pretransform(), seed=3).state_dict())  # a load copies in place
    assert torch.equal(encode(pt, silence)[0], encode(pt, silence, reuse=False)[0])
    weight.data = weight.data + 1.0  # a storage swap keeps the object and its version counter
    assert torch.equal(encode(pt, silence)[0], encode(pt, silence, reuse=False)[0])
    assert len(calls) == 7  # 1 fill + 3 x (refill + reference): never served stale


def test_memo_is_bypassed_while_autograd_records():
    pt, calls = pretransform_with_counter()
    silence = torch.zeros(SHAPE)
    encode(pt, silence)
    latents = pt.encode(silence, generator=torch.Generator().manual_seed(0), reuse_silence=True)
    assert latents.requires_grad and len(calls) == 2


def test_copies_do_not_share_a_stale_memo():
    pt, _ = pretransform_with_counter()
    silence = torch.zeros(SHAPE)
    encode(pt, silence)
    clone = copy.deepcopy(pt)
    with torch.no_grad():
        next(clone.model.encoder.parameters()).mul_(2.0)
    assert torch.equal(encode(clone, silence)[0], encode(clone, silence, reuse=False)[0])
    plain = randomize_(tiny_pretransform()).eval()
    encode(plain, silence)
    restored = pickle.loads(pickle.dumps(plain))  # the memo holds weak references: it travels empty
    assert torch.equal(encode(restored, silence)[0], encode(plain, silence)[0])


def test_receptive_field_bounds_the_reach_of_one_sample():
    pt = randomize_(tiny_pretransform()).eval()
    field = receptive_field(pt.model.encoder)
    ratio, samples = pt.downsampling_ratio, 400
    with torch.no_grad():
        base = pt.encode_features(torch.zeros(1, 2, samples))
        impulse = torch.zeros(1, 2, samples)
        impulse[..., samples // 2] = 1.0
        moved = (pt.encode_features(impulse) - base).abs().amax(dim=1)[0] > 0  # (L,) frames it reaches
    reached = torch.nonzero(moved).flatten()
    assert 1 < len(reached) <= field // ratio + 2


@pytest.mark.parametrize("samples", [1000, 1003, 2000])
@pytest.mark.parametrize("batch", [1, 2])
def test_stitched_silence_matches_the_full_encode(samples, batch):
    pt, _ = pretransform_with_counter()
    lengths = []
    pt.model.encoder.register_forward_pre_hook(lambda _, args: lengths.append(args[0].shape[-1]))
    with torch.no_grad():
        full = pt.encode_features(torch.zeros(batch, 2, samples))
        lengths.clear()
        stitched = pt.encode_silence_features((batch, 2, samples), torch.device("cpu"), torch.float32)
    assert max(lengths) < 0.6 * samples  # really encoded a shorter silence (2 x 67 + 1 frames of 4 samples)
    assert stitched.shape == full.shape
    torch.testing.assert_close(stitched, full, rtol=1e-5, atol=1e-6)  # kernels' rounding may differ by length


def test_exact_callers_never_get_a_stitched_encoding():
    pt, _ = pretransform_with_counter()
    silence = torch.zeros(1, 2, 1000)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        pt.encode(silence, generator=torch.Generator().manual_seed(0), reuse_silence=True, stitch_silence=True)
        exact = pt.encode(silence, generator=g, reuse_silence=True)
        full = pt.encode(silence, generator=torch.Generator().manual_seed(0))
    assert torch.equal(exact, full)


def test_memo_keeps_results_of_other_thread_counts_apart():
    """A result computed with another thread count (other summation order on a CPU) is not handed out."""
    from audiox.vae.silence import SilenceMemo

    memo, calls = SilenceMemo(), []
    weight = torch.ones(3)

    def compute():
        calls.append(torch.get_num_threads())
        return torch.zeros(1, 2, 4)

    def features():
        with torch.no_grad():  # the memo is bypassed while autograd records
            memo.features((1, 1, 8), device=torch.device("cpu"), dtype=torch.float32, weights=[weight],
                          compute=compute)

    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        features()
        features()
        torch.set_num_threads(2)
        features()
    finally:
        torch.set_num_threads(threads)
    assert calls == [1, 2]
