#!/usr/bin/env python3
"""Builds the tiny random-weight GIT checkpoints, goldens and tokenizer goldens the Swift GIT tests compare against.

Run from the repository root with an interpreter that has torch, transformers, safetensors and numpy:

    $PYTHON scripts/golden/make_tiny_git.py --vocab PATH/TO/bert-base-uncased/vocab.txt

`--vocab` is bert-base-uncased's 30522-line vocab.txt (the PyPI packages of MiniLM sentence models ship it, as
vocab.txt or inside tokenizer.json); it defaults to the copy already committed in Tests/Fixtures/tiny-git.

Writes
  Tests/Fixtures/tiny-git/         image captioning: 224 px ViT (patch 32, width 16, 2 layers), a 2-layer width-16
                                   decoder over the real 30522-token vocabulary (word embeddings and output layer F16,
                                   the rest F32), model.safetensors and pytorch_model.bin (torch.save of the same
                                   state dict), config.json, preprocessor_config.json, generation_config.json,
                                   vocab.txt, tokenizer_config.json, special_tokens_map.json.
  Tests/Fixtures/tiny-git-vqa/     the same at 480 px (patch 96: a 5×5 grid), patch embedding BF16.
  Tests/Fixtures/tiny-git-video/   224 px, num_image_with_embedding 3 (three frames, each with its temporal embedding).
  Tests/Fixtures/tiny-git-golden/  inputs, activations and generate() ids as raw little-endian float32 (.bin) plus
                                   manifest.json (shapes and JSON values).
  Tests/Fixtures/tiny-git-golden/tokenizer.json  BertTokenizerFast ids and decode() strings for a mixed corpus.

Pixel inputs are a small seeded (frames, 3, 7, 7) grid blown up by repeating each value over a block of pixels
(`pixel_values[c, y, x] = grid[c, min(y // block, 6), min(x // block, 6)]`), so the goldens stay small and the Swift side rebuilds
exactly the same floats.
"""

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file
from transformers import BertTokenizerFast, CLIPImageProcessor, GenerationConfig, GitConfig, GitForCausalLM

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "Tests" / "Fixtures"
GOLDEN = FIXTURES / "tiny-git-golden"
GRID = 7


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


def tiny_config(image_size: int, patch_size: int, frames):
    return GitConfig(
        vision_config=dict(
            hidden_size=16, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, image_size=image_size,
            patch_size=patch_size, hidden_act="quick_gelu", layer_norm_eps=1e-5,
        ),
        vocab_size=30522, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        hidden_act="gelu", max_position_embeddings=40, layer_norm_eps=1e-12, pad_token_id=0, bos_token_id=101,
        eos_token_id=102, tie_word_embeddings=False, num_image_with_embedding=frames,
    )


def build_model(config, seed: int, dtypes: dict):
    """Seeded weights larger than HF's init (so every layer matters), each rounded to its storage dtype."""
    torch.manual_seed(seed)
    model = GitForCausalLM(config).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm" in name or "layer_norm" in name or "layrnorm" in name or "layernorm" in name or (
                "visual_projection.1" in name
            ):
                base = 1.0 if name.endswith("weight") else 0.0
                p.copy_(base + 0.1 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.05 * torch.randn_like(p))
            elif "temporal" in name:
                p.copy_(0.5 * torch.randn_like(p))
            else:
                fan_in = p[0].numel() if p.dim() > 1 else p.numel()
                std = 0.5 if "embedding" in name else fan_in**-0.5
                p.copy_(std * torch.randn_like(p))
            if name == "output.bias":
                # make [SEP] a likely continuation so that generation ends early on some inputs
                p[102] = 2.5
            p.copy_(p.to(dtypes.get(name, torch.float32)).to(torch.float32))
    return model


def save_checkpoint(model, directory: Path, dtypes: dict, image_size: int, vocab: Path):
    directory.mkdir(parents=True, exist_ok=True)
    model.config.save_pretrained(directory)
    state = model.state_dict()  # an OrderedDict carrying `_metadata`, as save_pretrained pickles it
    for key in list(state.keys()):
        state[key] = state[key].detach().to(dtypes.get(key, torch.float32)).contiguous()
    save_file(dict(state), directory / "model.safetensors", metadata={"format": "pt"})
    torch.save(state, directory / "pytorch_model.bin")  # what save_pretrained(safe_serialization=False) writes
    GenerationConfig(bos_token_id=101, eos_token_id=102, pad_token_id=0, max_length=20).save_pretrained(directory)
    CLIPImageProcessor(
        size={"shortest_edge": image_size}, crop_size={"height": image_size, "width": image_size},
        do_center_crop=True, do_resize=True, resample=3, do_normalize=True, do_rescale=True, do_convert_rgb=True,
        image_mean=[0.48145466, 0.4578275, 0.40821073], image_std=[0.26862954, 0.26130258, 0.27577711],
    ).save_pretrained(directory)
    shutil.copy(vocab, directory / "vocab.txt")
    tokenizer = BertTokenizerFast(vocab=str(directory / "vocab.txt"), do_lower_case=True, model_max_length=512)
    tokenizer.save_pretrained(directory)
    for extra in ["tokenizer.json", "chat_template.jinja"]:
        if (directory / extra).exists():
            (directory / extra).unlink()  # keep vocab.txt as the one tokenizer source
    return tokenizer


