import pytest

from audiox.errors import InputError
from audiox.evaluation.instruction import KindTally, score_instruction, score_sample, tally_kinds
from audiox.synth.labels import EventLabel


def ev(kind, onset):
    return EventLabel(kind=kind, onset_s=onset, offset_s=onset + 0.2)


REF = [ev("knock", 1.0), ev("knock", 2.0), ev("bell", 4.0)]


def test_perfect_prediction_scores_one():
    s = score_sample(REF, REF)
    assert (s.category, s.count, s.order, s.timestamp) == (1.0, 1.0, 1.0, 1.0)


def test_each_metric_fails_on_its_own_error():
    missing_knock = score_sample([ev("knock", 1.0), ev("bell", 4.0)], REF)
    assert missing_knock.category == 1.0 and missing_knock.count == 0.5 and missing_knock.order == 1.0
    assert missing_knock.timestamp == pytest.approx(2 / 3)
    swapped = score_sample([ev("bell", 0.5), ev("knock", 1.0), ev("knock", 2.0)], REF)
    assert swapped.order == 0.0 and swapped.count == 1.0 and swapped.timestamp == pytest.approx(2 / 3)
    late = score_sample([ev("knock", 1.26), ev("knock", 2.24), ev("bell", 4.0)], REF)
    assert late.timestamp == pytest.approx(2 / 3) and late.count == 1.0
    wrong_kind = score_sample([ev("tone", 1.0), ev("tone", 2.0), ev("bell", 4.0)], REF)
    assert wrong_kind.category == pytest.approx(1 / 3) and wrong_kind.order == 0.0


def test_extra_events_cost_timestamp_but_not_order():
    extra = score_sample(REF + [ev("tone", 6.0), ev("tone", 7.0)], REF)
    assert (
        extra.order == 1.0
        and extra.timestamp == pytest.approx(3 / 5)
        and extra.category == pytest.approx(2 / 3)
    )


def test_empty_cases_and_means():
    assert score_sample([], []).timestamp == 1.0 and score_sample([], REF).category == 0.0
    assert score_sample([ev("bell", 1.0)], []).count == 0.0
    mean = score_instruction([REF, []], [REF, REF])
    assert mean.category == 0.5 and mean.num_samples == 2
    with pytest.raises(InputError):
        score_instruction([REF], [REF, REF])


def test_kind_tally_counts_samples_not_events():
    predicted = [[ev("knock", 1.0), ev("tone", 3.0), ev("tone", 5.0)], [ev("bell", 1.0)], []]
    tally = tally_kinds(predicted, [REF, [ev("bell", 2.0)], [ev("knock", 1.0)]])
    assert list(tally) == ["bell", "knock", "tone"]
    assert tally["knock"] == KindTally(requested=2, heard=1, unrequested=0)
    assert tally["bell"] == KindTally(requested=2, heard=1, unrequested=0)
    assert tally["tone"] == KindTally(requested=0, heard=0, unrequested=1)
    assert tally_kinds([], []) == {}
    with pytest.raises(InputError):
        tally_kinds([REF], [])
