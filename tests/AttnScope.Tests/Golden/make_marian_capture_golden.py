#!/usr/bin/python3
"""Writes tiny-marian/capture_golden.safetensors and capture_golden.json: the attention a capture of a
translation holds, for the tiny-marian model that make_marian_golden.py wrote.

A translation capture records the encoder over the source ids and the decoder re-reading its own
inputs with teacher forcing: the decoder start token (39 = pad) followed by every produced token.
Here the produced tokens are the greedy output computed by PyTorch (NEW_TOKENS steps, each step a
full pass over the prefix, the pad token banned as Hugging Face Marian configurations do through
bad_words_ids); the attention of the pass over [39] + produced is written per stack:

    encoder_attention [layers, heads, S, S]
    decoder_attention [layers, heads, T, T]   (T = 1 + NEW_TOKENS)
    cross_attention   [layers, heads, T, S]

Independence: the reference model is MarianRef of make_marian_golden.py (torch.nn.MultiheadAttention,
torch.nn.LayerNorm, torch.nn.Linear, F.silu), i.e. PyTorch's own attention kernel, not a port of
the C# core; every tensor is also recomputed in float64 with plain numpy (np_forward) and must agree.
Nothing here uses AttnScope's code.

Run from the repository root (after make_marian_golden.py, whose model.safetensors it reads):
    /usr/bin/python3 -B tests/AttnScope.Tests/Golden/make_marian_capture_golden.py
Deterministic (float32, one CPU thread): a rerun rewrites identical bytes.
"""

import os

import numpy as np
import torch

from make_decoder_goldens import read_safetensors, write_json, write_safetensors
from make_marian_golden import CONFIG, FOLDER, SOURCE_IDS, MarianRef, np_forward

NEW_TOKENS = 8

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)


def main():
    cfg = CONFIG
    w = read_safetensors(os.path.join(FOLDER, "model.safetensors"))
    model = MarianRef(cfg, w).eval()
    pad = cfg["pad_token_id"]
    with torch.no_grad():
        enc = model.encode(SOURCE_IDS)
        seq = [cfg["decoder_start_token_id"]]
        for _ in range(NEW_TOKENS):
            last = model.decode(seq, enc["encoder_out"])["logits"][-1].clone()
            last[pad] = float("-inf")
            seq.append(int(torch.argmax(last)))
        dec = model.decode(seq, enc["encoder_out"])
    L = cfg["encoder_layers"]
    golden = {
        "encoder_attention": torch.stack([enc[f"encoder_attention.{l}"] for l in range(L)]).numpy(),
        "decoder_attention": torch.stack([dec[f"decoder_attention.{l}"] for l in range(cfg["decoder_layers"])]).numpy(),
        "cross_attention": torch.stack([dec[f"cross_attention.{l}"] for l in range(cfg["decoder_layers"])]).numpy(),
    }
    ref = np_forward(cfg, w, SOURCE_IDS, seq)
    for name, n in (("encoder_attention", L), ("decoder_attention", cfg["decoder_layers"]), ("cross_attention", cfg["decoder_layers"])):
        want = np.stack([ref[f"{name}.{l}"] for l in range(n)])
        assert np.allclose(golden[name], want, atol=1e-5), (name, np.abs(golden[name] - want).max())
        assert np.allclose(golden[name].sum(-1), 1.0, atol=1e-5), name
    path = os.path.join(FOLDER, "capture_golden.safetensors")
    write_safetensors(path, golden)
    write_json(os.path.join(FOLDER, "capture_golden.json"), {
        "source_ids": SOURCE_IDS,
        "decoder_inputs": seq,
        "produced_ids": seq[1:],
        "notes": f"made by make_marian_capture_golden.py with PyTorch {torch.__version__}: greedy ({NEW_TOKENS} tokens, pad banned, "
                 "no EOS stop) then one teacher-forced pass over decoder_inputs; stacks [layers, heads, queries, keys].",
    })
    print(f"capture golden: produced {seq[1:]}, shapes " + ", ".join(f"{k} {v.shape}" for k, v in golden.items()))


if __name__ == "__main__":
    main()
