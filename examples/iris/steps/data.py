"""Loading, splitting and profiling the iris data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.model_selection import train_test_split

SPECIES = "species"


def load(raw: Path) -> pd.DataFrame:
    """Read the iris CSV (zenctl passes the path of a snapshot of `source.raw`)."""
    frame = pd.read_csv(raw)
    print(f"loaded {len(frame)} rows, {frame.shape[1]} columns from {raw.name}")
    return frame


def split(frame: pd.DataFrame, test_size: float, seed: int) -> dict[str, pd.DataFrame]:
    """Split into train and test sets, stratified by species."""
    train, test = train_test_split(
        frame, test_size=float(test_size), random_state=int(seed), stratify=frame[SPECIES]
    )
    print(f"split {len(frame)} rows: {len(train)} train, {len(test)} test (seed {seed})")
    return {"train": train.reset_index(drop=True), "test": test.reset_index(drop=True)}


def profile(frame: pd.DataFrame) -> dict[str, Any]:
    """Row count and mean of every feature, per species."""
    means = frame.groupby(SPECIES).mean(numeric_only=True)
    counts = frame[SPECIES].value_counts()
    result: dict[str, Any] = {
        str(species): {
            "rows": int(counts[species]),
            "means": {str(column): round(float(value), 4) for column, value in row.items()},
        }
        for species, row in means.iterrows()
    }
    print(f"profiled {len(frame)} rows across {len(result)} species")
    return result
