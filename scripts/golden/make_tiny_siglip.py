#!/usr/bin/env python3
"""Builds the tiny random-weight SigLIP and SigLIP 2 checkpoints, their tokenizers and the goldens the Swift tests
compare against.

Run from the repository root with an interpreter that has torch, transformers, sentencepiece, protobuf,
safetensors and numpy:

    $PYTHON scripts/golden/make_tiny_siglip.py

Writes
  Tests/Fixtures/tiny-siglip/     a complete SigLIP checkpoint directory in the layout of google/siglip-base-*:
                                  config.json (model_type siglip), model.safetensors, spiece.model (a unigram
                                  SentencePiece model trained here on a small corpus, <pad>=0 </s>=1 <unk>=2 like
                                  the real one), tokenizer_config.json (SiglipTokenizer), preprocessor_config.json
                                  (direct resize to 32×32, bicubic, mean/std 0.5).
  Tests/Fixtures/tiny-siglip2/    the fixed-resolution SigLIP 2 layout (google/siglip2-base-patch*-*): the same
                                  SiglipModel, a Gemma-style tokenizer.model (BPE with byte fallback, no dummy
                                  prefix, <pad>=0 <eos>=1 <bos>=2 <unk>=3) plus the tokenizer.json transformers
                                  writes from it, tokenizer_config.json (GemmaTokenizer, add_bos_token false,
                                  add_eos_token true, as the SigLIP 2 releases); a text tower of another width and
                                  every tensor BF16.
  Tests/Fixtures/tiny-siglip-golden/
                                  every activation of both towers, embeddings, logit_scale/logit_bias, logits and
                                  probabilities (raw little-endian float32 .bin + manifest.json), and the
                                  transformers tokenizer's ids for a mixed corpus of several hundred strings.

Weights are random but seeded and rounded to their storage dtype before the goldens are computed.
"""

import json
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import sentencepiece as spm
import torch
from safetensors.torch import save_file
from transformers import AutoTokenizer, SiglipConfig, SiglipImageProcessor, SiglipModel

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_tiny_clip import GoldenWriter  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "Tests" / "Fixtures"
GOLDEN = FIXTURES / "tiny-siglip-golden"

# MARK: - Corpora

OBJECTS = """person car dog cat bicycle truck bus chair table door window tree road sky building forklift pallet box
robot arm gripper cup bottle phone laptop screen kitchen office warehouse street crosswalk plaza bird horse boat
train traffic light sign helmet vest ladder shelf conveyor belt package drone camera child woman man crowd""".split()
ADJECTIVES = """red green blue yellow black white small large empty crowded dark bright wet snowy old new open closed
moving parked broken shiny wooden metal plastic blurry""".split()
VERBS = """walking running crossing sitting standing holding carrying lifting driving parked falling picking dropping
opening closing waving""".split()
TEMPLATES = [
    "a photo of a {}.", "a blurry photo of the {}.", "a close-up photo of a {}.", "there is a {} in the scene",
    "a {} {} {} near the {}", "This is a photo of {}", "an image showing {} and {}", "{} {} at night",
    "the {} is {} next to the {}", "A {} {} the {}!",
]
MIXED = [
    "", " ", "   leading and trailing   ", "tabs\tand\nnewlines\r\nmixed", "UPPER CASE WORDS", "MiXeD CaSe",
    "punctuation!!! ??? ... ,,, ;;; ::", "it's a dog's life -- isn't it?", "(parentheses) [brackets] {braces}",
    "email@example.com http://example.com/path?q=1&b=2", "numbers 0 1 2 3 42 1234567890 3.14159 -7 1e10",
    "2024-05-17 12:34:56", "$100 €50 £20 ¥1000 50% #hashtag @mention", "café naïve résumé façade über",
    "Straße Größe Fußgänger", "日本語のテキスト", "中文字符测试", "한국어 텍스트", "Ελληνικά κείμενο",
    "русский текст", "emoji 🐶🐱🚗 and 👍🏽", "a\u00a0non-breaking space", "full-width ＡＢＣ １２３",
    "ligature ﬁ and ﬂ", "combining e\u0301 vs é", "zero\u200bwidth", "▁underline▁marker", "a__b--c~~d",
    "x" * 300, "word " * 80, "a photo of a cat", "a photo of a dog", "A person crossing the plaza at night!",
    "<unk> literal", "the quick brown fox jumps over the lazy dog", "THE QUICK BROWN FOX",
    "     ", "\t", "!", "?", "a", "I", "ok.", "...", "'quoted'", '"double quoted"', "back\\slash",
    "a </s> b", "</s>", " </s>  dog ", "x<unk>y", "<eos> hi", "<bos>a<pad>", "ΟΔΟΣ ΚΑΛΟΣ", "İstanbul",
    "ǅ titlecase", "a\u2028b\u0085c", "\x1cfs",
]


