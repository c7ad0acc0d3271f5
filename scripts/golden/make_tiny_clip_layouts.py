#!/usr/bin/env python3
"""Tiny random-weight CLIP checkpoints in the layouts of CLIP releases that are not openai's ViT-B/32, with the
goldens the Swift tests compare against (transformers' CLIPModel computes them).

Run from the repository root with an interpreter that has torch, transformers, safetensors and numpy:

    $PYTHON scripts/golden/make_tiny_clip_layouts.py

Writes Tests/Fixtures/tiny-clip-<layout>/ (config.json, model.safetensors, preprocessor_config.json) and
Tests/Fixtures/tiny-clip-layouts-golden/ (activations as raw float32 + manifest.json) for
  laion     laion/CLIP-ViT-B-32-laion2B-s34B-b79K as converted to transformers: exact gelu, a projection size of
            its own (48, neither tower's width), legacy `text_config_dict`/`vision_config_dict` blocks, F16 weights.
  tinyclip  wkcn/TinyCLIP-ViT-*: narrow towers of different widths and depths (vision 48 wide × 3 layers,
            3 heads; text 24 wide × 1 layer, 2 heads), patch 16.
  l14-336   openai/clip-vit-large-patch14-336: patch 14 at 336 px (577 tokens), quick_gelu.
The pixel values are a formula (no stored input): x[c, y, x'] = sin(0.37·x' + 0.23·(c + 1)·y + seed), float32.
"""

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import torch
from transformers import CLIPConfig, CLIPImageProcessor

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_tiny_clip import GoldenWriter, build_model, save_checkpoint, text_goldens  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "Tests" / "Fixtures"
GOLDEN = FIXTURES / "tiny-clip-layouts-golden"


def formula_pixels(batch: int, size: int, seed: float) -> torch.Tensor:
    c, y, x = np.meshgrid(np.arange(3), np.arange(size), np.arange(size), indexing="ij")
    one = np.sin(0.37 * x + 0.23 * (c + 1) * y + seed).astype(np.float32)
    return torch.from_numpy(np.stack([np.sin(0.37 * x + 0.23 * (c + 1) * y + seed + b).astype(np.float32)
                                      for b in range(batch)]) if batch > 1 else one[None])


def vision_goldens(model, prefix: str, out: GoldenWriter, pixels: torch.Tensor):
    vm = model.vision_model
    embeddings = vm.embeddings(pixels)
    hidden = vm.pre_layrnorm(embeddings)
    out.add(f"{prefix}.embeddings", embeddings)
    out.add(f"{prefix}.pre_layernorm", hidden)
    for i, layer in enumerate(vm.encoder.layers):
        hidden = layer(hidden, None)
        hidden = hidden[0] if isinstance(hidden, tuple) else hidden
        out.add(f"{prefix}.layer{i}", hidden)
    pooled = vm.post_layernorm(hidden[:, 0, :])
    out.add(f"{prefix}.pooled", pooled)
    projected = model.visual_projection(pooled)
    out.add(f"{prefix}.projected", projected)
    out.add(f"{prefix}.image_embeds", projected / projected.norm(dim=-1, keepdim=True))
    reference = model.get_image_features(pixel_values=pixels)
    reference = getattr(reference, "pooler_output", reference)
    assert torch.allclose(reference, projected, atol=1e-5)


LAYOUTS = {
    "laion": dict(
        text=dict(vocab_size=1000, hidden_size=32, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                  max_position_embeddings=77, hidden_act="gelu", bos_token_id=0, eos_token_id=2),
        vision=dict(image_size=32, patch_size=8, hidden_size=64, intermediate_size=256, num_hidden_layers=2,
                    num_attention_heads=4, hidden_act="gelu"),
        projection_dim=48, dtype=torch.float16, batch=2, seed=0.5, legacy=True,
        cases=[[0, 5, 17, 400, 999], [0, 999, 3, 3]],  # pooled at the highest id (eos_token_id 2)
    ),
    "tinyclip": dict(
        text=dict(vocab_size=1000, hidden_size=24, intermediate_size=96, num_hidden_layers=1, num_attention_heads=2,
                  max_position_embeddings=77, hidden_act="quick_gelu", bos_token_id=998, eos_token_id=999),
        vision=dict(image_size=48, patch_size=16, hidden_size=48, intermediate_size=192, num_hidden_layers=3,
                    num_attention_heads=3, hidden_act="quick_gelu"),
        projection_dim=40, dtype=torch.float32, batch=2, seed=1.5, legacy=False,
        cases=[[998, 5, 17, 400, 999], [998, 999, 0, 0]],
    ),
    "l14-336": dict(
        text=dict(vocab_size=1000, hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                  max_position_embeddings=77, hidden_act="quick_gelu", bos_token_id=998, eos_token_id=999),
        vision=dict(image_size=336, patch_size=14, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                    num_attention_heads=2, hidden_act="quick_gelu"),
        projection_dim=24, dtype=torch.float32, batch=1, seed=2.5, legacy=False,
        cases=[[998, 5, 17, 400, 999]],
    ),
}


def main():
    torch.set_grad_enabled(False)
    out = GoldenWriter(GOLDEN)
    for name, layout in LAYOUTS.items():
        directory = FIXTURES / f"tiny-clip-{name}"
        shutil.rmtree(directory, ignore_errors=True)
        config = CLIPConfig(text_config=layout["text"], vision_config=layout["vision"],
                            projection_dim=layout["projection_dim"])
        names = [n for n, _ in build_model(config, 0, {}).named_parameters()]
        dtypes = {n: layout["dtype"] for n in names}
        model = build_model(config, seed=len(name) * 101, dtypes=dtypes)
        save_checkpoint(model, directory, dtypes)
        (directory / "model.safetensors").chmod(0o644)
        if layout["legacy"]:  # the converted LAION files carry *_config_dict blocks as well
            data = json.loads((directory / "config.json").read_text())
            data["text_config_dict"] = dict(layout["text"])
            data["vision_config_dict"] = dict(layout["vision"])
            (directory / "config.json").write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        size = layout["vision"]["image_size"]
        CLIPImageProcessor(size={"shortest_edge": size}, crop_size={"height": size, "width": size}).save_pretrained(
            directory)
        prefix = f"tiny-clip-{name}"
        out.add_json(f"{prefix}.pixels", {"batch": layout["batch"], "size": size, "seed": layout["seed"]})
        vision_goldens(model, f"{prefix}.vision", out, formula_pixels(layout["batch"], size, layout["seed"]))
        text_goldens(model, f"{prefix}.text", out, layout["cases"])
        out.add_json(f"{prefix}.logit_scale", float(model.logit_scale.exp()))
    out.finish()
    total = sum(f.stat().st_size for f in FIXTURES.glob("tiny-clip-l*/*")) + sum(
        f.stat().st_size for f in FIXTURES.glob("tiny-clip-tinyclip/*"))
    print(f"wrote {len(LAYOUTS)} layouts and {GOLDEN} ({total / 1e6:.2f} MB of checkpoints)", file=sys.stderr)


if __name__ == "__main__":
    main()
