#!/usr/bin/env python3
"""Writes the image-preprocessing goldens the Swift CLIPImagePreprocessor tests compare against.

    $PYTHON scripts/golden/make_preprocess_goldens.py [--make-images OPENCV_DATA_DIR]

--make-images rebuilds the two small committed test images from Debian opencv-doc's examples/data
(messi5.jpg → a 183×114 JPEG, a portrait crop of graf1.png → a 101×147 PNG). Without it the committed images
are used as they are.

For each image this writes Tests/Fixtures/images/<name>.rgb (the RGB24 bytes PIL decodes, row-major) and, for
two processor configurations (the tiny-clip fixture's 32 px one and openai/clip-vit-base-patch32's 224 px one),
the resized + centre-cropped uint8 image that transformers' PIL-backed CLIPImageProcessorPil produces, as
Tests/Fixtures/images/<name>.<config>.crop.rgb. The script checks that the processor's pixel_values are exactly
(crop / 255 - mean) / std (so the Swift test can compare crops in uint8 and normalisation separately) and
records in Tests/Fixtures/images/preprocess_goldens.json:
  - the tiny config's full pixel_values (float32, CHW) for a direct comparison;
  - how far transformers 5's default processor (torchvision backend) is from the PIL one;
  - how far FFmpeg's decode of the JPEG (the `ffmpeg` CLI, rgb24) is from PIL's, before and after preprocessing.
"""

import argparse
import json
import os
import subprocess
import sys

import numpy as np
from PIL import Image
import transformers
from transformers import CLIPImageProcessor
from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
IMAGES = os.path.join(ROOT, "Tests", "Fixtures", "images")
TINY = os.path.join(ROOT, "Tests", "Fixtures", "tiny-clip")
NAMES = ["messi.jpg", "graf.png"]
CONFIGS = {
    "tiny": None,  # the tiny-clip fixture's preprocessor_config.json
    "openai": {"size": {"shortest_edge": 224}, "crop_size": {"height": 224, "width": 224}, "resample": 3},
}


def make_images(source: str) -> None:
    os.makedirs(IMAGES, exist_ok=True)
    messi = Image.open(os.path.join(source, "messi5.jpg")).convert("RGB").resize((183, 114), Image.LANCZOS)
    messi.save(os.path.join(IMAGES, "messi.jpg"), quality=90)
    graf = Image.open(os.path.join(source, "graf1.png")).convert("RGB").crop((200, 40, 600, 620))
    graf.resize((101, 147), Image.LANCZOS).save(os.path.join(IMAGES, "graf.png"))


def processors(config):
    if config is None:
        return CLIPImageProcessorPil.from_pretrained(TINY), CLIPImageProcessor.from_pretrained(TINY)
    return CLIPImageProcessorPil(**config), CLIPImageProcessor(**config)


def ffmpeg_rgb(path: str, width: int, height: int) -> np.ndarray:
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        check=True, capture_output=True,
    ).stdout
    return np.frombuffer(raw, dtype=np.uint8).reshape(height, width, 3)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--make-images", metavar="OPENCV_DATA_DIR")
    args = parser.parse_args()
    if args.make_images:
        make_images(args.make_images)

    out = {"reference": f"transformers {transformers.__version__} CLIPImageProcessorPil", "images": []}
    for name in NAMES:
        path = os.path.join(IMAGES, name)
        image = Image.open(path).convert("RGB")
        rgb = np.asarray(image, dtype=np.uint8)
        stem = os.path.splitext(name)[0]
        rgb.tofile(os.path.join(IMAGES, f"{stem}.rgb"))
        entry = {"file": name, "width": image.width, "height": image.height, "configs": {}}
        decoded = ffmpeg_rgb(path, image.width, image.height)
        entry["ffmpeg_decode_max_abs"] = int(np.abs(decoded.astype(int) - rgb.astype(int)).max())
        entry["ffmpeg_decode_mean_abs"] = float(np.abs(decoded.astype(int) - rgb.astype(int)).mean())
        for key, config in CONFIGS.items():
            pil, fast = processors(config)
            mean = np.array(pil.image_mean, dtype=np.float32).reshape(3, 1, 1)
            std = np.array(pil.image_std, dtype=np.float32).reshape(3, 1, 1)
            values = pil(images=image, return_tensors="np")["pixel_values"][0]
            # The crop in uint8: PIL's resize of the same image, centre-cropped like transformers does.
            crop = np.rint((values * std + mean) * 255).clip(0, 255).astype(np.uint8)
            assert np.abs((crop.astype(np.float32) / 255 - mean) / std - values).max() < 1e-5, "not a uint8 crop"
            crop.transpose(1, 2, 0).tofile(os.path.join(IMAGES, f"{stem}.{key}.crop.rgb"))
            fast_values = fast(images=image, return_tensors="pt")["pixel_values"][0].numpy()
            from_ffmpeg = pil(images=Image.fromarray(decoded), return_tensors="np")["pixel_values"][0]
            c = {
                "crop_width": int(values.shape[2]),
                "crop_height": int(values.shape[1]),
                "fast_vs_pil_max_abs": float(np.abs(fast_values - values).max()),
                "fast_vs_pil_max_uint8_steps": float(np.abs((fast_values - values) * std * 255).max()),
                "ffmpeg_decoded_vs_pil_max_abs": float(np.abs(from_ffmpeg - values).max()),
                "ffmpeg_decoded_vs_pil_mean_abs": float(np.abs(from_ffmpeg - values).mean()),
            }
            if key == "tiny":
                c["pixel_values"] = [round(float(v), 7) for v in values.reshape(-1)]
            entry["configs"][key] = c
            print(name, key, {k: v for k, v in c.items() if k != "pixel_values"})
        out["images"].append(entry)
    with open(os.path.join(IMAGES, "preprocess_goldens.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
