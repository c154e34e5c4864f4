"""Helpers the steps share: the data set and its frames. A top-level module, so an edit here
changes the fingerprint of every step that imports it (and of no other)."""

from __future__ import annotations

import pandas as pd
from sklearn.datasets import load_breast_cancer

LABEL = "label"


def load_frame() -> pd.DataFrame:
    """Breast cancer diagnoses (569 rows, 30 features), shipped with scikit-learn: nothing is
    downloaded."""
    data = load_breast_cancer(as_frame=True)
    frame: pd.DataFrame = data.frame.rename(columns={"target": LABEL})
    return frame


def split_xy(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """The feature columns and the label column."""
    return frame.drop(columns=[LABEL]), frame[LABEL]
