"""Split the data set into train and test rows."""

from __future__ import annotations

import pandas as pd
import utils
from sklearn.model_selection import train_test_split


def prepare(split: float, seed: int) -> dict[str, pd.DataFrame]:
    frame = utils.load_frame()
    train, test = train_test_split(
        frame, test_size=float(split), random_state=int(seed), stratify=frame[utils.LABEL]
    )
    print(f"{len(train)} train rows, {len(test)} test rows")
    return {"train": train, "test": test}
