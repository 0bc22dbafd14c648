"""Independent cross-checks of advood's public outputs, with tools advood did not write.

Needs a Python with pyarrow, scikit-learn, torch and transformers (none of which Debian ships for this
project's CI machine; the GPU machine lent to some sessions has them). Usage:

    python3 test/reference/independent_crosscheck.py --releases DIR [DIR ...] --evaluation DIR --out OUT

1. Releases: every data shard is read with pyarrow.ipc.open_stream; the schema is checked against the HF
   `save_to_disk` contract (datasets 5.0.1, arrow_dataset.py): `huggingface` metadata equal to dataset_info.json's features, Image =
   struct<bytes: binary, path: string>, class labels int64, strings utf8, fixed-size float vectors, every
   field nullable, row counts as in manifest.json.
2. Metrics: scores.arrow (per-sample scores) is read with pyarrow and AUROC, FPR95, AUPR-In and AUPR-Out are
   recomputed with scikit-learn and compared with summary.json.
3. CLIP: a small random CLIPModel (transformers) with a tiny byte-level BPE vocabulary is saved in the HF layout
   with the image/text embeddings transformers computes for it; test/models/clip-transformers-parity.test.ts loads
   that checkpoint in advood and compares.

Each part reports its own result in OUT/crosscheck.json; one failing part does not hide the others.
"""
import argparse
import json
import os
import sys
import traceback


def check_releases(dirs):
    import pyarrow as pa

    results = []
    for d in dirs:
        problems = []
        state = json.load(open(os.path.join(d, "state.json")))
        info = json.load(open(os.path.join(d, "dataset_info.json")))
        manifest = json.load(open(os.path.join(d, "manifest.json")))
        for key in ["_data_files", "_fingerprint", "_format_columns", "_format_kwargs", "_format_type", "_output_all_columns", "_split"]:
            if key not in state:
                problems.append(f"state.json lacks {key}")
        rows = 0
        schema_text = None
        for entry in state["_data_files"]:
            path = os.path.join(d, entry["filename"])
            with pa.ipc.open_stream(path) as reader:
                table = reader.read_all()
            rows += table.num_rows
            schema = table.schema
            schema_text = schema.to_string(show_schema_metadata=False)
            meta = json.loads(schema.metadata[b"huggingface"])
            if meta["info"]["features"] != info["features"]:
                problems.append(f"{entry['filename']}: huggingface metadata features differ from dataset_info.json")
            for field in schema:
                if not field.nullable:
                    problems.append(f"{field.name} is not nullable")
                feature = info["features"].get(field.name)
                kind = feature.get("_type") if isinstance(feature, dict) else None
                if kind == "Image":
                    expected = pa.struct([pa.field("bytes", pa.binary()), pa.field("path", pa.string())])
                    if field.type != expected:
                        problems.append(f"{field.name}: Image column is {field.type}, expected {expected}")
                elif kind == "ClassLabel" and field.type != pa.int64():
                    problems.append(f"{field.name}: ClassLabel column is {field.type}, expected int64")
                elif kind == "Value" and feature["dtype"] == "string" and field.type != pa.string():
                    problems.append(f"{field.name}: string column is {field.type}, expected utf8")
                elif kind in ("Sequence", "List") and "length" in feature:
                    if not pa.types.is_fixed_size_list(field.type) or field.type.list_size != feature["length"]:
                        problems.append(f"{field.name}: vector column is {field.type}")
            image = table.column("image").to_pylist()[0]
            if not image["bytes"].startswith(b"\x89PNG"):
                problems.append("image.bytes of row 0 is not a PNG")
        if rows != manifest["counts"]["rows"]:
            problems.append(f"{rows} rows read, manifest says {manifest['counts']['rows']}")
        results.append({"release": os.path.basename(d.rstrip("/")), "rows": rows, "problems": problems, "schema": schema_text})
    return results


def check_metrics(evaluation):
    import numpy as np
    import pyarrow as pa
    from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

    with pa.ipc.open_file(os.path.join(evaluation, "scores.arrow")) as reader:
        table = reader.read_all()
    columns = {name: table.column(name).to_pylist() for name in ["detector", "set", "score"]}
    summary = json.load(open(os.path.join(evaluation, "summary.json")))
    scores = {}
    for detector, set_name, score in zip(columns["detector"], columns["set"], columns["score"]):
        scores.setdefault((detector, set_name), []).append(score)
    worst = {"auroc": 0.0, "fpr95": 0.0, "auprIn": 0.0, "auprOut": 0.0}
    compared = 0
    for row in summary["rows"]:
        ind = np.array(scores[(row["detector"], "id")])
        ood = np.array(scores[(row["detector"], row["set"])])
        y = np.concatenate([np.ones(len(ind)), np.zeros(len(ood))])
        s = np.concatenate([ind, ood])
        fpr, tpr, _ = roc_curve(y, s)
        reference = {
            "auroc": roc_auc_score(y, s),
            "fpr95": float(fpr[np.argmax(tpr >= 0.95)]),
            "auprIn": average_precision_score(y, s),
            "auprOut": average_precision_score(1 - y, -s),
        }
        for name, value in reference.items():
            ours = row["metrics"][name]["value"]
            worst[name] = max(worst[name], abs(ours - value))
        compared += 1
    return {"rows_compared": compared, "max_abs_difference": worst}


