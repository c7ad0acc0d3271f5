#!/usr/bin/env python3
"""Side-by-side speed of a whole greedy GIT caption: vlm-stream (Swift) against transformers' generate(), on the
same random-weight microsoft/git-base-shaped checkpoint (ViT-B/16 at 224 px, 6 x 768 decoder, 30522 vocabulary),
interleaved so machine noise hits both alike.

    swift build -c release --product vlm-stream
    $PYTHON scripts/bench-caption.py [--tokens 20] [--rounds 3] [--threads 2]

Needs torch and transformers. The checkpoint is written once to a temporary directory (config.json,
model.safetensors, a placeholder 30522-line vocab.txt, preprocessor_config.json). Both sides generate exactly
--tokens new tokens at batch 1 (end-of-text suppressed) from the same kind of random image. Prints each round, then
medians and the ratio.
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def make_checkpoint(directory: Path):
    import torch
    from transformers import GitConfig, GitForCausalLM

    if (directory / "model.safetensors").exists():
        return
    torch.manual_seed(0)
    model = GitForCausalLM(GitConfig()).eval()  # transformers' defaults are microsoft/git-base's shape
    model.save_pretrained(directory, safe_serialization=True)
    vocab = [f"[unused{i}]" for i in range(30522)]
    for index, token in [(0, "[PAD]"), (100, "[UNK]"), (101, "[CLS]"), (102, "[SEP]"), (103, "[MASK]")]:
        vocab[index] = token
    (directory / "vocab.txt").write_text("\n".join(vocab) + "\n")
    (directory / "preprocessor_config.json").write_text(json.dumps({
        "image_processor_type": "CLIPImageProcessor", "size": {"shortest_edge": 224},
        "crop_size": {"height": 224, "width": 224}, "do_resize": True, "do_center_crop": True, "resample": 3,
        "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
        "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711],
    }))


def transformers_round(model, tokens: int, reps: int):
    import torch

    pixels = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(7))
    captions, encodes = [], []
    with torch.inference_mode():
        for _ in range(reps + 1):  # the first is a warm-up, dropped
            start = time.perf_counter()
            features = model.git.image_encoder(pixels).last_hidden_state
            model.git.visual_projection(features)
            encodes.append(time.perf_counter() - start)
            start = time.perf_counter()
            ids = model.generate(pixel_values=pixels, max_new_tokens=tokens, min_new_tokens=tokens, num_beams=1,
                                 do_sample=False)
            captions.append(time.perf_counter() - start)
            assert ids.shape[1] == tokens + 1, ids.shape
    return statistics.median(encodes[1:]), statistics.median(captions[1:])


def swift_round(directory: Path, tokens: int, reps: int, threads: int, kernels: str):
    binary = ROOT / ".build" / "release" / "vlm-stream"
    out = subprocess.run(
        [str(binary), "bench", "caption", "--model", str(directory), "--tokens", str(tokens), "--reps", str(reps),
         "--threads", str(threads), "--kernels", kernels], check=True, capture_output=True, text=True).stdout
    print("\n".join("    " + line for line in out.strip().splitlines()[:-1]))
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--kernels", default="native", help="vlm-stream's kernels: native, avx2 or portable")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "vlm-bench-git-base")
    args = parser.parse_args()

    import torch
    from transformers import GitForCausalLM

    torch.set_num_threads(args.threads)
    args.dir.mkdir(parents=True, exist_ok=True)
    make_checkpoint(args.dir)
    model = GitForCausalLM.from_pretrained(args.dir).eval()
    swift, python = [], []
    for round_ in range(args.rounds):
        s = swift_round(args.dir, args.tokens, args.reps, args.threads, args.kernels)
        encode, caption = transformers_round(model, args.tokens, args.reps)
        swift.append(s)
        python.append((encode, caption))
        print(f"round {round_ + 1}: vlm-stream caption {s['caption_ms']:.1f} ms (encode {s['encode_ms']:.1f} ms, "
              f"step {s['step_ms']:.2f} ms: first {s['step_first_ms']:.2f}, last {s['step_last_ms']:.2f}); "
              f"transformers caption {caption * 1e3:.1f} ms (encode {encode * 1e3:.1f} ms)")
    swift_caption = statistics.median(s["caption_ms"] for s in swift)
    torch_caption = statistics.median(c for _, c in python) * 1e3
    print(f"median whole {args.tokens}-token greedy caption, batch 1, {args.threads} threads: vlm-stream "
          f"{swift_caption:.1f} ms, transformers {torch_caption:.1f} ms, ratio {torch_caption / swift_caption:.2f}x")
    print(f"median image encode: vlm-stream {statistics.median(s['encode_ms'] for s in swift):.1f} ms, transformers "
          f"{statistics.median(e for e, _ in python) * 1e3:.1f} ms")
    print(f"vlm-stream peak RSS / weight bytes: "
          f"{max(s['peak_rss_bytes'] for s in swift) / swift[0]['weight_bytes']:.2f}")


if __name__ == "__main__":
    sys.exit(main())
