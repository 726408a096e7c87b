"""Unit tests of lib/data/mackey_glass.py: the generated series is the chaotic Mackey-Glass attractor, reproducibly."""

from __future__ import annotations

import numpy as np
import pytest

from lib.data.mackey_glass import mackey_glass, mackey_glass_frame


def test_the_series_stays_on_the_known_bounded_attractor():
    values = mackey_glass(3000)
    # The τ = 17 attractor lives roughly between 0.2 and 1.4, and visits most of that range.
    assert 0.2 < values.min() < 0.6 and 1.1 < values.max() < 1.4
    assert 0.18 < values.std() < 0.28


def test_the_series_is_chaotic_not_periodic():
    values = mackey_glass(3000)
    centred = values - values.mean()
    # A periodic series would come back to match itself at some lag; this one never does within
    # 1,000 steps, though its autocorrelation is high at short lags.
    correlations = [np.corrcoef(centred[:-lag], centred[lag:])[0, 1] for lag in range(1, 1000)]
    assert correlations[0] > 0.98
    assert max(correlations[100:]) < 0.9


def test_the_same_seed_gives_the_same_series_and_another_seed_a_different_one():
    np.testing.assert_array_equal(mackey_glass(500, seed=3), mackey_glass(500, seed=3))
    other = mackey_glass(500, seed=4)
    # The seeds differ by a tiny offset of the initial history; chaos has grown it to a visible one.
    assert np.abs(mackey_glass(500, seed=3) - other).max() > 0.05


def test_halving_the_step_changes_the_series_very_little_over_a_short_horizon():
    coarse, fine, finer = (mackey_glass(300, dt=dt) for dt in (0.1, 0.05, 0.025))
    assert np.abs(coarse - fine).max() < 1e-5
    # The error shrinks about 16 times when the step is halved: the scheme is of fourth order,
    # including the interpolated delayed value at each step's midpoint.
    assert np.abs(coarse - fine).max() / np.abs(fine - finer).max() > 10


def test_the_delay_sets_the_dynamics():
    # With a short delay the equation settles on a regular cycle instead of chaos: the series
    # repeats itself almost exactly after one period.
    values = mackey_glass(600, delay=5.0)
    centred = values - values.mean()
    correlations = [np.corrcoef(centred[:-lag], centred[lag:])[0, 1] for lag in range(5, 100)]
    assert max(correlations) > 0.999


def test_a_step_that_does_not_divide_the_delay_is_refused():
    with pytest.raises(ValueError, match="must divide"):
        mackey_glass(10, dt=0.3)


def test_the_frame_adds_seeded_observation_noise_of_the_asked_size():
    clean = mackey_glass_frame(2000)
    noisy = mackey_glass_frame(2000, noise=0.05)
    difference = noisy["value"] - clean["value"]
    assert difference.std() == pytest.approx(0.05, rel=0.1)
    np.testing.assert_array_equal(noisy["value"], mackey_glass_frame(2000, noise=0.05)["value"])
    assert clean["time"].tolist()[:3] == [0.0, 1.0, 2.0] and clean.attrs["units"] == "units"
    with pytest.raises(ValueError):
        mackey_glass_frame(100, noise=-0.1)
