"""The real handwritten digits the playground trains on: 1,797 images of 8×8 pixels from UCI.

The file in `data/` is the copy that scikit-learn bundles (see data/README.md); it is read once per
process and shared read-only by every session, and split the same way for everyone so that runs
on different machines compare.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DIGITS_FILE = Path(__file__).resolve().parents[2] / "data" / "digits.csv.gz"
TEST_COUNT = 360
SPLIT_SEED = 2010


@dataclass(frozen=True)
class DigitSplits:
    """Images in [0, 1] shaped (n, 8, 8) and integer labels, for training, validation and test."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_validation: np.ndarray
    y_validation: np.ndarray


@functools.lru_cache(maxsize=1)
def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """All 1,797 images as float32 in [0, 1] (the raw pixels run 0 to 16) and their labels 0–9."""
    table = np.loadtxt(DIGITS_FILE, delimiter=",", dtype=np.float32)
    images = (table[:, :64] / 16.0).reshape(-1, 8, 8)
    labels = table[:, 64].astype(np.int64)
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def split_digits(train_count: int) -> DigitSplits:
    """The first `train_count` images of a fixed shuffle for training; a fixed 360 for validation.

    The validation set never changes with `train_count`, so curves for different training sizes
    measure the same thing, and the training sets are nested (200 examples ⊂ 400 examples).
    """
    images, labels = load_digits()
    order = np.random.default_rng(SPLIT_SEED).permutation(len(labels))
    validation, pool = order[:TEST_COUNT], order[TEST_COUNT:]
    train_count = int(min(max(train_count, 1), len(pool)))
    train = pool[:train_count]
    return DigitSplits(images[train], labels[train], images[validation], labels[validation])


def max_train_count() -> int:
    return len(load_digits()[1]) - TEST_COUNT
