#!/usr/bin/env python3
"""Side-by-side speed of image encoders: vlm-stream's Swift encoder, ONNX Runtime and (if installed) PyTorch, on
the same random-weight checkpoint, interleaved so machine noise hits all alike.

    swift build -c release --product vlm-stream
    $PYTHON scripts/bench-encoder.py [--arch vit-b32|siglip-b16-224|siglip-b32-256] [--batches 1,8] [--images 32]
                                     [--reps 3] [--threads 2] [--no-int8] [--kernels native,avx2]

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
"""

import argparse
import json
import os
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


def make_checkpoint(directory: Path, arch: str):
    """A seeded random model of `arch` as safetensors + an ONNX export of its image tower."""
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


def make_int8_onnx(directory: Path) -> Path:
    """ONNX Runtime's dynamic int8 quantization of the same export (weights per channel, activations at run time)."""
    target = directory / "vision.int8.onnx"
    if not target.exists():
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(str(directory / "vision.onnx"), str(target), per_channel=True, weight_type=QuantType.QInt8)
    return target


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
    args = parser.parse_args()

    workdir = Path(args.workdir or os.path.join(tempfile.gettempdir(), f"vlm-stream-bench-{args.arch}"))
    workdir.mkdir(parents=True, exist_ok=True)
    make_checkpoint(workdir, args.arch)

    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(workdir / "vision.onnx"), options, providers=["CPUExecutionProvider"])
    session_int8 = None
    if not args.no_int8:
        session_int8 = ort.InferenceSession(
            str(make_int8_onnx(workdir)), options, providers=["CPUExecutionProvider"])

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
    print(json.dumps({"arch": args.arch, "threads": args.threads, "parity_max_abs": extra.get("parity"), "images": args.images, "reps": args.reps, "batches": summary}))


if __name__ == "__main__":
    sys.exit(main())
