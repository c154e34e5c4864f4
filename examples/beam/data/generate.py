"""Regenerate houses.csv: python data/generate.py (deterministic: the same seed, the same file)."""

from pathlib import Path

import numpy as np

ROWS = 400


def main() -> None:
    rng = np.random.default_rng(7)
    sqft = rng.normal(120, 35, ROWS).clip(30, 300)
    rooms = np.maximum(1, np.round(sqft / 30 + rng.normal(0, 0.8, ROWS)))
    age = rng.uniform(0, 80, ROWS)
    distance_km = rng.exponential(8, ROWS)
    score = 0.03 * sqft + 0.3 * rooms - 0.02 * age - 0.15 * distance_km + rng.normal(0, 0.6, ROWS)
    expensive = (score > np.median(score)).astype(int)
    lines = ["id,sqft,rooms,age,distance_km,expensive"]
    for i in range(ROWS):
        lines.append(
            f"{i},{sqft[i]:.1f},{rooms[i]:.0f},{age[i]:.1f},{distance_km[i]:.2f},{expensive[i]}"
        )
    (Path(__file__).parent / "houses.csv").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
