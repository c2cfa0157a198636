#!/usr/bin/python3
"""Synthesizes a pool of spoken words for `attnscope train-whisper` (a tiny Whisper trained on clips made from it).

Every word of a small vocabulary is spoken alone by espeak-ng (apt-get install -y espeak-ng) in many variants: voice,
speed (words per minute) and pitch. Leading and trailing silence is trimmed (samples below 1% of full scale), so a
word's recording starts and ends at its first and last audible sample. `train-whisper` composes clips of 2-5 words
from the pool with random pauses, which gives every word's start and end exactly (to one sample) by construction.

Each variant is assigned to one split (train 80%, valid 10%, test 10%, seeded), so validation and test clips are made
of recordings the model never heard in training.

    /usr/bin/python3 scripts/speech/make_word_pool.py -o /tmp/speech-pool [--variants 40] [--seed 1]

Writes DIR/NNNN.wav (mono 16-bit at espeak-ng's rate) and DIR/pool.json:
{"format": "attnscope.word-pool/1", "sample_rate": R, "words": [{"word", "file", "split", "voice", "speed", "pitch", "seconds"}]}.
Only Python's standard library and the espeak-ng program.
"""

import argparse
import array
import json
import os
import random
import subprocess
import sys
import wave

VOCABULARY = ("zero one two three four five six seven eight nine yes no up down left right go stop "
              "red green blue house water open").split()
VOICES = ["en-us", "en-gb", "en-029", "en-gb-scotland", "en-gb-x-rp", "en-us+f2", "en-gb+f3", "en-us+m3"]


def speak(word, voice, speed, pitch, path):
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", path, word], check=True)
    with wave.open(path, "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            sys.exit(f"espeak-ng wrote {w.getnchannels()} channels of {8 * w.getsampwidth()} bits; expected mono 16-bit")
        rate = w.getframerate()
        samples = array.array("h", w.readframes(w.getnframes()))
    if sys.byteorder != "little":
        samples.byteswap()
    limit = int(0.01 * 32767)
    loud = [i for i, s in enumerate(samples) if abs(s) > limit]
    if not loud:
        sys.exit(f"espeak-ng produced silence for {word!r}")
    return rate, samples[loud[0]:loud[-1] + 1]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-o", "--output", required=True, help="folder to write (created)")
    p.add_argument("--variants", type=int, default=40, help="recordings of each word")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--words", default=None, help="space-separated vocabulary (default: 24 built-in words)")
    a = p.parse_args()
    if a.variants < 3 or a.variants > 1000:
        sys.exit("--variants must be 3...1000")
    words = a.words.split() if a.words else VOCABULARY
    rng = random.Random(a.seed)
    os.makedirs(a.output, exist_ok=True)
    entries, rate = [], None
    for word in words:
        splits = ["train"] * a.variants
        n_held = max(1, a.variants // 10)
        idx = list(range(a.variants))
        rng.shuffle(idx)
        for i in idx[:n_held]:
            splits[i] = "valid"
        for i in idx[n_held:2 * n_held]:
            splits[i] = "test"
        for v in range(a.variants):
            voice = rng.choice(VOICES)
            speed = rng.randint(110, 240)
            pitch = rng.randint(20, 80)
            name = f"{len(entries):04d}.wav"
            path = os.path.join(a.output, name)
            r, s = speak(word, voice, speed, pitch, path)
            if rate is None:
                rate = r
            elif r != rate:
                sys.exit(f"espeak-ng changed its rate ({r} vs {rate})")
            if sys.byteorder != "little":
                s.byteswap()
            with wave.open(path, "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(rate)
                w.writeframes(s.tobytes())
            entries.append({"word": word, "file": name, "split": splits[v], "voice": voice, "speed": speed, "pitch": pitch,
                            "seconds": round(len(s) / rate, 4)})
    with open(os.path.join(a.output, "pool.json"), "w", encoding="utf-8") as f:
        json.dump({"format": "attnscope.word-pool/1", "sample_rate": rate, "words": entries}, f, indent=1)
        f.write("\n")
    print(f"wrote {len(entries)} recordings of {len(words)} words to {a.output}")


if __name__ == "__main__":
    main()