def sentences(seed: int, count: int) -> list:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        template = rng.choice(TEMPLATES)
        words = [
            rng.choice([rng.choice(OBJECTS), rng.choice(ADJECTIVES), rng.choice(VERBS)])
            for _ in range(template.count("{}"))
        ]
        text = template.format(*words)
        if rng.random() < 0.2:
            text = text.upper()
        if rng.random() < 0.1:
            text += f" {rng.randint(0, 9999)}"
        out.append(text)
    return out


def train_sentencepiece(destination: Path, corpus: list, **options):
    """Trains with the PyPI sentencepiece package and writes the serialized model to `destination`. Trains in a
    temporary directory with relative names, since the model records its training input and prefix."""
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as scratch:
        os.chdir(scratch)
        try:
            Path("corpus.txt").write_text("\n".join(corpus) + "\n")
            spm.SentencePieceTrainer.train(
                input="corpus.txt", model_prefix="model", input_sentence_size=0, shuffle_input_sentence=False,
                num_threads=1, minloglevel=2, **options)
            shutil.copyfile("model.model", destination)
        finally:
            os.chdir(cwd)


# The stand-in for Gemma's tokenizer.model (SigLIP 2): BPE with byte fallback, no dummy prefix, no normalization.
GEMMA_STYLE = dict(
    model_type="bpe", vocab_size=700, pad_id=0, eos_id=1, bos_id=2, unk_id=3, pad_piece="<pad>", eos_piece="<eos>",
    bos_piece="<bos>", unk_piece="<unk>", byte_fallback=True, add_dummy_prefix=False,
    normalization_rule_name="identity", remove_extra_whitespaces=False, split_digits=True,
    allow_whitespace_only_pieces=True, character_coverage=1.0,
)


def training_corpus() -> list:
    return sentences(1, 3000) + MIXED[:28] + OBJECTS + ADJECTIVES + VERBS


def test_corpus() -> list:
    """Several hundred mixed strings: captions, prompts, punctuation, case, digits, scripts, emoji, long texts."""
    return MIXED + sentences(2, 400) + [f"{a} {o}" for a, o in zip(ADJECTIVES, OBJECTS)]


# MARK: - Models


def tiny_config(text_hidden: int, vocab_size: int) -> SiglipConfig:
    return SiglipConfig(
        text_config=dict(
            vocab_size=vocab_size, hidden_size=text_hidden, intermediate_size=96, num_hidden_layers=2,
            num_attention_heads=4, max_position_embeddings=64, hidden_act="gelu_pytorch_tanh", layer_norm_eps=1e-6,
            projection_size=64, pad_token_id=1,
        ),
        vision_config=dict(
            image_size=32, patch_size=8, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
            num_attention_heads=4, hidden_act="gelu_pytorch_tanh", layer_norm_eps=1e-6,
        ),
    )


