"""Independent check of a pushed advood release with the Hugging Face libraries advood did not write.

Usage (HF_ENDPOINT and HF_TOKEN in the environment point at the Hub, e.g. the test's mock on 127.0.0.1):

    python test/reference/hub_datasets_check.py --repo OWNER/NAME --release DIR

Prints one JSON object: for each way of reading, the rows in order as {id, sha256 of the image bytes}:

- "hub_parquet":  datasets.load_dataset(REPO, split="train"): the card's `configs` → data/train-*.parquet;
                  also the features datasets inferred from the card / Parquet metadata.
- "hub_release":  huggingface_hub.snapshot_download(REPO, allow_patterns="release/*") then
                  datasets.load_from_disk on release/: the pushed release itself.
- "local_release": datasets.load_from_disk(DIR): the local release.
"""
import argparse
import hashlib
import json
import os
import sys


def rows_of(ds):
    from datasets import Image

    ds = ds.cast_column("image", Image(decode=False))
    return [{"id": r["id"], "image_sha256": hashlib.sha256(r["image"]["bytes"]).hexdigest()} for r in ds]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repo", required=True)
    parser.add_argument("--release", required=True)
    args = parser.parse_args()

    import datasets
    from huggingface_hub import snapshot_download

    out = {"datasets_version": datasets.__version__}
    hub = datasets.load_dataset(args.repo, split="train")
    out["hub_parquet"] = rows_of(hub)
    out["hub_features"] = {name: type(feature).__name__ for name, feature in hub.features.items()}
    out["hub_image_feature"] = type(hub.features["image"]).__name__
    local_copy = snapshot_download(args.repo, repo_type="dataset", allow_patterns="release/*")
    out["hub_release"] = rows_of(datasets.load_from_disk(os.path.join(local_copy, "release")))
    out["local_release"] = rows_of(datasets.load_from_disk(args.release))
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
