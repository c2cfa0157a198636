#!/usr/bin/python3
"""Compares word times from `attnscope speech --view align --words got.json` with a reference (synthesize_words.py).

Words are matched in order after lower-casing and stripping punctuation (a transcript that differs from the reference
is reported, and only matching words are scored). Prints the mean, median and maximum absolute error of the word
starts and ends in milliseconds and in 20 ms encoder frames.

    /usr/bin/python3 scripts/speech/alignment_error.py ref.json got.json
"""

import json
import statistics
import string
import sys


def norm(w):
    return w.lower().strip(string.punctuation + " ")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    ref = json.load(open(sys.argv[1], encoding="utf-8"))["words"]
    got = [w for w in json.load(open(sys.argv[2], encoding="utf-8"))["words"] if norm(w["word"])]
    pairs, j = [], 0
    for r in ref:
        while j < len(got) and norm(got[j]["word"]) != norm(r["word"]):
            j += 1
        if j == len(got):
            print(f"not transcribed: {r['word']!r}")
            continue
        pairs.append((r, got[j]))
        j += 1
    if not pairs:
        sys.exit("no word of the reference was transcribed")
    for name in ("start", "end"):
        errs = [abs(g[name] - r[name]) * 1000 for r, g in pairs]
        print(f"{name}: {len(errs)} words, mean {statistics.mean(errs):.0f} ms, median {statistics.median(errs):.0f} ms, "
              f"max {max(errs):.0f} ms ({statistics.mean(errs) / 20:.1f} frames mean)")


if __name__ == "__main__":
    main()
