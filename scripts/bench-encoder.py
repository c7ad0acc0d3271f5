#!/usr/bin/env python3
"""Side-by-side speed of image encoders: vlm-stream's Swift encoder, ONNX Runtime and (if installed) PyTorch, on
the same random-weight checkpoint, interleaved so machine noise hits all alike.

    swift build -c release --product vlm-stream
    $PYTHON scripts/bench-encoder.py [--arch vit-b32|siglip-b16-224|siglip-b32-256] [--batches 1,8] [--images 32]
                                     [--reps 3] [--threads 2] [--no-int8] [--kernels native,avx2] [--outliers]
                                     [--accuracy]

`--arch` picks the shape: CLIP ViT-B/32 (default), or SigLIP base at patch 16 / 224 px or patch 32 / 256 px
(transformers' SiglipModel: no class token, attention-pooling head, gelu_pytorch_tanh). Unless `--no-int8`,
vlm-stream's int8 encoder and ONNX Runtime's dynamic int8 (`quantize_dynamic`) run beside the fp32 ones.

Needs torch + transformers (to make the checkpoint and the ONNX export) and onnxruntime. The random CLIPModel is
written once as a Hugging Face directory (config.json + model.safetensors) that `vlm-stream bench encoder --model`
loads, and its vision tower + projection are exported to ONNX. With int8 (the default), vlm-stream also runs
`--precision int8` and ONNX Runtime its own dynamic int8 (`quantize_dynamic`, per-channel int8 weights, on the same
export). `--kernels` adds vlm-stream runs on other kernel code beside the native one (`avx2`: AVX2+FMA where the
CPU prefers AVX-512; `portable`). Prints per-run images/s, then medians, their ratios, and the median of each
repetition's own ratio (steadier on a shared machine).

`--outliers` times the outlier variant of the model instead (see below): trained checkpoints have such channels,
and vlm-stream's int8 computes them in float32 beside the int8 products, which random weights never exercise.

`--accuracy` measures accuracy instead of speed: on the outlier variant of the random ViT-B/32 (vlm-stream's int8
fixture: a few layer-norm gains 10–50×, as trained checkpoints have), each engine's int8 image embeddings against its
own fp32 ones over 63 varied images (frames of the sample videos, the test stills, synthetic patterns): the centered
relative error and the zero-shot agreement over 20 labels, for vlm-stream's int8 and ONNX Runtime's
`quantize_dynamic` (per-channel weights; and with `reduce_range`, its advice for AVX2 without VNNI).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


ARCHS = {"vit-b32": 224, "siglip-b16-224": 224, "siglip-b32-256": 256}


def load_model(arch: str, directory: Path):
    from transformers import CLIPModel, SiglipModel

    return (CLIPModel if arch == "vit-b32" else SiglipModel).from_pretrained(directory).eval()


# vlm-stream's int8 outlier fixture (`CLIPWeights.randomWithOutliers`): in every block's layer_norm1 and layer_norm2
# these channels get these gains, as trained CLIP and ViT checkpoints show.
OUTLIER_GAINS = [(7, 10.0), (101, 20.0), (333, 35.0), (517, 50.0)]


def make_checkpoint(directory: Path, arch: str, outliers: bool = False):
    """A seeded random model of `arch` as safetensors + an ONNX export of its image tower; with `outliers`, with the
    outlier fixture's layer-norm gains in both towers."""
    import torch
    from transformers import CLIPConfig, CLIPModel, SiglipConfig, SiglipModel

    if (directory / "vision.onnx").exists():
        return
    torch.manual_seed(0)
    if arch == "vit-b32":
        model = CLIPModel(CLIPConfig()).eval()  # transformers' defaults are ViT-B/32
    else:
        patch, size = (16, 224) if arch == "siglip-b16-224" else (32, 256)
        model = SiglipModel(SiglipConfig(vision_config=dict(patch_size=patch, image_size=size))).eval()
    if outliers:
        with torch.no_grad():
            for tower in (model.vision_model, model.text_model):
                for layer in tower.encoder.layers:
                    for norm in (layer.layer_norm1, layer.layer_norm2):  # weight (D,)
                        for channel, gain in OUTLIER_GAINS:
                            norm.weight[channel % norm.weight.numel()] = gain
    model.save_pretrained(directory, safe_serialization=True)

    class ImageTower(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.vision_model = model.vision_model
            self.visual_projection = getattr(model, "visual_projection", None)  # SigLIP has none

        def forward(self, pixel_values):
            embeds = self.vision_model(pixel_values=pixel_values).pooler_output
            if self.visual_projection is not None:
                embeds = self.visual_projection(embeds)
            return embeds / embeds.norm(dim=-1, keepdim=True)

    tower = ImageTower(model).eval()
    side = ARCHS[arch]
    example = torch.randn(1, 3, side, side)
    torch.onnx.export(
        tower, (example,), str(directory / "vision.onnx"), input_names=["pixel_values"],
        output_names=["image_embeds"], dynamic_axes={"pixel_values": {0: "batch"}, "image_embeds": {0: "batch"}},
        opset_version=17, dynamo=False,
    )


def make_int8_onnx(directory: Path, reduce_range: bool = False) -> Path:
    """ONNX Runtime's dynamic int8 quantization of the same export (weights per channel, activations at run time);
    `reduce_range`: 7-bit weights, what its documentation advises on AVX2 CPUs without VNNI, where its U8S8 kernel's
    16-bit pair sums (`vpmaddubsw`) can saturate."""
    target = directory / ("vision.int8-reduce-range.onnx" if reduce_range else "vision.int8.onnx")
    if not target.exists():
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(str(directory / "vision.onnx"), str(target), per_channel=True, reduce_range=reduce_range,
                         weight_type=QuantType.QInt8)
    return target


def onnxruntime_session(path: Path, threads: int):
    """An ONNX Runtime CPU session on `threads` threads with every graph optimization, as both modes use it."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def time_batches(run, batch: int, images: int) -> float:
    """images/s over ceil(images/batch) calls of `run`, after one warm-up call."""
    run()
    calls = (images + batch - 1) // batch
    start = time.perf_counter()
    for _ in range(calls):
        run()
    return calls * batch / (time.perf_counter() - start)


def bench_ours(binary: str, directory: Path, batch: int, images: int, threads: int, precision: str = "fp32",
               kernels: str = "native"):
    out = subprocess.run(
        [binary, "bench", "encoder", "--model", str(directory), "--batch", str(batch), "--images", str(images),
         "--threads", str(threads), "--precision", precision, "--kernels", kernels],
        check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def accuracy_images(directory: Path) -> list:
    """60 varied images as files: frames of the three sample videos (plaza 2.4 frames/s, megamind 1.5, the tree
    0.4), the test stills, and 20 synthetic ones (gradients, checkerboards, stripes, discs, noise)."""
    out = directory / "accuracy-images"
    if not out.exists():
        from PIL import Image

        out.mkdir()
        for video, rate in (("plaza", 2.4), ("megamind", 1.5), ("static_tree", 0.4)):
            subprocess.run(["ffmpeg", "-v", "error", "-i", str(ROOT / f"SampleVideos/{video}.mp4"), "-vf",
                            f"fps={rate}", str(out / f"{video}-%02d.png")], check=True)
        for name in ("images/graf.png", "images/messi.jpg", "still.png"):
            Image.open(ROOT / "Tests/Fixtures" / name).convert("RGB").save(out / f"still-{Path(name).stem}.png")
        rng = np.random.default_rng(7)
        v, u = np.mgrid[0:256, 0:256] / 256.0
        for i in range(20):
            colour = rng.uniform(0, 1, 3)
            kind = i % 5
            if kind == 0:
                planes = [colour[c] * (u * np.cos(i) + v * np.sin(i)) for c in range(3)]
            elif kind == 1:
                board = ((u * (4 + i)).astype(int) + (v * (4 + i)).astype(int)) % 2
                planes = [board * colour[c] for c in range(3)]
            elif kind == 2:
                planes = [0.5 + 0.5 * np.sin((u + v * colour[c]) * (6 + i)) for c in range(3)]
            elif kind == 3:
                disc = np.hypot(u - 0.3 - 0.02 * i, v - 0.5) < 0.1 + 0.01 * i
                planes = [np.where(disc, colour[c], 1 - colour[c]) for c in range(3)]
            else:
                planes = [rng.uniform(0, 1, u.shape) * colour[c] for c in range(3)]
            pixels = np.clip(np.stack(planes, -1) * 255, 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(out / f"synthetic-{i:02d}.png")
    return sorted(out.iterdir())


def accuracy(args) -> int:
    """`--accuracy`: how far each engine's int8 image tower is from its own fp32 one, on the outlier variant of the
    random ViT-B/32 (vlm-stream's int8 fixture) and 63 varied images: the centered relative error ‖P − G‖ /
    ‖G − mean(G)‖ and the zero-shot agreement (argmax over 20 labels, embedded once by PyTorch's fp32 text tower)."""
    import onnxruntime as ort
    import torch
    from transformers import CLIPImageProcessor

    if args.arch != "vit-b32":
        sys.exit("--accuracy: only --arch vit-b32 (the outlier fixture's shape)")
    directory = Path(args.workdir or os.path.join(tempfile.gettempdir(), "vlm-stream-bench-vit-b32-outliers"))
    directory.mkdir(parents=True, exist_ok=True)
    make_checkpoint(directory, args.arch, outliers=True)
    # `embed image` loads a whole checkpoint directory: CLIP's real tokenizer files (as the tiny test fixture has
    # them) and the default ViT-B/32 preprocessing.
    for name in ("vocab.json", "merges.txt", "tokenizer_config.json"):
        shutil.copy(ROOT / "Tests/Fixtures/tiny-clip" / name, directory / name)
    CLIPImageProcessor().save_pretrained(directory)
    files = accuracy_images(directory)
    model = load_model(args.arch, directory)

    # 20 label token sequences: start token, 3–10 random words, end token (the first end token is pooled).
    rng = np.random.default_rng(2024)
    labels = [[49406] + list(rng.integers(1, 49405, 3 + i % 8)) + [49407] for i in range(20)]
    width = max(map(len, labels))
    ids = torch.tensor([row + [49407] * (width - len(row)) for row in labels])
    with torch.inference_mode():
        text = model.get_text_features(input_ids=ids).pooler_output
    text = torch.nn.functional.normalize(text, dim=-1).numpy()

    def ours(precision: str) -> np.ndarray:
        out = subprocess.run([args.binary, "embed", "image", *map(str, files), "--model", str(directory),
                              "--precision", precision], check=True, capture_output=True, text=True).stdout
        return np.array([json.loads(line)["embedding"] for line in out.splitlines()], dtype=np.float64)

    from PIL import Image

    pixels = CLIPImageProcessor()(images=[Image.open(f).convert("RGB") for f in files],
                                  return_tensors="np")["pixel_values"]
    def onnxruntime(path: Path) -> np.ndarray:
        session = onnxruntime_session(path, args.threads)
        return np.concatenate([session.run(None, {"pixel_values": pixels[i:i + 8]})[0]
                               for i in range(0, len(pixels), 8)]).astype(np.float64)

    def compare(name: str, reference: np.ndarray, candidate: np.ndarray) -> dict:
        error = np.linalg.norm(candidate - reference) / np.linalg.norm(reference - reference.mean(0))
        agreement = float(np.mean((reference @ text.T).argmax(1) == (candidate @ text.T).argmax(1)))
        shown = f"{error:.4f} (bar ≤ 0.05)" if error >= 1e-3 else f"{error:.1e}"
        print(f"{name:58s} centered relative error {shown:18s}  zero-shot agreement {100 * agreement:5.1f} % "
              "(bar ≥ 95 %)", flush=True)
        return {"name": name, "centered_relative_error": float(f"{error:.4g}"), "zero_shot_agreement": agreement}

    print(f"{len(files)} images, 20 labels, int8 image tower against the same engine's fp32 one "
          f"(ONNX Runtime {ort.__version__})")
    fp32 = ours("fp32")
    ort_fp32 = onnxruntime(directory / "vision.onnx")
    results = [
        compare("vlm-stream int8 (per-token zero points, outlier channels fp32)", fp32, ours("int8")),
        compare("ONNX Runtime int8 (quantize_dynamic, per-channel weights)", ort_fp32,
                onnxruntime(make_int8_onnx(directory))),
        compare("ONNX Runtime int8, reduce_range (7-bit weights)", ort_fp32,
                onnxruntime(make_int8_onnx(directory, reduce_range=True))),
        compare("(vlm-stream fp32 against ONNX Runtime fp32: preprocessing)", ort_fp32, fp32),
    ]
    print(json.dumps({"arch": args.arch, "images": len(files), "labels": len(labels), "accuracy": results}))
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default="vit-b32", choices=sorted(ARCHS))
    parser.add_argument("--batches", default="1,8")
    parser.add_argument("--images", type=int, default=32, help="images per measurement")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--binary", default=os.environ.get("VLM_STREAM", str(ROOT / ".build/release/vlm-stream")))
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--no-int8", action="store_true", help="skip vlm-stream int8 and ONNX Runtime int8")
    parser.add_argument("--kernels", default="native", help="vlm-stream fp32 kernel choices, the first is 'ours'")
    parser.add_argument("--outliers", action="store_true",
                        help="time the outlier variant of the model (a few layer-norm gains 10–50×, as trained "
                             "checkpoints have, which vlm-stream's int8 keeps in float32)")
    parser.add_argument("--accuracy", action="store_true",
                        help="instead of speed, int8 against fp32 accuracy of vlm-stream and ONNX Runtime on the "
                             "outlier fixture (ViT-B/32 only)")
    args = parser.parse_args()
    if args.accuracy:
        return accuracy(args)

    variant = "-outliers" if args.outliers else ""
    workdir = Path(args.workdir or os.path.join(tempfile.gettempdir(), f"vlm-stream-bench-{args.arch}{variant}"))
    workdir.mkdir(parents=True, exist_ok=True)
    make_checkpoint(workdir, args.arch, outliers=args.outliers)

    session = onnxruntime_session(workdir / "vision.onnx", args.threads)
    session_int8 = None
    if not args.no_int8:
        session_int8 = onnxruntime_session(make_int8_onnx(workdir), args.threads)

    torch_model = None
    if not args.no_torch:
        try:
            import torch

            torch.set_num_threads(args.threads)
            torch_model = load_model(args.arch, workdir)
        except ImportError:
            torch_model = None

    # Parity at full scale: the probe image `bench encoder` embeds during its warm-up, through ONNX Runtime.
    side = ARCHS[args.arch]
    probe = (2 * np.sin(0.001 * np.arange(3 * side * side, dtype=np.float64))).astype(np.float32)
    probe_embedding = session.run(None, {"pixel_values": probe.reshape(1, 3, side, side)})[0][0]

    batches = [int(b) for b in args.batches.split(",")]
    kernels = args.kernels.split(",")
    other_kernels = kernels[1:]
    results = {b: {"ours": [], "onnxruntime": [], "torch": [], "ours_int8": [], "onnxruntime_int8": [],
                   **{f"ours_{k}": [] for k in other_kernels}} for b in batches}
    extra = {}
    rng = np.random.default_rng(0)
    for rep in range(args.reps):
        for b in batches:
            pixels = rng.standard_normal((b, 3, side, side)).astype(np.float32)
            ours = bench_ours(args.binary, workdir, b, args.images, args.threads, kernels=kernels[0])
            results[b]["ours"].append(ours["images_per_s"])
            for k in other_kernels:
                results[b][f"ours_{k}"].append(
                    bench_ours(args.binary, workdir, b, args.images, args.threads, kernels=k)["images_per_s"])
            if b == 1:
                parity = float(np.max(np.abs(np.asarray(ours["probe_embedding"]) - probe_embedding)))
                extra["parity"] = parity
            extra[b] = ours
            results[b]["onnxruntime"].append(
                time_batches(lambda: session.run(None, {"pixel_values": pixels}), b, args.images))
            if session_int8 is not None:
                ours8 = bench_ours(args.binary, workdir, b, args.images, args.threads, "int8")
                results[b]["ours_int8"].append(ours8["images_per_s"])
                extra[f"{b}-int8"] = ours8
                results[b]["onnxruntime_int8"].append(
                    time_batches(lambda: session_int8.run(None, {"pixel_values": pixels}), b, args.images))
            if torch_model is not None:
                import torch

                tensor = torch.from_numpy(pixels)
                with torch.inference_mode():
                    results[b]["torch"].append(
                        time_batches(lambda: torch_model.get_image_features(pixel_values=tensor), b, args.images))
            line = "  ".join(f"{k} {v[-1]:6.2f}" for k, v in results[b].items() if v)
            print(f"rep {rep + 1} batch {b}: {line} images/s", flush=True)

    print()
    summary = {}
    for b in batches:
        runs = results[b]
        med = {k: statistics.median(v) for k, v in runs.items() if v}

        def per_rep(num: str, den: str) -> float:
            """The median of the repetitions' own ratios: each compares runs minutes apart at most, so the shared
            machine's slow drifts cancel, where the ratio of the medians can pair a quiet run with a busy one."""
            return statistics.median(x / y for x, y in zip(runs[num], runs[den]))

        ratio = med["ours"] / med["onnxruntime"]
        summary[b] = {"median_images_per_s": med, "ours_over_onnxruntime": ratio,
                      "ours_over_onnxruntime_per_rep": per_rep("ours", "onnxruntime")}
        if "ours_int8" in med:
            summary[b]["ours_int8_over_onnxruntime"] = med["ours_int8"] / med["onnxruntime"]
            summary[b]["ours_int8_over_onnxruntime_int8"] = med["ours_int8"] / med["onnxruntime_int8"]
            summary[b]["ours_int8_over_onnxruntime_per_rep"] = per_rep("ours_int8", "onnxruntime")
            summary[b]["ours_int8_over_onnxruntime_int8_per_rep"] = per_rep("ours_int8", "onnxruntime_int8")
        line = "  ".join(f"{k} {v:6.2f}" for k, v in med.items())
        torch_ratio = f", ours/torch {med['ours'] / med['torch']:.2f}" if "torch" in med else ""
        print(f"batch {b}: median images/s  {line}   ours/onnxruntime {ratio:.2f}{torch_ratio} "
              f"(per repetition {summary[b]['ours_over_onnxruntime_per_rep']:.2f})")
        print(f"         ours: load {extra[b]['load_s']:.3f} s, peak RSS {extra[b]['peak_rss_bytes'] / 1e6:.0f} MB, "
              f"weights {extra[b]['weight_bytes'] / 1e6:.0f} MB, {extra[b]['gflops_per_s']:.1f} GFLOP/s")
        if "ours_int8" in med:
            e8 = extra[f"{b}-int8"]
            print(f"         int8: ours_int8/onnxruntime {summary[b]['ours_int8_over_onnxruntime']:.2f} "
                  f"(per repetition {summary[b]['ours_int8_over_onnxruntime_per_rep']:.2f}), "
                  f"ours_int8/onnxruntime_int8 {summary[b]['ours_int8_over_onnxruntime_int8']:.2f} "
                  f"(per repetition {summary[b]['ours_int8_over_onnxruntime_int8_per_rep']:.2f}), "
                  f"peak RSS {e8['peak_rss_bytes'] / 1e6:.0f} MB "
                  f"({e8['peak_rss_bytes'] / extra[b]['peak_rss_bytes']:.2f}× fp32's)")
    if "parity" in extra:
        print(f"parity: max |ours - onnxruntime| over the probe image's embedding = {extra['parity']:.2e}")
    print(json.dumps({"arch": args.arch, "outliers": args.outliers, "threads": args.threads, "parity_max_abs": extra.get("parity"), "images": args.images, "reps": args.reps, "batches": summary}))


if __name__ == "__main__":
    sys.exit(main())
