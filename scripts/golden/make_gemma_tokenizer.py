"""A Gemma-style SentencePiece tokenizer with the piece types of the real one, and transformers' ids for it.

Gemma's tokenizer.model (SigLIP 2's tokenizer) has, beside `<pad>`, `<eos>`, `<bos>` and `<unk>`, control pieces
(`<mask>`, `[@BOS@]`, `<unused…>`, `<start_of_turn>`, `<end_of_turn>`) and user-defined ones (runs of newlines and
tabs, HTML tags, `<start_of_image>`). transformers 5 makes every one of them an added token and splits text on them
before the model segments it; SentencePiece alone never matches a control piece in text. The tiny SigLIP 2 fixture
has none of them, so this stand-in, trained by the PyPI sentencepiece package on the same corpus, has a few of each.

    python3 scripts/golden/make_gemma_tokenizer.py   # writes Tests/Fixtures/gemma-tokenizer/

tokenizer_config.json leaves add_bos_token / add_eos_token out, so Gemma's defaults apply (<bos> first, no <eos>).
goldens.json holds transformers' ids (padding="max_length", max_length=64, truncation=True) for the mixed corpus
of the tiny SigLIP fixtures and for prompts crowded with the added tokens.
"""

import json
import random
import shutil
import sys
from pathlib import Path

from transformers import AutoTokenizer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_tiny_siglip import GEMMA_STYLE, test_corpus, train_sentencepiece, training_corpus  # noqa: E402

FIXTURE = Path(__file__).resolve().parents[2] / "Tests" / "Fixtures" / "gemma-tokenizer"
CONTROL = ["<mask>", "[@BOS@]", "<unused0>", "<unused1>", "<start_of_turn>", "<end_of_turn>"]
USER_DEFINED = ["\n", "\n\n", "\t\t", "<table>", "<h1>", "</h1>", "<start_of_image>"]


def prompts(specials: list) -> list:
    """Text, whitespace, punctuation and combining marks among the added tokens, and specials inside specials."""
    rng = random.Random(7)
    words = ["a", "photo", "of", "the", "Dog", "crossing!", "naïve", "東京", "\u0301", " ", "  ", "<", ">", "unused"]
    out = []
    for n in [2, 6, 20, 60, 300]:
        for _ in range(8):
            parts = [rng.choice(specials) if rng.random() < 0.35 else rng.choice(words) for _ in range(n)]
            out.append(rng.choice(["", " ", "\n"]).join(parts))
    out += [
        "<start_of_turn>user\na photo of a dog<end_of_turn>\n",
        "<mask>\u0301 cat",  # a combining mark after a special token (code points, not grapheme clusters)
        "<unused0><unused1><unused10>",
        "<h1>title</h1>\n\n\n<table>",
        "<start_of_image>" * 80,
    ]
    return out


def main():
    shutil.rmtree(FIXTURE, ignore_errors=True)
    FIXTURE.mkdir(parents=True)
    train_sentencepiece(
        FIXTURE / "tokenizer.model", training_corpus(), **GEMMA_STYLE, control_symbols=CONTROL,
        user_defined_symbols=USER_DEFINED,
    )
    config = json.dumps({
        "tokenizer_class": "GemmaTokenizer", "model_max_length": 64, "bos_token": "<bos>", "eos_token": "<eos>",
        "pad_token": "<pad>", "unk_token": "<unk>",
    }, indent=2) + "\n"
    (FIXTURE / "tokenizer_config.json").write_text(config)
    tokenizer = AutoTokenizer.from_pretrained(FIXTURE)
    specials = sorted(t.content for t in tokenizer.added_tokens_decoder.values())
    assert set(CONTROL + USER_DEFINED) <= set(specials), specials
    texts = test_corpus() + prompts(specials)
    ids = tokenizer(texts, padding="max_length", max_length=64, truncation=True)["input_ids"]
    tokenizer.save_pretrained(FIXTURE)  # tokenizer.json, as the Hub repositories have it
    (FIXTURE / "tokenizer_config.json").write_text(config)  # the flags as the Hub files state them
    for extra in ["chat_template.jinja", "special_tokens_map.json"]:
        (FIXTURE / extra).unlink(missing_ok=True)
    reloaded = AutoTokenizer.from_pretrained(FIXTURE)
    assert reloaded(texts, padding="max_length", max_length=64, truncation=True)["input_ids"] == ids
    goldens = {
        "tokenizer_class": type(tokenizer).__name__,
        "added_tokens": {str(i): t.content for i, t in sorted(tokenizer.added_tokens_decoder.items())},
        "cases": [{"text": t, "ids": i} for t, i in zip(texts, ids)],
    }
    (FIXTURE / "goldens.json").write_text(json.dumps(goldens, ensure_ascii=False) + "\n")
    total = sum(f.stat().st_size for f in FIXTURE.iterdir())
    print(f"wrote {FIXTURE} ({len(texts)} cases, {total / 1e3:.0f} KB)", file=sys.stderr)


if __name__ == "__main__":
    main()