def pixels(frames: int, batch: int, image_size: int, seed: int):
    """(batch, frames, 3, S, S) from a (batch, frames, 3, 7, 7) seeded grid, each value repeated over a block."""
    g = torch.Generator().manual_seed(seed)
    grid = torch.randn(batch, frames, 3, GRID, GRID, generator=g)
    block = image_size // GRID
    index = torch.clamp(torch.arange(image_size) // block, max=GRID - 1)
    full = grid[:, :, :, index][:, :, :, :, index]
    return grid, full


def activations(model, prefix: str, out: GoldenWriter, pixel_values, input_ids):
    """Every stage for one forward pass without cache (pixel_values (B,F,3,S,S), input_ids (B,T))."""
    git = model.git
    b, f = pixel_values.shape[:2]
    features = []
    for frame in range(f):
        v = git.image_encoder(pixel_values[:, frame]).last_hidden_state  # (B,N,Dv) after post_layernorm
        out.add(f"{prefix}.vision.frame{frame}", v)
        if f > 1 or git.config.num_image_with_embedding is not None:
            v = v + git.img_temporal_embedding[frame]
        features.append(v)
    features = torch.cat(features, dim=1)
    projected = git.visual_projection(features)  # (B, F·N, D)
    out.add(f"{prefix}.projected", projected)
    text = git.embeddings(input_ids=input_ids)  # (B,T,D)
    out.add(f"{prefix}.text_embeddings", text)
    outputs = model(
        input_ids=input_ids, pixel_values=pixel_values if f > 1 else pixel_values[:, 0], use_cache=False,
        output_hidden_states=True,
    )
    hidden = outputs.hidden_states  # embeddings, then one per layer
    for i in range(1, len(hidden)):
        out.add(f"{prefix}.layer{i - 1}", hidden[i])
    logits = outputs.logits[:, -1, :]  # the last position only (what generation uses; keeps the golden small)
    out.add(f"{prefix}.logits", logits)
    assert torch.allclose(hidden[0], torch.cat([projected, text], dim=1), atol=1e-5)


def manual_greedy(model, pv, ids, steps):
    """Greedy decoding by full recomputation (no cache): checks generate()'s positions and mask semantics."""
    ids = ids.clone()
    for _ in range(steps):
        logits = model(input_ids=ids, pixel_values=pv, use_cache=False).logits[:, -1]
        ids = torch.cat([ids, logits.argmax(-1, keepdim=True)], dim=1)
    return ids


def generations(model, prefix: str, out: GoldenWriter, pv, prompt, cases):
    results = []
    for case in cases:
        kwargs = dict(pixel_values=pv, max_new_tokens=case["max_new_tokens"], num_beams=case["num_beams"])
        for key in ["length_penalty", "early_stopping"]:
            if key in case:
                kwargs[key] = case[key]
        if prompt is not None:
            kwargs["input_ids"] = prompt
        ids = model.generate(**kwargs)
        results.append(dict(case, sequences=ids.tolist()))
        if case["num_beams"] == 1:
            start = prompt if prompt is not None else torch.full((pv.shape[0], 1), 101)
            manual = manual_greedy(model, pv, start, ids.shape[1] - start.shape[1])
            for row, seq in enumerate(ids.tolist()):
                ref = manual[row].tolist()[: len(seq)]
                end = seq.index(102) + 1 if 102 in seq[start.shape[1]:] else len(seq)
                assert seq[:end] == ref[:end], f"{prefix}: generate() disagrees with the uncached loop"
    out.add_json(f"{prefix}.generate", results)


CORPUS = [
    "", " ", "\t\n", "a photo of a cat", "Hello, World!", "HELLO world", "what does the front of the bus say?",
    "Café déjà vu — naïve façade, résumé", "Ünïcödé Ångström Øre", "İstanbul ß straße", "ﬁ ligature ﬀ",
    "東京タワーは赤い", "我爱北京天安门 and 上海", "한국어 텍스트입니다", "Ελληνικά κείμενα", "Русский текст, ёлка",
    "مرحبا بالعالم", "שלום עולם", "हिन्दी पाठ", "ไทยภาษา", "emoji 😀🎉 rocket🚀", "tabs\tand\nnewlines\r\nhere",
    "control\x00chars\x07\x1bhere\ufeff", "zero\u200bwidth\u200djoiner", "non\u00a0breaking space",
    "punctuation!!!???...,,,;;;:::", "(brackets) [square] {curly} <angle>", "a-b_c/d\\e|f~g`h^i",
    "$100.00 & 50% off #deal @home", "don't can't won't it's", "\"quoted\" 'single' «guillemets»",
    "unaffable unbelievably antidisestablishmentarianism", "x" * 99, "y" * 100, "z" * 101,
    "supercalifragilisticexpialidocious" * 4, "word " * 200, "1234567890 3.14159 1e10 0x1F",
    "mixed中文english日本語text", "ＦＵＬＬＷＩＤＴＨ　ｔｅｘｔ", "Ⅻ ½ ² ③", "combining e\u0301 a\u0308 n\u0303",
    "[CLS] [SEP] [MASK] [PAD] [UNK]", "the quick brown fox jumps over the lazy dog.",
    "a person riding a bicycle down the street at night", "who is wearing a red hat?", "...", "##ing ##s",
    "\u3000ideographic\u3000space", "soft\u00adhyphen", "e\u0301\u0301\u0301", "ǅ ǈ ǋ", "ﾊﾝｶｸ ｶﾀｶﾅ",
]


def tokenizer_goldens(tokenizer, out: Path):
    cases = []
    for text in CORPUS:
        ids = tokenizer(text)["input_ids"]
        cases.append({"text": text, "ids": ids, "decoded": tokenizer.decode(ids, skip_special_tokens=True)})
    rng = np.random.default_rng(5)
    decode_cases = []
    for n in range(40):
        ids = rng.integers(0, 30522, size=int(rng.integers(0, 24))).tolist()
        if n % 3 == 0:
            ids = [101] + ids + [102]
        decode_cases.append({"ids": ids, "decoded": tokenizer.decode(ids, skip_special_tokens=True)})
    out.write_text(json.dumps({"encode": cases, "decode": decode_cases}, ensure_ascii=False) + "\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--vocab", type=Path, default=FIXTURES / "tiny-git" / "vocab.txt")
    args = parser.parse_args()
    vocab = Path("/tmp/tiny-git-vocab.txt")
    shutil.copy(args.vocab, vocab)
    assert len(vocab.read_text().splitlines()) == 30522, "expected bert-base-uncased's 30522-token vocab.txt"
    torch.set_grad_enabled(False)
    out = GoldenWriter(GOLDEN)
    specs = [
        # name, image size, patch, frames, seed, extra dtypes
        ("tiny-git", 224, 32, None, 11, {}),
        ("tiny-git-vqa", 480, 96, None, 12, {"git.image_encoder.vision_model.embeddings.patch_embedding.weight": torch.bfloat16}),
        ("tiny-git-video", 224, 32, 3, 13, {}),
    ]
    tokenizer = None
    for name, size, patch, frames, seed, extra in specs:
        directory = FIXTURES / name
        if directory.exists():
            shutil.rmtree(directory)
        config = tiny_config(size, patch, frames)
        dtypes = {"git.embeddings.word_embeddings.weight": torch.float16, "output.weight": torch.float16, **extra}
        model = build_model(config, seed, dtypes)
        tokenizer = save_checkpoint(model, directory, dtypes, size, vocab)
        f = frames or 1
        grid, full = pixels(f, 2, size, seed + 100)
        out.add(f"{name}.pixel_grid", grid)
        out.add_json(f"{name}.pixel_block", size // GRID)
        text = "what is in the picture?" if name == "tiny-git-vqa" else "a photo of"
        prompt_ids = [101] + tokenizer(text, add_special_tokens=False)["input_ids"]
        out.add_json(f"{name}.prompt", {"text": text, "ids": prompt_ids})
        input_ids = torch.tensor([prompt_ids, prompt_ids])
        activations(model, name, out, full, input_ids)
        pv = full if frames else full[:, 0]
        cases = [
            {"num_beams": 1, "max_new_tokens": 12},
            {"num_beams": 3, "max_new_tokens": 12},
            {"num_beams": 3, "max_new_tokens": 9, "length_penalty": 0.5, "early_stopping": True},
            {"num_beams": 3, "max_new_tokens": 9, "length_penalty": 2.0, "early_stopping": "never"},
        ]
        generations(model, f"{name}.caption", out, pv, None, cases)
        generations(model, f"{name}.prompted", out, pv, input_ids, cases[:2])
    tokenizer_goldens(tokenizer, GOLDEN / "tokenizer.json")
    out.finish()
    total = sum(f.stat().st_size for d in [GOLDEN] + [FIXTURES / s[0] for s in specs] for f in d.iterdir())
    print(f"wrote {', '.join(s[0] for s in specs)} and {GOLDEN.name} ({total / 1e6:.1f} MB)", file=sys.stderr)


if __name__ == "__main__":
    main()
