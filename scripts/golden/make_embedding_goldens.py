#!/usr/bin/env python3
"""Writes end-to-end embedding goldens for the tiny CLIP fixture: texts and the committed test images through
transformers' own tokenizer, PIL image processor and CLIPModel.get_text_features / get_image_features,
L2-normalised. The Swift CLIPModel facade and the `vlm-stream embed` CLI are compared against them.

    $PYTHON scripts/golden/make_embedding_goldens.py   → Tests/Fixtures/tiny-clip-embeddings.json
"""

import json
import os
import sys

import numpy as np
import torch
from PIL import Image
import transformers
from transformers import CLIPModel, CLIPTokenizer
from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODEL = os.path.join(ROOT, "Tests", "Fixtures", "tiny-clip")
IMAGES = os.path.join(ROOT, "Tests", "Fixtures", "images")
OUT = os.path.join(ROOT, "Tests", "Fixtures", "tiny-clip-embeddings.json")
TEXTS = [
    "a photo of a cat",
    "A person crossing the street at night",
    "",
    "naïve café — 日本語 👍🏽",
    "word " * 100,
]
IMAGE_FILES = ["messi.jpg", "graf.png"]


def normalised(t: torch.Tensor) -> list:
    t = t / t.norm(dim=-1, keepdim=True)
    return [[round(float(v), 7) for v in row] for row in t]


def features(output) -> torch.Tensor:
    # transformers 5 may return a model output object rather than a tensor.
    return output if isinstance(output, torch.Tensor) else output.pooler_output


def main() -> int:
    model = CLIPModel.from_pretrained(MODEL).eval()
    tokenizer = CLIPTokenizer.from_pretrained(MODEL)
    processor = CLIPImageProcessorPil.from_pretrained(MODEL)
    with torch.no_grad():
        text = {"texts": [], "embeddings": []}
        for t in TEXTS:
            ids = tokenizer(t, truncation=True, max_length=77, return_tensors="pt")["input_ids"]
            text["texts"].append(t)
            text["embeddings"] += normalised(features(model.get_text_features(input_ids=ids)))
        images = {"files": [], "embeddings": []}
        for name in IMAGE_FILES:
            pixels = processor(images=Image.open(os.path.join(IMAGES, name)).convert("RGB"), return_tensors="pt")
            images["files"].append(name)
            images["embeddings"] += normalised(features(model.get_image_features(pixel_values=pixels["pixel_values"])))
    with open(OUT, "w") as f:
        json.dump({"reference": f"transformers {transformers.__version__} CLIPModel (tiny-clip)", "text": text,
                   "images": images, "logit_scale": float(model.logit_scale.exp().item())}, f, indent=1)
        f.write("\n")
    print(f"{len(TEXTS)} texts, {len(IMAGE_FILES)} images -> {os.path.relpath(OUT, ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
