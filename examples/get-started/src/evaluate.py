"""Score the model on the test rows: the scores are the pipeline's metrics (a flat mapping of
numbers, recorded by zenctl), the plots the data to draw a precision-recall curve."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    precision_recall_curve,
    roc_auc_score,
)
from utils import split_xy


def evaluate(model: RandomForestClassifier, features: pd.DataFrame) -> dict[str, Any]:
    x, y = split_xy(features)
    scores = model.predict_proba(x)[:, 1]
    precision, recall, _ = precision_recall_curve(y, scores)
    return {
        "scores": {
            "accuracy": round(float(accuracy_score(y, model.predict(x))), 4),
            "avg_prec": round(float(average_precision_score(y, scores)), 4),
            "roc_auc": round(float(roc_auc_score(y, scores)), 4),
        },
        "plots": {"precision": precision.tolist(), "recall": recall.tolist()},
    }
