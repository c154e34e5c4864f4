"""Fit a random forest on the featurized train rows."""

from __future__ import annotations

import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from utils import split_xy


def train(
    features: pd.DataFrame, seed: int, n_est: int, min_split: float
) -> RandomForestClassifier:
    x, y = split_xy(features)
    model = RandomForestClassifier(
        n_estimators=int(n_est),
        min_samples_split=float(min_split),
        random_state=int(seed),
        n_jobs=1,
    )
    model.fit(x, y)
    return model