def build_model(config: SiglipConfig, seed: int, dtype) -> SiglipModel:
    """Seeded random weights larger than HF's init so every layer matters, each rounded to `dtype`."""
    torch.manual_seed(seed)
    model = SiglipModel(config).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name == "logit_scale":
                p.fill_(float(np.log(10.0)))
            elif name == "logit_bias":
                p.fill_(-2.5)
            elif "layer_norm" in name or "layernorm" in name:
                base = 1.0 if name.endswith("weight") else 0.0
                p.copy_(base + 0.1 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.05 * torch.randn_like(p))
            else:
                fan_in = p[0].numel() if p.dim() > 1 else p.numel()
                std = 0.5 if ("embedding" in name or "probe" in name) else fan_in**-0.5
                p.copy_(std * torch.randn_like(p))
            p.copy_(p.to(dtype).to(torch.float32))
    return model


def save_checkpoint(model: SiglipModel, directory: Path, dtype):
    model.config.save_pretrained(directory)
    tensors = {
        name: p.detach().to(dtype).contiguous()
        for name, p in model.state_dict().items()
        if not name.endswith("position_ids")
    }
    save_file(tensors, directory / "model.safetensors", metadata={"format": "pt"})


def save_processor(directory: Path):
    SiglipImageProcessor(
        do_resize=True, size={"height": 32, "width": 32}, resample=3, do_rescale=True, rescale_factor=1 / 255,
        do_normalize=True, image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5],
    ).save_pretrained(directory)


# MARK: - Goldens


def vision_goldens(model: SiglipModel, prefix: str, out: GoldenWriter, seed: int):
    g = torch.Generator().manual_seed(seed)
    side = model.config.vision_config.image_size
    pixels = torch.randn(2, 3, side, side, generator=g)
    vm = model.vision_model
    head = vm.head
    hidden = vm.embeddings(pixels)  # (B,N,D) patches + positions, no class token
    out.add(f"{prefix}.pixel_values", pixels)
    out.add(f"{prefix}.embeddings", hidden)
    for i, layer in enumerate(vm.encoder.layers):
        hidden = layer(hidden, None)
        hidden = hidden[0] if isinstance(hidden, tuple) else hidden
        out.add(f"{prefix}.layer{i}", hidden)
    hidden = vm.post_layernorm(hidden)
    out.add(f"{prefix}.post_layernorm", hidden)
    probe = head.probe.repeat(hidden.shape[0], 1, 1)
    attended = head.attention(probe, hidden, hidden)[0]  # (B,1,D)
    out.add(f"{prefix}.head_attention", attended[:, 0])
    pooled = (attended + head.mlp(head.layernorm(attended)))[:, 0]  # (B,D)
    out.add(f"{prefix}.pooled", pooled)
    out.add(f"{prefix}.image_embeds", pooled / pooled.norm(dim=-1, keepdim=True))
    reference = model.get_image_features(pixel_values=pixels)
    reference = getattr(reference, "pooler_output", reference)
    assert torch.allclose(reference, pooled, atol=1e-5), "vision forward disagrees with get_image_features"
    return pixels


def text_goldens(model: SiglipModel, prefix: str, out: GoldenWriter, cases: list):
    out.add_json(f"{prefix}.cases", [{"ids": ids} for ids in cases])
    tm = model.text_model
    for n, ids in enumerate(cases):
        input_ids = torch.tensor([ids], dtype=torch.long)
        outputs = tm(input_ids=input_ids)
        out.add(f"{prefix}.case{n}.last_hidden_state", outputs.last_hidden_state[0])  # (64,D) after final LN
        out.add(f"{prefix}.case{n}.pooled", outputs.last_hidden_state[0, -1])  # (D,) last position
        out.add(f"{prefix}.case{n}.head", outputs.pooler_output[0])  # (E,) head(pooled)
        out.add(f"{prefix}.case{n}.text_embeds", outputs.pooler_output[0] / outputs.pooler_output[0].norm())


