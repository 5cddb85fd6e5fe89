"""Weights renormalised over the indicators that apply, and weighted points rounded as counted by hand."""

from __future__ import annotations

from scheduler.reports.scoring import DEFAULT_WEIGHTS, applicable_weights, weighted_points


def test_not_applicable_indicators_leave_the_weights() -> None:
    applies = {k: k not in ("events", "reporting") for k in DEFAULT_WEIGHTS}
    # 30 + 25 + 15 + 10 = 80 left: each × 100/80
    assert applicable_weights(DEFAULT_WEIGHTS, applies) == {
        "projects": 37.5, "amount": 31.25, "talents": 18.75, "checkins": 12.5,
    }
    assert applicable_weights(DEFAULT_WEIGHTS, dict.fromkeys(DEFAULT_WEIGHTS, True)) == DEFAULT_WEIGHTS
    assert applicable_weights(DEFAULT_WEIGHTS, dict.fromkeys(DEFAULT_WEIGHTS, False)) == {}


def test_weighted_points_round_half_up() -> None:
    assert weighted_points(12.5, 33.33) == 4.17  # 4.16625
    assert weighted_points(30, 66.67) == 20.0  # 20.001
    assert weighted_points(37.5, 0.0) == 0.0
