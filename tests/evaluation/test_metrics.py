"""Metrics on hand-computed cases, and seeded bootstrap intervals."""

from __future__ import annotations

import pytest

from crosstask.errors import CrosstaskError
from crosstask.evaluation.stats import Mean, Rate, bootstrap_ci
from crosstask.evaluation.task_metrics import get_metric, sentiment_label
from crosstask.tasks import PAPER_TASKS, get_task


def test_every_paper_task_metric_is_registered():
    for t in PAPER_TASKS:
        get_metric(get_task(t).metric)
    with pytest.raises(CrosstaskError):
        get_metric("bleu-9000")


def test_rouge_l_hand_computed():
    # LCS of "the cat sat" in "the cat sat on the mat" = 3; P = 3/3, R = 3/6, F = 2/3.
    assert get_metric("rouge_l")("the cat sat", "the cat sat on the mat")["rouge_l"] == pytest.approx(2 / 3)


def test_chinese_is_scored_not_dropped():
    assert get_metric("chrf_zh")("今天天气很好", "今天天气很好")["chrf"] == pytest.approx(1.0)
    partial = get_metric("chrf_zh")("今天天气不错", "今天天气很好")["chrf"]
    assert 0 < partial < 1
    # rouge-score's own tokenizer would give 0 here; characters are kept.
    assert get_metric("rouge_l")("今天天气很好", "今天天气很好")["rouge_l"] == pytest.approx(1.0)


def test_case_match_exact_and_character_accuracy():
    m = get_metric("case_match")
    assert m("The Fair opened.", "The Fair opened.") == {"exact_match": 1.0, "char_accuracy": 1.0}
    low = m("the fair opened.", "The Fair opened.")
    assert low["exact_match"] == 0.0
    assert low["char_accuracy"] == pytest.approx(2 * 14 / 32)  # 2 of 16 characters differ


def test_sentiment_accuracy_reads_the_first_label_word():
    assert sentiment_label("The tone is mostly positive, not negative.") == "positive"
    assert get_metric("sentiment_accuracy")("It reads as negative.", "negative")["accuracy"] == 1.0
    assert get_metric("sentiment_accuracy")("Hard to say.", "negative")["accuracy"] == 0.0


def test_bootstrap_is_seeded_and_brackets_the_rate():
    flags = [True] * 7 + [False] * 3
    a, b = Rate.of(flags), Rate.of(flags)
    assert a == b and (a.k, a.n, a.rate) == (7, 10, 0.7)
    assert a.ci[0] <= 0.7 <= a.ci[1] and a.ci[0] < a.ci[1]
    vals = [0.1 * i for i in range(10)]
    assert bootstrap_ci(vals, seed=2, n_resamples=50) != bootstrap_ci(vals, seed=3, n_resamples=50)
    c = a.complement()
    assert (c.k, c.rate) == (3, pytest.approx(0.3)) and c.ci == pytest.approx((1 - a.ci[1], 1 - a.ci[0]))
    assert Mean.of([0.5, 0.5]).ci == (0.5, 0.5)