def model_goldens(model, tokenizer, name: str, out: GoldenWriter, seed: int, texts: list):
    pixels = vision_goldens(model, f"{name}.vision", out, seed)
    batch = tokenizer(texts, padding="max_length", max_length=64, truncation=True, return_tensors="pt")
    cases = batch["input_ids"].tolist()
    text_goldens(model, f"{name}.text", out, cases)
    outputs = model(input_ids=batch["input_ids"], pixel_values=pixels)
    out.add(f"{name}.logits_per_text", outputs.logits_per_text)  # (T, I)
    out.add(f"{name}.probabilities", torch.sigmoid(outputs.logits_per_text))  # (T, I)
    out.add_json(f"{name}.logit_scale", float(model.logit_scale.exp()))
    out.add_json(f"{name}.logit_bias", float(model.logit_bias))
    out.add_json(f"{name}.texts", texts)


def preprocess_goldens(directory: Path, name: str, out: GoldenWriter):
    """transformers' SiglipImageProcessor (PIL backend) on the preprocessing test images: a direct bicubic resize
    to size×size, no crop, mean/std 0.5."""
    from PIL import Image
    from transformers import AutoImageProcessor

    processor = AutoImageProcessor.from_pretrained(directory)
    images = []
    for file in ["graf.png", "messi.jpg"]:
        image = Image.open(FIXTURES / "images" / file).convert("RGB")
        stem = Path(file).stem
        assert (FIXTURES / "images" / f"{stem}.rgb").read_bytes() == image.tobytes()
        out.add(f"{name}.preprocess.{stem}", processor(images=image, return_tensors="np")["pixel_values"][0])
        images.append({"stem": stem, "width": image.width, "height": image.height})
    out.add_json(f"{name}.preprocess.images", images)


def tokenizer_goldens(tokenizer, name: str, out: GoldenWriter):
    corpus = test_corpus()
    ids = tokenizer(corpus, padding="max_length", max_length=64, truncation=True)["input_ids"]
    out.add_json(f"{name}.tokenizer", [{"text": t, "ids": i} for t, i in zip(corpus, ids)])


