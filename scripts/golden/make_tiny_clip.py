#!/usr/bin/env python3
"""Builds the tiny random-weight CLIP checkpoints and golden activations the Swift tests compare against.

Run from the repository root with an interpreter that has torch, transformers, safetensors, numpy and
open_clip_torch (only for its copy of CLIP's BPE merges):

    $PYTHON scripts/golden/make_tiny_clip.py

Writes
  Tests/Fixtures/tiny-clip/           a complete Hugging Face checkpoint directory (config.json, model.safetensors,
                                      vocab.json, merges.txt, tokenizer_config.json, special_tokens_map.json,
                                      preprocessor_config.json) with the real 49408-token CLIP vocabulary, a 32 px
                                      ViT (patch 8, width 64, 2 layers, 4 heads), a width-32 text tower and 32-d
                                      projections; quick_gelu, legacy `eos_token_id: 2` (pool at argmax of ids),
                                      token embedding stored as F16, everything else F32.
  Tests/Fixtures/tiny-clip-gelu/      a second variant without tokenizer files: exact gelu, vocabulary of 1000,
                                      newer `eos_token_id: 500` (pool at the first EOS), every tensor BF16.
  Tests/Fixtures/tiny-clip-golden/    inputs and activations of both, as raw little-endian float32 (.bin) plus
                                      manifest.json giving each file's shape.

The weights are random but seeded, and every weight is rounded to its storage dtype before the goldens are
computed, so a correct loader reproduces the activations to float32 rounding.
"""

import gzip
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file
from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPTokenizer

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "Tests" / "Fixtures"
GOLDEN = FIXTURES / "tiny-clip-golden"


# MARK: - Tokenizer files from open_clip's bpe_simple_vocab_16e6.txt.gz


def bytes_to_unicode():
    """openai/CLIP simple_tokenizer.py: byte → printable unicode character table."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def write_clip_vocabulary(directory: Path):
    """vocab.json + merges.txt exactly as openai's SimpleTokenizer builds its 49408-entry table."""
    import open_clip

    bpe_path = Path(open_clip.__file__).parent / "bpe_simple_vocab_16e6.txt.gz"
    lines = gzip.open(bpe_path).read().decode("utf-8").split("\n")
    merges = [tuple(line.split()) for line in lines[1 : 49152 - 256 - 2 + 1]]
    vocab = list(bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab]
    vocab += ["".join(m) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    assert len(vocab) == 49408, len(vocab)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}, ensure_ascii=False))
    (directory / "merges.txt").write_text("#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n")
    return {t: i for i, t in enumerate(vocab)}, merges


# MARK: - Models


def tiny_config(hidden_act: str, vocab_size: int, bos_token_id: int, eos_token_id: int) -> CLIPConfig:
    return CLIPConfig(
        text_config=dict(
            vocab_size=vocab_size, hidden_size=32, intermediate_size=128, num_hidden_layers=2,
            num_attention_heads=4, max_position_embeddings=77, hidden_act=hidden_act, layer_norm_eps=1e-5,
            bos_token_id=bos_token_id, eos_token_id=eos_token_id, pad_token_id=1,
            projection_dim=32,
        ),
        vision_config=dict(
            image_size=32, patch_size=8, hidden_size=64, intermediate_size=256, num_hidden_layers=2,
            num_attention_heads=4, hidden_act=hidden_act, layer_norm_eps=1e-5, projection_dim=32,
        ),
        projection_dim=32,
        logit_scale_init_value=2.6592,
    )


def build_model(config: CLIPConfig, seed: int, dtypes: dict) -> CLIPModel:
    """A CLIPModel with seeded random weights (larger than HF's init so every layer matters), each weight rounded
    to the dtype it will be stored in (`dtypes`: key → torch dtype, default float32)."""
    torch.manual_seed(seed)
    model = CLIPModel(config).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name == "logit_scale":
                pass  # keep transformers' init value, only rounded below
            elif "layer_norm" in name or "layrnorm" in name or "layernorm" in name:
                base = 1.0 if name.endswith("weight") else 0.0
                p.copy_(base + 0.1 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.05 * torch.randn_like(p))
            else:
                fan_in = p[0].numel() if p.dim() > 1 else p.numel()
                std = 0.5 if "embedding" in name else fan_in**-0.5
                p.copy_(std * torch.randn_like(p))
            p.copy_(p.to(dtypes.get(name, torch.float32)).to(torch.float32))
    return model


