#!/usr/bin/python3
"""Packs the golden tiny-whisper-words/ folder from a train-whisper run and its word pool.

The model is trained here (not by PyTorch): the golden part is the audio and the word times, which come from
espeak-ng and exact composition, independent of the code under test. Steps (docs/speech.md has the measured run):

    /usr/bin/python3 scripts/speech/make_word_pool.py -o /tmp/h-align-pool --variants 40
    attnscope train-whisper --pool /tmp/h-align-pool -o RUN --d-model 64 --ffn 256 ...
    /usr/bin/python3 tests/AttnScope.Tests/Golden/make_tiny_whisper_words.py RUN /tmp/h-align-pool

Copies the model files (config.json, generation_config.json, model.safetensors, vocab.json, merges.txt,
tokenizer_config.json, alignment_results.json) and writes test-pool/: the first held-out *test* recording of every
word (never heard in training nor used to choose heads or heuristics), resampled to 16 kHz by FFT, as a word pool
(pool.json, split "test") from which the test composes clips whose word times are exact by construction.
"""

import json
import os
import shutil
import sys
import wave

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
FILES = ["config.json", "generation_config.json", "model.safetensors", "vocab.json", "merges.txt", "tokenizer_config.json",
         "alignment_results.json"]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    run, pool = sys.argv[1], sys.argv[2]
    out = os.path.join(HERE, "tiny-whisper-words")
    os.makedirs(os.path.join(out, "test-pool"), exist_ok=True)
    for f in FILES:
        shutil.copy(os.path.join(run, f), os.path.join(out, f))
    meta = json.load(open(os.path.join(pool, "pool.json"), encoding="utf-8"))
    picked, entries = {}, []
    for w in meta["words"]:
        if w["split"] == "test" and w["word"] not in picked:
            picked[w["word"]] = w
    for i, (word, w) in enumerate(sorted(picked.items())):
        with wave.open(os.path.join(pool, w["file"]), "rb") as r:
            rate = r.getframerate()
            x = np.frombuffer(r.readframes(r.getnframes()), dtype="<i2").astype(np.float64)
        n = int(round(len(x) * 16000 / rate))
        y = np.fft.irfft(np.fft.rfft(x)[: n // 2 + 1], n) * n / len(x)
        y = np.clip(np.round(y), -32768, 32767).astype("<i2")
        name = f"{i:02d}-{word}.wav"
        with wave.open(os.path.join(out, "test-pool", name), "wb") as o:
            o.setnchannels(1)
            o.setsampwidth(2)
            o.setframerate(16000)
            o.writeframes(y.tobytes())
        entries.append({"word": word, "file": name, "split": "test", "voice": w["voice"], "speed": w["speed"], "pitch": w["pitch"],
                        "seconds": round(n / 16000, 4)})
    with open(os.path.join(out, "test-pool", "pool.json"), "w", encoding="utf-8") as f:
        json.dump({"format": "attnscope.word-pool/1", "sample_rate": 16000, "words": entries}, f, indent=1)
        f.write("\n")
    print(f"wrote {out}: model and {len(entries)} test recordings")


if __name__ == "__main__":
    main()
