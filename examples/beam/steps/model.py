"""The scikit-learn steps: train on the Beam step's rows, evaluate on the held-out rows."""

import numpy as np
from sklearn.linear_model import LogisticRegression


def _arrays(rows: list) -> tuple:
    return np.array([r["x"] for r in rows]), np.array([r["y"] for r in rows])


def train(train: list, C: float) -> LogisticRegression:
    x, y = _arrays(train)
    return LogisticRegression(C=C, max_iter=500).fit(x, y)


def evaluate(model: LogisticRegression, test: list) -> dict:
    x, y = _arrays(test)
    return {"accuracy": round(float(model.score(x, y)), 4), "rows": len(test)}
