#!/usr/bin/env python3
"""How close is swscale's crop+resize (what VLMVideo does) to CLIP's reference preprocessing?

The reference (openai/CLIP, open_clip, transformers' CLIPImageProcessor) resizes a PIL image so its shortest
side is S with bicubic (PIL's antialiased convolution), then centre-crops S x S. VLMVideo instead crops the
centre square of the decoded frame and scales it to S x S in one sws_scale call. This script decodes frames with
the ffmpeg CLI to full-resolution RGB, runs the PIL reference, runs several swscale kernels through ffmpeg's
scale filter on the same RGB input and geometry, and prints the mean / p99 / max absolute difference (0-255
levels) per kernel. "PIL crop+resize" (integer centre square, then resize) shows what a sub-pixel shift of the
grid costs, which is why VLMVideo scales the whole frame and copies the centre window instead.

Usage: $PYTHON scripts/compare_video_resize.py SampleVideos/plaza.mp4 [SIZE] [FRAMES] [DUMP_DIR]
With DUMP_DIR (from `vlm-stream probe VIDEO --every 1 --size SIZE --dump DUMP_DIR`), VLMVideo's own views are
compared too.
Needs numpy and pillow, and ffmpeg on PATH.
"""
import subprocess
import sys

import numpy as np
from PIL import Image

video = sys.argv[1]
size = int(sys.argv[2]) if len(sys.argv) > 2 else 224
count = int(sys.argv[3]) if len(sys.argv) > 3 else 5
dump = sys.argv[4] if len(sys.argv) > 4 else None


def probe_size(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                          "stream=width,height", "-of", "csv=p=0", path], capture_output=True, text=True, check=True)
    w, h = out.stdout.strip().split(",")[:2]
    return int(w), int(h)


def ffmpeg_rgb(path, vf, w, h):
    out = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-vf", vf, "-frames:v", str(count), "-f", "rawvideo",
                          "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(out, np.uint8).reshape(-1, h, w, 3)


width, height = probe_size(video)
side = min(width, height)
x, y = (width - side) // 2, (height - side) // 2
# Full-resolution RGB as the decoder gives it (the common input of both paths).
full_flags = "bicubic+accurate_rnd+full_chroma_int+full_chroma_inp"
frames = ffmpeg_rgb(video, f"scale={width}:{height}:flags={full_flags},format=rgb24", width, height)


def pil_reference(rgb):
    image = Image.fromarray(rgb)
    # torchvision Resize(S) semantics: short side S, long side int(S * long / short).
    if width <= height:
        new = (size, int(size * height / width))
    else:
        new = (int(size * width / height), size)
    image = image.resize(new, Image.BICUBIC)
    left = int(round((new[0] - size) / 2.0))
    top = int(round((new[1] - size) / 2.0))
    return np.asarray(image.crop((left, top, left + size, top + size)))


def pil_crop_then_resize(rgb):
    # The same geometry as VLMVideo (integer centre square, then resize): isolates the kernel from crop rounding.
    return np.asarray(Image.fromarray(rgb).crop((x, y, x + side, y + side)).resize((size, size), Image.BICUBIC))


references = {
    "PIL resize+crop": np.stack([pil_reference(f) for f in frames]),
    "PIL crop+resize": np.stack([pil_crop_then_resize(f) for f in frames]),
}
kernels = {
    "bicubic (VLMVideo's kernel)": "bicubic+accurate_rnd",
    "area": "area+accurate_rnd",
    "bilinear": "bilinear+accurate_rnd",
    "lanczos": "lanczos+accurate_rnd",
}
if width <= height:
    new_w, new_h = size, int(size * height / width)
else:
    new_w, new_h = int(size * width / height), size
left, top = (new_w - size) // 2, (new_h - size) // 2
print(f"{video}: {width}x{height}, {len(frames)} frames, S={size}; |swscale - PIL| in 0-255 levels")
for name, flags in kernels.items():
    # Same RGB input as PIL, then the reference geometry: scale the whole frame, take the centre window.
    vf = (f"scale={width}:{height}:flags={full_flags},format=rgb24,"
          f"scale={new_w}:{new_h}:flags={flags},crop={size}:{size}:{left}:{top}")
    ours = ffmpeg_rgb(video, vf, size, size)
    for label, reference in references.items():
        diff = np.abs(ours.astype(np.int16) - reference.astype(np.int16))
        print(f"  {name:30s} vs {label}: mean {diff.mean():.3f}  p99 {np.percentile(diff, 99):.0f}  max {diff.max()}")

if dump:
    ours = []
    for n in range(len(frames)):
        with open(f"{dump}/frame_{n:06d}.ppm", "rb") as f:
            ours.append(np.asarray(Image.open(f).convert("RGB")))
    ours = np.stack(ours)
    for label, reference in references.items():
        diff = np.abs(ours.astype(np.int16) - reference.astype(np.int16))
        print(f"  {'VLMVideo (vlm-stream probe --dump)':30s} vs {label}: mean {diff.mean():.3f}  "
              f"p99 {np.percentile(diff, 99):.0f}  max {diff.max()}")
