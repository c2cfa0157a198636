#!/usr/bin/python3
"""Synthesizes a spoken sentence with known word boundaries, for measuring word alignment with real Whisper weights.

Each word is spoken separately by espeak-ng (apt-get install -y espeak-ng), its leading and trailing silence trimmed
(samples below 1% of full scale), and the words are joined with fixed pauses. The reference start and end of every
word are therefore exact (to one sample) by construction, with no forced aligner involved. Words spoken in isolation
sound less fluent than a sentence; the pause between them is a parameter.

    /usr/bin/python3 scripts/speech/synthesize_words.py "the quick brown fox jumps" -o clip.wav --words ref.json
    attnscope capture --model WHISPER_DIR --audio clip.wav -o cap.safetensors
    attnscope speech cap.safetensors --view align --words got.json -o align.png
    /usr/bin/python3 scripts/speech/alignment_error.py ref.json got.json

Only Python's standard library and the espeak-ng program; no test depends on it.
"""

import argparse
import array
import json
import os
import subprocess
import sys
import tempfile
import wave


def speak(word, voice, speed, path):
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", path, word], check=True)
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
    p.add_argument("text")
    p.add_argument("-o", "--output", required=True, help="WAV to write (mono 16-bit, espeak-ng's rate)")
    p.add_argument("--words", required=True, help="JSON to write: {'words': [{'word', 'start', 'end'}]} in seconds")
    p.add_argument("--voice", default="en-us")
    p.add_argument("--speed", type=int, default=150, help="words per minute (espeak-ng -s)")
    p.add_argument("--pause", type=float, default=0.12, help="silence between words (s)")
    p.add_argument("--lead", type=float, default=0.3, help="silence before the first word (s)")
    a = p.parse_args()
    words = a.text.split()
    if not words:
        sys.exit("no words")
    out, ref, rate = array.array("h"), [], None
    with tempfile.TemporaryDirectory() as tmp:
        for i, word in enumerate(words):
            r, s = speak(word, a.voice, a.speed, os.path.join(tmp, f"{i}.wav"))
            if rate is None:
                rate = r
                out.extend([0] * int(a.lead * rate))
            elif r != rate:
                sys.exit(f"espeak-ng changed its rate ({r} vs {rate})")
            start = len(out)
            out.extend(s)
            ref.append({"word": word, "start": round(start / rate, 4), "end": round(len(out) / rate, 4)})
            out.extend([0] * int(a.pause * rate))
    out.extend([0] * int(a.lead * rate))
    if sys.byteorder != "little":
        out.byteswap()
    with wave.open(a.output, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(out.tobytes())
    with open(a.words, "w", encoding="utf-8") as f:
        json.dump({"words": ref, "sample_rate": rate, "seconds": len(out) / rate}, f, indent=2)
        f.write("\n")
    print(f"wrote {a.output} ({len(out) / rate:.2f} s at {rate} Hz) and {a.words} ({len(ref)} words)")


if __name__ == "__main__":
    main()
