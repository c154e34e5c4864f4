"""Training and evaluating a logistic regression on the iris features."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from steps.features import feature_matrix, labels

RANDOM_STATE = 0


def train(train: pd.DataFrame, C: float, max_iter: int) -> Pipeline:
    """Fit a scaler and a logistic regression on the training rows."""
    model = Pipeline(
        [
            ("scale", StandardScaler()),
            (
                "classify",
                LogisticRegression(C=float(C), max_iter=int(max_iter), random_state=RANDOM_STATE),
            ),
        ]
    )
    model.fit(feature_matrix(train), labels(train))
    print(f"trained on {len(train)} rows with C={C}, max_iter={max_iter}")
    return model


def evaluate(model: Pipeline, test: pd.DataFrame) -> dict[str, Any]:
    """Accuracy, macro F1, per-class precision and recall, and the confusion matrix."""
    truth = labels(test)
    predicted = model.predict(feature_matrix(test))
    classes = [str(name) for name in model.classes_]
    precision, recall, _, _ = precision_recall_fscore_support(
        truth, predicted, labels=classes, zero_division=0
    )
    metrics: dict[str, Any] = {
        "accuracy": float(accuracy_score(truth, predicted)),
        "f1_macro": float(f1_score(truth, predicted, average="macro")),
        "per_class": {
            name: {"precision": float(p), "recall": float(r)}
            for name, p, r in zip(classes, precision, recall, strict=True)
        },
        "labels": classes,
        "confusion_matrix": confusion_matrix(truth, predicted, labels=classes).tolist(),
    }
    print(
        f"accuracy {metrics['accuracy']:.3f}, macro F1 {metrics['f1_macro']:.3f} "
        f"on {len(test)} rows"
    )
    return metrics
