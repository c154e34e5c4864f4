"""The Beam step: parse the CSV, standardise the features, split train/test by row id."""

import hashlib
import math

import apache_beam as beam

FEATURES = ("sqft", "rooms", "age", "distance_km")
LABEL = "expensive"
HEADER = ",".join(("id", *FEATURES, LABEL))


def parse(line: str) -> dict:
    values = line.split(",")
    return {
        "id": values[0],
        "x": [float(v) for v in values[1:-1]],
        "y": int(values[-1]),
    }


class Moments(beam.CombineFn):
    """Per-feature mean and standard deviation, combined in parallel: (count, sums, squares)."""

    def create_accumulator(self):
        return [0, [0.0] * len(FEATURES), [0.0] * len(FEATURES)]

    def add_input(self, acc, x):
        count, sums, squares = acc
        return [
            count + 1,
            [s + v for s, v in zip(sums, x, strict=True)],
            [q + v * v for q, v in zip(squares, x, strict=True)],
        ]

    def merge_accumulators(self, accs):
        accs = list(accs)
        return [
            sum(a[0] for a in accs),
            [sum(column) for column in zip(*(a[1] for a in accs), strict=True)],
            [sum(column) for column in zip(*(a[2] for a in accs), strict=True)],
        ]

    def extract_output(self, acc):
        count, sums, squares = acc
        means = [s / count for s in sums]
        stds = [
            math.sqrt(max(q / count - m * m, 1e-12)) for q, m in zip(squares, means, strict=True)
        ]
        return {"mean": means, "std": stds}


def standardise(row: dict, moments: dict) -> dict:
    scaled = [
        round((v - m) / s, 6)
        for v, m, s in zip(row["x"], moments["mean"], moments["std"], strict=True)
    ]
    return {**row, "x": scaled}


def in_test(row: dict, test_percent: int) -> bool:
    """A stable split: the same row lands on the same side on every run and every runner."""
    bucket = int(hashlib.sha256(row["id"].encode()).hexdigest(), 16) % 100
    return bucket < test_percent


class Preprocess(beam.PTransform):
    def __init__(self, test_percent: int) -> None:
        super().__init__()
        self.test_percent = test_percent

    def expand(self, lines):
        rows = (
            lines
            | "drop header" >> beam.Filter(lambda line: line.strip() and line != HEADER)
            | "parse" >> beam.Map(parse)
        )
        moments = rows | "features" >> beam.Map(lambda r: r["x"]) | beam.CombineGlobally(Moments())
        scaled = rows | "standardise" >> beam.Map(standardise, beam.pvalue.AsSingleton(moments))
        test_percent = self.test_percent
        return {
            "train": scaled | "train" >> beam.Filter(lambda r: not in_test(r, test_percent)),
            "test": scaled | "test" >> beam.Filter(lambda r: in_test(r, test_percent)),
        }


def preprocess(test_percent: int) -> beam.PTransform:
    return Preprocess(test_percent)
