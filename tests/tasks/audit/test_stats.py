import numpy as np
import pytest

from tasks.audit.stats import newcombe_diff, wilson, z_value


def test_z_value_95():
    assert z_value(0.95) == pytest.approx(1.95996, abs=1e-4)


def test_wilson_known_values():
    # Newcombe (1998) Table I example: 81/263 -> 0.2553 .. 0.3662
    lo, hi = wilson(81, 263)
    assert lo == pytest.approx(0.2553, abs=1e-3)
    assert hi == pytest.approx(0.3662, abs=1e-3)
    assert wilson(0, 10)[0] == pytest.approx(0.0) and wilson(10, 10)[1] == pytest.approx(1.0)
    assert wilson(0, 0) == (0.0, 1.0)


@pytest.mark.parametrize("p,n", [(0.1, 30), (0.5, 50), (0.8, 200)])
def test_wilson_coverage_by_simulation(p, n):
    rng = np.random.default_rng(0)
    draws = rng.binomial(n, p, size=2000)
    covered = np.mean([lo <= p <= hi for lo, hi in (wilson(int(x), n) for x in draws)])
    assert 0.92 <= covered <= 0.985


def test_newcombe_difference_coverage_and_sign():
    rng = np.random.default_rng(1)
    hits = 0
    for _ in range(1000):
        x1, x2 = rng.binomial(80, 0.6), rng.binomial(120, 0.45)
        _, lo, hi = newcombe_diff(int(x1), 80, int(x2), 120)
        hits += lo <= 0.15 <= hi
    assert 0.92 <= hits / 1000 <= 0.99
    d, lo, hi = newcombe_diff(56, 70, 48, 80)  # Newcombe (1998) example: 0.2 [0.0524, 0.3339]
    assert d == pytest.approx(0.2)
    assert lo == pytest.approx(0.0524, abs=1e-3) and hi == pytest.approx(0.3339, abs=1e-3)
