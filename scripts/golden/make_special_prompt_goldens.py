"""Goldens for SentencePiece prompts crowded with special tokens: transformers' ids for the committed tiny SigLIP
(SiglipTokenizer) and SigLIP 2 (GemmaTokenizer) tokenizers on long prompts that hold hundreds of special tokens
among text, whitespace, NULs and punctuation, truncated to 64 as the encoders use them.

vlm-stream stops encoding once the kept ids are settled (a prompt of thousands of segments costs ~64 of them); these
goldens prove the ids are still transformers'. Needs only the tokenizer files already in Tests/Fixtures:

    python3 scripts/golden/make_special_prompt_goldens.py   # writes Tests/Fixtures/special-prompt-goldens.json
"""

import json
import random
from pathlib import Path

from transformers import AutoTokenizer

FIXTURES = Path(__file__).resolve().parents[2] / "Tests" / "Fixtures"


def prompts(specials):
    rng = random.Random(5)
    words = ["a", "photo", "of", "the", "Dog", "crossing!", "plaza,", "naïve", "東京", "\x00", "\t", "  ", "..."]
    out = []
    for n in [3, 40, 200, 1200]:
        parts = []
        for _ in range(n):
            parts.append(rng.choice(specials) if rng.random() < 0.4 else rng.choice(words))
            parts.append(rng.choice(["", " ", "  "]))
        out.append("".join(parts))
    out.append(" ".join(specials) * 300)
    out.append(specials[0] * 2000)
    return out


def main():
    result = {}
    for name in ["tiny-siglip", "tiny-siglip2"]:
        tokenizer = AutoTokenizer.from_pretrained(FIXTURES / name)
        # The special tokens the text model can embed (transformers 5 adds a <mask> beyond the tiny SigLIP 2
        # vocabulary, which its own model could not look up).
        vocab = json.loads((FIXTURES / name / "config.json").read_text())["text_config"]["vocab_size"]
        specials = [t for t in tokenizer.all_special_tokens if t and tokenizer.convert_tokens_to_ids(t) < vocab]
        texts = prompts(specials)
        ids = tokenizer(texts, padding="max_length", max_length=64, truncation=True)["input_ids"]
        result[name] = [{"text": t, "ids": i} for t, i in zip(texts, ids)]
    path = FIXTURES / "special-prompt-goldens.json"
    path.write_text(json.dumps(result, ensure_ascii=False) + "\n")
    print(f"wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
