"""Fixed-bucket histograms: buckets, merging and quantiles (pure)."""

from __future__ import annotations

import pytest

from jobs import histograms

BOUNDS = (1.0, 10.0, 100.0)


def test_a_value_goes_to_the_first_bucket_that_holds_it() -> None:
    """Bounds are inclusive; past the last bound is +Inf."""
    assert [histograms.bucket_index(BOUNDS, v) for v in (0, 1, 1.5, 100, 101)] == [
        0,
        0,
        1,
        2,
        3,
    ]


def test_observe_starts_from_an_empty_list() -> None:
    """A rollup row's empty bucket list becomes a full histogram."""
    assert histograms.observe([], BOUNDS, 5) == [0, 1, 0, 0]


def test_merge_adds_bucket_by_bucket() -> None:
    """Missing or empty histograms count as zeros."""
    assert histograms.merge([[1, 0, 2, 0], [], [0, 3, 0, 1]], BOUNDS) == [1, 3, 2, 1]


def test_cumulative_gives_prometheus_le_counts() -> None:
    """Each bucket holds everything up to its bound."""
    assert histograms.cumulative([1, 3, 2, 1]) == [1, 4, 6, 7]


@pytest.mark.parametrize(
    ("q", "expected"),
    [(0.5, 10.0), (0.25, 1.0), (0.75, 55.0), (1.0, 100.0)],
)
def test_quantile_interpolates_inside_its_bucket(q: float, expected: float) -> None:
    """4 values: one in each of (0,1], (1,10], two in (10,100]."""
    assert histograms.quantile([1, 1, 2, 0], BOUNDS, q) == pytest.approx(expected)


def test_quantile_of_nothing_is_none() -> None:
    """No observations: no quantile."""
    assert histograms.quantile([0, 0, 0, 0], BOUNDS, 0.5) is None


def test_quantile_in_the_inf_bucket_is_the_largest_bound() -> None:
    """Nothing better than the last finite bound is known."""
    assert histograms.quantile([0, 0, 0, 3], BOUNDS, 0.5) == 100.0
