"""The wine data set (shipped with scikit-learn: nothing is downloaded), a classifier, a score."""

from __future__ import annotations

import pandas as pd
from sklearn.datasets import load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler


def load() -> pd.DataFrame:
    frame: pd.DataFrame = load_wine(as_frame=True).frame
    return frame


def split(frame: pd.DataFrame, test_size: float, seed: int) -> dict[str, pd.DataFrame]:
    train, test = train_test_split(
        frame, test_size=float(test_size), random_state=int(seed), stratify=frame["target"]
    )
    return {"train": train.reset_index(drop=True), "test": test.reset_index(drop=True)}


def train(train: pd.DataFrame, C: float) -> Pipeline:
    model = make_pipeline(StandardScaler(), LogisticRegression(C=float(C), max_iter=500))
    model.fit(train.drop(columns="target"), train["target"])
    return model


def evaluate(model: Pipeline, test: pd.DataFrame) -> dict[str, float]:
    predicted = model.predict(test.drop(columns="target"))
    return {"accuracy": float(accuracy_score(test["target"], predicted)), "rows": len(test)}
