"""Writes Hugging Face datasets with the real `datasets` library, for the independent check of advood's readers
(test/data/hf-sources-reference.test.ts): a save_to_disk Dataset in two shards, a DatasetDict, and Parquet files
(`Dataset.to_parquet`) in the Hub's data/<split>-NNNNN-of-NNNNN.parquet layout. Every image is a flat grey PNG whose
level encodes its row, so the reader's decoded pixels say which row it read.

    python hf_datasets_fixtures.py OUT_DIR     prints {"datasets": version, "expected": {...}} as JSON
"""
import json
import os
import sys

import datasets
import numpy as np
from PIL import Image

CLASSES = ["airplane", "automobile", "bird"]
COARSE = ["vehicle", "animal"]


def rows(count, offset):
    images, labels, coarse, captions = [], [], [], []
    for i in range(count):
        level = 5 * (offset + i + 1)
        images.append(Image.fromarray(np.full((8, 8, 3), level, dtype=np.uint8)))
        labels.append((offset + i) % 3)
        coarse.append(0 if (offset + i) % 3 < 2 else 1)
        captions.append(f"row {offset + i}")
    features = datasets.Features(
        {
            "img": datasets.Image(),
            "label": datasets.ClassLabel(names=CLASSES),
            "caption": datasets.Value("string"),
        }
    )
    data = {"img": images, "label": labels, "caption": captions}
    ds = datasets.Dataset.from_dict(data, features=features)
    expected = {"levels": [5 * (offset + i + 1) for i in range(count)], "labels": labels}
    with_coarse = ds.add_column("coarse_label", coarse, feature=datasets.ClassLabel(names=COARSE))
    return ds, with_coarse, expected, coarse


def main(out):
    train, train_coarse, train_expected, train_coarse_labels = rows(7, 0)
    test, _, test_expected, _ = rows(3, 7)
    train.save_to_disk(os.path.join(out, "saved"), num_shards=2)
    datasets.DatasetDict({"train": train, "test": test}).save_to_disk(os.path.join(out, "dict"))
    train_coarse.save_to_disk(os.path.join(out, "two-labels"))
    os.makedirs(os.path.join(out, "parquet", "data"), exist_ok=True)
    train.to_parquet(os.path.join(out, "parquet", "data", "train-00000-of-00001.parquet"), batch_size=3)
    test.to_parquet(os.path.join(out, "parquet", "data", "test-00000-of-00001.parquet"))
    print(json.dumps({
        "datasets": datasets.__version__,
        "classes": CLASSES,
        "coarse": COARSE,
        "train": train_expected,
        "test": test_expected,
        "trainCoarse": train_coarse_labels,
    }))


if __name__ == "__main__":
    main(sys.argv[1])
