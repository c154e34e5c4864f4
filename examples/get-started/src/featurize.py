"""Keep the `max_features` columns that best separate the classes (chosen on train only)."""

from __future__ import annotations

import pandas as pd
from sklearn.feature_selection import SelectKBest, f_classif
from utils import LABEL, split_xy


def featurize(
    train: pd.DataFrame, test: pd.DataFrame, max_features: int
) -> dict[str, pd.DataFrame]:
    features, labels = split_xy(train)
    selector = SelectKBest(f_classif, k=min(int(max_features), features.shape[1]))
    selector.fit(features, labels)
    kept = list(features.columns[selector.get_support()])
    print(f"kept {len(kept)} features")
    return {"train": train[[*kept, LABEL]], "test": test[[*kept, LABEL]]}
