#!/usr/bin/env python3
"""Writes the corpus benchmark's input: distinct English sentences of 14-26 words taken from the text files that
Debian installs under /usr/share/doc and /usr/share/common-licenses (READMEs, NEWS, changelogs, licences), split at
sentence ends and shuffled with a fixed seed. Standard library only.

    python3 scripts/bench/make_corpus_10k.py OUT.txt [--count 10000] [--seed 1]
"""
import argparse
import gzip
import os
import random
import re
import sys

ROOTS = ["/usr/share/doc", "/usr/share/common-licenses"]
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
WORD = re.compile(r"^[A-Za-z][A-Za-z'’,;:()\-]*[.!?,;:)]?$")


def read_text(path):
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            data = f.read(2_000_000)
        return data.decode("utf-8")
    except (OSError, UnicodeDecodeError, EOFError):
        return ""


def sentences(text):
    # Join wrapped lines of a paragraph, keep paragraphs apart.
    for para in re.split(r"\n\s*\n", text):
        flat = " ".join(line.strip(" *-\t") for line in para.splitlines())
        for s in SENTENCE_END.split(flat):
            s = re.sub(r"\s+", " ", s).strip()
            words = s.split(" ")
            if not 14 <= len(words) <= 26 or not s.endswith((".", "!", "?")):
                continue
            # Mostly words: no code, paths, addresses or dates-heavy changelog lines.
            wordy = sum(1 for w in words if WORD.match(w))
            if wordy < 0.9 * len(words) or any(c in s for c in "<>{}[]=/\\@#$|_~`"):
                continue
            yield s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    seen, found = set(), []
    for root in ROOTS:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(filenames):
                path = os.path.join(dirpath, name)
                if os.path.islink(path) or name.endswith((".html", ".htm", ".png", ".jpg", ".svg", ".pdf")):
                    continue
                for s in sentences(read_text(path)):
                    if s not in seen:
                        seen.add(s)
                        found.append(s)
    random.Random(args.seed).shuffle(found)
    if len(found) < args.count:
        sys.exit(f"only {len(found)} distinct sentences found under {ROOTS}; asked for {args.count}")
    with open(args.out, "w", encoding="utf-8") as f:
        for s in found[: args.count]:
            f.write(s + "\n")
    print(f"{args.count} of {len(found)} distinct sentences written to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
