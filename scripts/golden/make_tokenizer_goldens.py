#!/usr/bin/env python3
"""Writes CLIP's real BPE vocabulary and the tokenizer goldens the Swift tests compare against.

Outputs (relative to the repository root):
  Tests/Fixtures/tiny-clip/vocab.json, merges.txt  -- the 49,408-token CLIP vocabulary, rebuilt from the
      bpe_simple_vocab_16e6.txt.gz that ships inside the open_clip_torch wheel, in the Hugging Face file format
      (identical to openai/clip-vit-base-patch32's vocab.json / merges.txt).
  Tests/Fixtures/tokenizer_goldens.json  -- a few hundred tricky strings and the ids transformers' default
      CLIPTokenizer (the `tokenizers` backend in transformers 5) gives them, truncated to 77 with the end kept.

Run with the reference environment's interpreter:  $PYTHON scripts/golden/make_tokenizer_goldens.py
"""

import gzip
import json
import os
import random
import sys

import open_clip
from open_clip.tokenizer import SimpleTokenizer, bytes_to_unicode
import transformers
from transformers import CLIPTokenizer

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURE_DIR = os.path.join(ROOT, "Tests", "Fixtures", "tiny-clip")
GOLDENS = os.path.join(ROOT, "Tests", "Fixtures", "tokenizer_goldens.json")
CONTEXT_LENGTH = 77


def write_vocabulary(directory: str) -> None:
    """vocab.json + merges.txt exactly as openai/CLIP's SimpleTokenizer builds its table."""
    bpe_path = os.path.join(os.path.dirname(open_clip.__file__), "bpe_simple_vocab_16e6.txt.gz")
    lines = gzip.open(bpe_path).read().decode("utf-8").split("\n")
    merges = [tuple(line.split()) for line in lines[1 : 49152 - 256 - 2 + 1]]
    vocab = list(bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab]
    vocab += ["".join(m) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump({token: i for i, token in enumerate(vocab)}, f, ensure_ascii=False)
    with open(os.path.join(directory, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for a, b in merges:
            f.write(f"{a} {b}\n")


def tricky_strings() -> list:
    """Hand-picked edge cases plus seeded random mixes of the character classes the pre-tokenizer splits on."""
    cases = [
        "", " ", "   ", "\t\n", "a", "A", "a photo of a cat", "A Photo Of A CAT", "a person crossing the street",
        "a dog.", "hello, world!", "it's", "It'S", "don't", "they're", "we've", "I'm", "you'll", "he'd",
        "'s", "''s", "rock'n'roll", "o'clock", "naïve café", "Crème Brûlée", "e\u0301", "cafe\u0301",
        "Ångström", "straße", "STRASSE", "İstanbul", "ΣΊΣΥΦΟΣ", "Ελληνικά", "Привет, мир", "日本語のテキスト",
        "中文字符测试", "한국어 텍스트", "עברית", "العربية", "हिन्दी", "ไทย", "emoji 😀", "👍🏽", "👨‍👩‍👧‍👦",
        "🏳️‍🌈 flag", "❤️", "a😀b", "1234567890", "3.14159", "$100", "100%", "1st 2nd 3rd", "2024-01-01",
        "12:30pm", "x²", "½", "Ⅻ", "٣", "!!!", "???!!!", "...", "—", "–-", "«quoted»", "\"quoted\"",
        "(parens)", "[brackets]", "{braces}", "a+b=c", "a/b\\c", "snake_case_name", "camelCaseName",
        "email@example.com", "https://example.com/path?q=1&x=2", "#hashtag", "@mention", "C++", "C#",
        "<|startoftext|>", "<|endoftext|>", "a<|endoftext|>b", "<<|endoftext|>", "<|endoftext|>'s",
        "<|ENDOFTEXT|>", "<|startoftext|>hello<|endoftext|>", "<|", "|>", "&amp;", "&lt;b&gt;",
        "multiple   spaces", "tabs\tand\nnewlines", "  leading and trailing  ", "\u00a0nbsp\u00a0",
        "\u3000ideographic space", "zero\u200bwidth", "soft\u00adhyphen", "control\u0001char", "nul\u0000",
        "\ufeffbom", "ｆｕｌｌｗｉｄｔｈ", "ﬁ ligature", "Ⓐ circled", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "\U0001F600\U0001F601",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "abababababababababab", "supercalifragilisticexpialidocious",
        "pneumonoultramicroscopicsilicovolcanoconiosis", "ffffffffffff", "lllllllll", "!!!!!!!!!!!!!!!!!!!!",
        "a red car parked next to a blue truck", "two people shaking hands in an office",
        "a forklift carrying a pallet in a warehouse", "a robot arm picking up a red cube",
    ]
    cases.append(" ".join(["word"] * 100))
    cases.append("a " * 76)
    cases.append("a " * 75)
    cases.append("a " * 74)
    cases.append("😀" * 60)
    cases.append("The quick brown fox jumps over the lazy dog. " * 8)
    pools = [
        "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789", " \t\n", ".,;:!?'\"-()[]{}<>|/\\",
        "éèêëàâäôöûüçñßøåæœ", "ΑΒΓΔαβγδσς", "абвгдеёжзий", "日本語中文字한국어", "😀👍🏽❤️🚗🐈‍⬛", "'s't're've'm'll'd",
        "\u0301\u0308\u200d\ufe0f", "٠١٢٣४५६७",
    ]
    rng = random.Random(20241129)
    for _ in range(260):
        n = rng.randint(1, 40)
        chosen = rng.sample(pools, rng.randint(1, 4))
        cases.append("".join(rng.choice(rng.choice(chosen)) for _ in range(n)))
    words = "a the photo of cat dog car person street red blue walking running in on at with two three".split()
    for _ in range(60):
        cases.append(" ".join(rng.choice(words) for _ in range(rng.randint(1, 30))))
    return cases


def main() -> int:
    write_vocabulary(FIXTURE_DIR)
    tokenizer = CLIPTokenizer.from_pretrained(FIXTURE_DIR)
    simple = SimpleTokenizer()
    cases = []
    differs_from_openai = 0
    for text in tricky_strings():
        ids = tokenizer(text, truncation=True, max_length=CONTEXT_LENGTH)["input_ids"]
        assert ids[0] == 49406 and ids[-1] == 49407 and len(ids) <= CONTEXT_LENGTH, (text, ids)
        openai_ids = [49406] + simple.encode(text)[: CONTEXT_LENGTH - 2] + [49407]
        if openai_ids != ids:
            differs_from_openai += 1
        cases.append({"text": text, "ids": ids})
    with open(GOLDENS, "w", encoding="utf-8") as f:
        json.dump(
            {
                "reference": f"transformers {transformers.__version__} CLIPTokenizer "
                f"({type(tokenizer).__module__}), truncation=True, max_length={CONTEXT_LENGTH}",
                "cases": cases,
            },
            f,
            ensure_ascii=False,
            indent=0,
        )
        f.write("\n")
    print(f"{len(cases)} cases -> {os.path.relpath(GOLDENS, ROOT)}; "
          f"{differs_from_openai} differ from open_clip's SimpleTokenizer (ftfy + html.unescape)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
