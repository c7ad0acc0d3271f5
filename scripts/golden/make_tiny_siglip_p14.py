#!/usr/bin/env python3
"""Builds a tiny random-weight SigLIP checkpoint in the layout of google/siglip-so400m-patch14-384, whose image side
(384) is not a multiple of its patch (14): the patch convolution (stride = kernel) then covers 27 × 27 patches and
drops the last 6 rows and columns of pixels, and its head_dim (72) is not a multiple of 32. Here: image_size 30,
patch_size 4 (7 × 7 patches, the last 2 rows and columns dropped), width 72 with 4 heads (head_dim 18).

Run from the repository root with an interpreter that has torch, transformers, safetensors and numpy:

    $PYTHON scripts/golden/make_tiny_siglip_p14.py

Writes
  Tests/Fixtures/tiny-siglip-p14/          config.json (model_type siglip) and model.safetensors
  Tests/Fixtures/tiny-siglip-p14-golden/   every activation of the image tower (raw little-endian float32 .bin +
                                           manifest.json), as make_tiny_siglip.py writes them for tiny-siglip
"""

import shutil
import sys
from pathlib import Path

import torch
from transformers import SiglipConfig

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_tiny_clip import GoldenWriter  # noqa: E402
from make_tiny_siglip import FIXTURES, build_model, save_checkpoint, vision_goldens  # noqa: E402


def main():
    torch.set_grad_enabled(False)
    config = SiglipConfig(
        text_config=dict(
            vocab_size=400, hidden_size=32, intermediate_size=96, num_hidden_layers=1, num_attention_heads=4,
            max_position_embeddings=64, hidden_act="gelu_pytorch_tanh", layer_norm_eps=1e-6, projection_size=72,
            pad_token_id=1,
        ),
        vision_config=dict(
            image_size=30, patch_size=4, hidden_size=72, intermediate_size=128, num_hidden_layers=2,
            num_attention_heads=4, hidden_act="gelu_pytorch_tanh", layer_norm_eps=1e-6,
        ),
    )
    model = build_model(config, seed=2468, dtype=torch.float32)
    assert model.vision_model.embeddings.num_patches == 49
    directory = FIXTURES / "tiny-siglip-p14"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    save_checkpoint(model, directory, torch.float32)
    (directory / "model.safetensors").chmod(0o644)
    out = GoldenWriter(FIXTURES / "tiny-siglip-p14-golden")
    vision_goldens(model, "tiny-siglip-p14.vision", out, seed=13)
    out.finish()


if __name__ == "__main__":
    main()