def save_checkpoint(model: CLIPModel, directory: Path, dtypes: dict):
    directory.mkdir(parents=True, exist_ok=True)
    model.config.save_pretrained(directory)
    tensors = {}
    for name, p in model.state_dict().items():
        if name.endswith("position_ids"):
            continue
        tensors[name] = p.detach().to(dtypes.get(name, torch.float32)).contiguous()
    save_file(tensors, directory / "model.safetensors", metadata={"format": "pt"})


# MARK: - Goldens


class GoldenWriter:
    def __init__(self, directory: Path):
        self.directory = directory
        self.manifest = {}
        if directory.exists():
            shutil.rmtree(directory)
        directory.mkdir(parents=True)

    def add(self, name: str, tensor):
        array = np.ascontiguousarray(np.asarray(tensor, dtype="<f4"))
        (self.directory / f"{name}.bin").write_bytes(array.tobytes())
        self.manifest[name] = {"file": f"{name}.bin", "shape": list(array.shape)}

    def add_json(self, name: str, value):
        self.manifest[name] = value

    def finish(self):
        (self.directory / "manifest.json").write_text(json.dumps(self.manifest, indent=1, sort_keys=True) + "\n")


def vision_goldens(model: CLIPModel, prefix: str, out: GoldenWriter, seed: int):
    g = torch.Generator().manual_seed(seed)
    pixels = torch.randn(2, 3, 32, 32, generator=g)  # (B,3,H,W), already "normalised"
    vm = model.vision_model
    with torch.no_grad():
        embeddings = vm.embeddings(pixels)  # (B,T,D)
        hidden = vm.pre_layrnorm(embeddings)
        out.add(f"{prefix}.pixel_values", pixels)
        out.add(f"{prefix}.embeddings", embeddings)
        out.add(f"{prefix}.pre_layernorm", hidden)
        for i, layer in enumerate(vm.encoder.layers):
            hidden = layer(hidden, None)
            if isinstance(hidden, tuple):
                hidden = hidden[0]
            out.add(f"{prefix}.layer{i}", hidden)
        pooled = vm.post_layernorm(hidden[:, 0, :])  # (B,D)
        out.add(f"{prefix}.pooled", pooled)
        projected = model.visual_projection(pooled)  # (B,E)
        out.add(f"{prefix}.projected", projected)
        out.add(f"{prefix}.image_embeds", projected / projected.norm(dim=-1, keepdim=True))
        # Cross-check against the public entry point.
        reference = model.get_image_features(pixel_values=pixels)
        reference = getattr(reference, "pooler_output", reference)
        assert torch.allclose(reference, projected, atol=1e-5), "vision forward disagrees with get_image_features"


def text_goldens(model: CLIPModel, prefix: str, out: GoldenWriter, cases: list):
    """`cases`: list of token-id lists; each is run alone (batch 1, no padding mask: the mask is causal)."""
    out.add_json(f"{prefix}.cases", [{"ids": ids} for ids in cases])
    with torch.no_grad():
        for n, ids in enumerate(cases):
            input_ids = torch.tensor([ids], dtype=torch.long)
            outputs = model.text_model(input_ids=input_ids, output_hidden_states=True)
            out.add(f"{prefix}.case{n}.last_hidden_state", outputs.last_hidden_state[0])  # (T,D) after final LN
            out.add(f"{prefix}.case{n}.pooled", outputs.pooler_output[0])  # (D,)
            projected = model.text_projection(outputs.pooler_output)[0]  # (E,)
            out.add(f"{prefix}.case{n}.text_embeds", projected / projected.norm())


