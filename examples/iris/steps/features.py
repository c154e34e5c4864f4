"""Which columns the model sees. `steps.model` imports this module, so editing it changes the
code fingerprint of `train` and `evaluate` (and of nothing else)."""

from __future__ import annotations

import pandas as pd

FEATURES: list[str] = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
TARGET = "species"


def feature_matrix(frame: pd.DataFrame) -> pd.DataFrame:
    """The model's input columns, in a fixed order."""
    return frame[FEATURES]


def labels(frame: pd.DataFrame) -> pd.Series:
    """The class labels (species names)."""
    return frame[TARGET]