# A few merges, each made of symbols that exist by then (bytes, bytes + '</w>', or earlier merges).
MERGES = [("p", "h"), ("ph", "o"), ("pho", "t"), ("phot", "o</w>"), ("o", "f</w>"), ("t", "h"), ("th", "e</w>"), ("s", "m"), ("a", "r"), ("l", "ar")]


def bytes_to_unicode():
    """GPT-2/CLIP's reversible byte → printable character map."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def make_clip_fixture(out):
    import numpy as np
    import torch
    import torchvision_guard  # noqa: F401  (before transformers: see torchvision_guard.py)
    from transformers import CLIPConfig, CLIPModel, CLIPTokenizer

    target = os.path.join(out, "hf-clip")
    os.makedirs(target, exist_ok=True)
    alphabet = list(bytes_to_unicode().values())
    vocab_list = alphabet + [c + "</w>" for c in alphabet]
    merges = MERGES
    for a, b in merges:
        vocab_list.append(a + b)
    vocab_list += ["<|startoftext|>", "<|endoftext|>"]
    vocab = {token: i for i, token in enumerate(vocab_list)}
    json.dump(vocab, open(os.path.join(target, "vocab.json"), "w"))
    with open(os.path.join(target, "merges.txt"), "w") as f:
        f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    tokenizer = CLIPTokenizer(os.path.join(target, "vocab.json"), os.path.join(target, "merges.txt"))

    torch.manual_seed(0)
    config = CLIPConfig(
        text_config=dict(vocab_size=len(vocab), hidden_size=64, intermediate_size=256, num_hidden_layers=2, num_attention_heads=4,
                         max_position_embeddings=77, hidden_act="quick_gelu", bos_token_id=vocab["<|startoftext|>"],
                         eos_token_id=vocab["<|endoftext|>"], pad_token_id=vocab["<|endoftext|>"]),
        vision_config=dict(hidden_size=64, intermediate_size=256, num_hidden_layers=2, num_attention_heads=4, image_size=32,
                           patch_size=8, hidden_act="quick_gelu"),
        projection_dim=32,
    )
    model = CLIPModel(config).eval()
    with torch.no_grad():
        # HF initialises LayerNorm to (1, 0) and most weights tiny; perturb everything so parity checks every tensor.
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    model.save_pretrained(target, safe_serialization=True)

    generator = np.random.default_rng(0)
    pixels = generator.random((3, 32, 32, 3), dtype=np.float32)  # NHWC in [0, 1], as advood takes them
    mean = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
    std = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)
    pixel_values = torch.from_numpy(((pixels - mean) / std).transpose(0, 3, 1, 2).copy())
    prompts = ["a photo of a sneaker.", "a blurry photo of a bag.", "a photo of the large trouser.", "Photo  of   THE small   coat!"]
    tokens = tokenizer(prompts, padding="max_length", max_length=77, return_tensors="pt")
    with torch.no_grad():
        vision = model.vision_model(pixel_values=pixel_values)
        pre_projection = vision.pooler_output
        projected = model.visual_projection(pre_projection)
        # Towers and projections called directly: get_*_features changed its return type across transformers versions.
        text = model.text_projection(model.text_model(input_ids=tokens["input_ids"], attention_mask=tokens["attention_mask"]).pooler_output)
    golden = {
        "transformers": __import__("transformers").__version__,
        "torch": torch.__version__,
        "pixels": pixels.reshape(-1).tolist(),
        "pixelShape": list(pixels.shape),
        "prompts": prompts,
        "inputIds": [ids[: int(mask.sum())] for ids, mask in zip(tokens["input_ids"].tolist(), tokens["attention_mask"])],
        "imagePreProjection": pre_projection.tolist(),
        "imageProjected": projected.tolist(),
        "textProjected": text.tolist(),
    }
    json.dump(golden, open(os.path.join(target, "golden.json"), "w"))
    return {"dir": target, "files": sorted(os.listdir(target)), "vocab": len(vocab)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--releases", nargs="*", default=[])
    parser.add_argument("--evaluation")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    report = {"python": sys.version}
    parts = [("releases", lambda: check_releases(args.releases)), ("metrics", lambda: check_metrics(args.evaluation)), ("clip", lambda: make_clip_fixture(args.out))]
    for name, run in parts:
        try:
            report[name] = run()
        except Exception:
            report[name] = {"error": traceback.format_exc()}
    json.dump(report, open(os.path.join(args.out, "crosscheck.json"), "w"), indent=1)
    print(json.dumps(report, indent=1)[:6000])


if __name__ == "__main__":
    main()