def main():
    torch.set_grad_enabled(False)
    out = GoldenWriter(GOLDEN)

    # Model 1: real vocabulary, quick_gelu, legacy eos_token_id 2, F16 token embedding.
    main_dir = FIXTURES / "tiny-clip"
    if main_dir.exists():
        shutil.rmtree(main_dir)
    vocab, merges = write_clip_vocabulary(main_dir)
    tokenizer = CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=77)
    assert tokenizer("a photo of a cat")["input_ids"] == [49406, 320, 1125, 539, 320, 2368, 49407]
    config = tiny_config("quick_gelu", vocab_size=49408, bos_token_id=49406, eos_token_id=2)
    dtypes = {"text_model.embeddings.token_embedding.weight": torch.float16}
    model = build_model(config, seed=1234, dtypes=dtypes)
    save_checkpoint(model, main_dir, dtypes)
    tokenizer.save_pretrained(main_dir)
    processor = CLIPImageProcessor(
        size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}, do_center_crop=True,
        do_resize=True, resample=3, do_normalize=True, do_rescale=True, do_convert_rgb=True,
        image_mean=[0.48145466, 0.4578275, 0.40821073], image_std=[0.26862954, 0.26130258, 0.27577711],
    )
    processor.save_pretrained(main_dir)
    vocab_bytes = (main_dir / "vocab.json").read_bytes()
    for extra in ["tokenizer.json", "chat_template.jinja"]:
        # Keep the fixture to the files an HF CLIP checkpoint on the Hub has (vocab.json + merges.txt).
        if (main_dir / extra).exists():
            (main_dir / extra).unlink()
    write_clip_vocabulary(main_dir)  # save_pretrained may rewrite them; keep openai's exact table
    assert (main_dir / "vocab.json").read_bytes() == vocab_bytes

    texts = ["a photo of a cat", "a diagram", "A person crossing the plaza at night!"]
    encoded = [tokenizer(t)["input_ids"] for t in texts]
    out.add_json("tiny-clip.text.strings", [{"text": t, "ids": ids} for t, ids in zip(texts, encoded)])
    cases = encoded + [
        [49406, 320, 1125, 539, 320, 2368, 49407] + [0] * 70,  # openai-style zero padding to 77
        [49406, 49407],  # empty prompt
    ]
    vision_goldens(model, "tiny-clip.vision", out, seed=7)
    text_goldens(model, "tiny-clip.text", out, cases)
    out.add_json("tiny-clip.logit_scale", float(model.logit_scale.exp()))

    # Model 2: exact gelu, small vocabulary, newer eos semantics (first EOS), every tensor BF16.
    gelu_dir = FIXTURES / "tiny-clip-gelu"
    if gelu_dir.exists():
        shutil.rmtree(gelu_dir)
    config = tiny_config("gelu", vocab_size=1000, bos_token_id=499, eos_token_id=500)
    names = [n for n, _ in CLIPModel(config).named_parameters()]
    dtypes = {n: torch.bfloat16 for n in names}
    model = build_model(config, seed=99, dtypes=dtypes)
    save_checkpoint(model, gelu_dir, dtypes)
    cases = [
        [499, 5, 17, 400, 500],
        [499, 500, 500, 500],  # EOS repeated as padding: pool at the first one
        [499, 3, 500, 997, 996, 0, 0],  # ids after EOS larger than EOS would fool argmax pooling
    ]
    vision_goldens(model, "tiny-clip-gelu.vision", out, seed=8)
    text_goldens(model, "tiny-clip-gelu.text", out, cases)
    out.add_json("tiny-clip-gelu.logit_scale", float(model.logit_scale.exp()))

    out.finish()
    total = sum(f.stat().st_size for d in [main_dir, gelu_dir, GOLDEN] for f in d.iterdir())
    print(f"wrote {main_dir}, {gelu_dir}, {GOLDEN} ({total / 1e6:.1f} MB)", file=sys.stderr)


if __name__ == "__main__":
    main()