def main():
    torch.set_grad_enabled(False)
    out = GoldenWriter(GOLDEN)
    texts = ["a photo of a cat", "A photo of 2 DOGS!", "", "a person crossing the plaza at night"]

    # SigLIP: unigram spiece.model, SiglipTokenizer (lower-case, punctuation removed, </s> appended, padded).
    siglip_dir = FIXTURES / "tiny-siglip"
    shutil.rmtree(siglip_dir, ignore_errors=True)
    siglip_dir.mkdir(parents=True)
    train_sentencepiece(
        siglip_dir / "spiece.model", [t.lower() for t in training_corpus()], model_type="unigram", vocab_size=400,
        pad_id=0, eos_id=1, unk_id=2, bos_id=-1, pad_piece="<pad>", eos_piece="</s>", unk_piece="<unk>",
        normalization_rule_name="nmt_nfkc", add_dummy_prefix=False, character_coverage=0.9995,
    )
    (siglip_dir / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "SiglipTokenizer", "model_max_length": 64, "do_lower_case": True,
        "eos_token": "</s>", "pad_token": "</s>", "unk_token": "<unk>",
    }, indent=2) + "\n")
    tokenizer = AutoTokenizer.from_pretrained(siglip_dir)
    assert type(tokenizer).__name__ == "SiglipTokenizer", type(tokenizer)
    sp = spm.SentencePieceProcessor(model_file=str(siglip_dir / "spiece.model"))
    model = build_model(tiny_config(text_hidden=32, vocab_size=sp.get_piece_size()), seed=4321, dtype=torch.float32)
    save_checkpoint(model, siglip_dir, torch.float32)
    save_processor(siglip_dir)
    model_goldens(model, tokenizer, "tiny-siglip", out, seed=11, texts=texts)
    preprocess_goldens(siglip_dir, "tiny-siglip", out)
    tokenizer_goldens(tokenizer, "tiny-siglip", out)

    # SigLIP 2: Gemma-style BPE tokenizer.model with byte fallback; BF16 weights, a text tower of width 48.
    siglip2_dir = FIXTURES / "tiny-siglip2"
    shutil.rmtree(siglip2_dir, ignore_errors=True)
    siglip2_dir.mkdir(parents=True)
    train_sentencepiece(siglip2_dir / "tokenizer.model", training_corpus(), **GEMMA_STYLE)
    tokenizer_config = json.dumps({
        "tokenizer_class": "GemmaTokenizer", "model_max_length": 64, "add_bos_token": False,
        "add_eos_token": True, "padding_side": "right", "bos_token": "<bos>", "eos_token": "<eos>",
        "pad_token": "<pad>", "unk_token": "<unk>",
    }, indent=2) + "\n"
    (siglip2_dir / "tokenizer_config.json").write_text(tokenizer_config)
    tokenizer = AutoTokenizer.from_pretrained(siglip2_dir)
    before = tokenizer(test_corpus(), padding="max_length", max_length=64, truncation=True)["input_ids"]
    tokenizer.save_pretrained(siglip2_dir)  # adds tokenizer.json, as the Hub repositories have it
    # Keep the flags in tokenizer_config.json as the Hub files state them (save_pretrained moves them into
    # tokenizer.json's post-processor and records a local vocab_file path).
    (siglip2_dir / "tokenizer_config.json").write_text(tokenizer_config)
    tokenizer = AutoTokenizer.from_pretrained(siglip2_dir)
    after = tokenizer(test_corpus(), padding="max_length", max_length=64, truncation=True)["input_ids"]
    assert before == after, "tokenizer.json and tokenizer.model disagree"
    sp = spm.SentencePieceProcessor(model_file=str(siglip2_dir / "tokenizer.model"))
    config = tiny_config(text_hidden=48, vocab_size=sp.get_piece_size())
    model = build_model(config, seed=8765, dtype=torch.bfloat16)
    save_checkpoint(model, siglip2_dir, torch.bfloat16)
    for f in [siglip_dir / "model.safetensors", siglip2_dir / "model.safetensors"]:
        f.chmod(0o644)
    save_processor(siglip2_dir)
    for extra in ["chat_template.jinja"]:
        (siglip2_dir / extra).unlink(missing_ok=True)
    model_goldens(model, tokenizer, "tiny-siglip2", out, seed=12, texts=texts)
    tokenizer_goldens(tokenizer, "tiny-siglip2", out)
    # padding_side: absent → right (as transformers 5 loads these files), "left" → left.
    config = json.loads(tokenizer_config)
    del config["padding_side"]
    with tempfile.TemporaryDirectory() as scratch:
        for name in ["tokenizer.model", "tokenizer.json"]:
            shutil.copyfile(siglip2_dir / name, Path(scratch) / name)
        (Path(scratch) / "tokenizer_config.json").write_text(json.dumps(config))
        assert AutoTokenizer.from_pretrained(scratch).padding_side == "right"
    config["padding_side"] = "left"
    with tempfile.TemporaryDirectory() as scratch:
        for name in ["tokenizer.model", "tokenizer.json"]:
            shutil.copyfile(siglip2_dir / name, Path(scratch) / name)
        (Path(scratch) / "tokenizer_config.json").write_text(json.dumps(config))
        left = AutoTokenizer.from_pretrained(scratch)
        assert left.padding_side == "left"
        corpus = test_corpus()[:60]
        ids = left(corpus, padding="max_length", max_length=64, truncation=True)["input_ids"]
        out.add_json("tiny-siglip2.tokenizer_left", [{"text": t, "ids": i} for t, i in zip(corpus, ids)])
    out.add_json("tiny-siglip2.tokenizer_class", type(tokenizer).__name__)

    out.finish()
    total = sum(f.stat().st_size for d in [siglip_dir, siglip2_dir, GOLDEN] for f in d.iterdir())
    print(f"wrote {siglip_dir}, {siglip2_dir}, {GOLDEN} ({total / 1e6:.2f} MB)", file=sys.stderr)


if __name__ == "__main__":
    main()
