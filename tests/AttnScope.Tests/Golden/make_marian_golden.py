#!/usr/bin/python3
"""Writes the tiny-marian golden folder: a Hugging Face-format MarianMT encoder-decoder.

The folder holds config.json and model.safetensors (random weights, exact HF tensor names) and
the reference outputs of that model (golden.safetensors, golden.json), computed here with
PyTorch's own modules following the Hugging Face transformers semantics of MarianMTModel.
The C# engine is tested against these files; nothing here uses the C# engine.

Run from the repository root:
    /usr/bin/python3 -B tests/AttnScope.Tests/Golden/make_marian_golden.py

Needs only Debian's python3-torch and python3-numpy. Output is deterministic (fixed seed,
float32, one CPU thread, fixed JSON key order), so a rerun rewrites identical bytes. The
safetensors/JSON writers are shared with make_decoder_goldens.py.
"""

import math
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from make_decoder_goldens import read_safetensors, write_json, write_safetensors

HERE = os.path.dirname(os.path.abspath(__file__))
FOLDER = os.path.join(HERE, "tiny-marian")
SEED = 7014  # picked so that greedy generation is varied and wins each step by a clear margin
NEW_TOKENS = 8
EMBED_STD = 0.7   # token embeddings large enough that the current token steers the next one
QK_STD = 0.3
QK_STD_LAYER0 = 0.08

torch.set_num_threads(1)  # one thread: the same reduction order on every run
torch.use_deterministic_algorithms(True)

CONFIG = {
    "_name_or_path": "tiny-marian",
    "architectures": ["MarianMTModel"],
    "model_type": "marian",
    "vocab_size": 40,
    "decoder_vocab_size": 40,
    "d_model": 32,
    "encoder_layers": 2,
    "decoder_layers": 2,
    "encoder_attention_heads": 4,
    "decoder_attention_heads": 4,
    "encoder_ffn_dim": 64,
    "decoder_ffn_dim": 64,
    "activation_function": "swish",
    "max_position_embeddings": 64,
    "scale_embedding": True,
    "static_position_embeddings": True,
    "share_encoder_decoder_embeddings": True,
    "tie_word_embeddings": True,
    "normalize_before": False,
    "normalize_embedding": False,
    "add_final_layer_norm": False,
    "add_bias_logits": False,
    "is_encoder_decoder": True,
    "pad_token_id": 39,
    "decoder_start_token_id": 39,
    "eos_token_id": 0,
    "forced_eos_token_id": 0,
    "bos_token_id": 0,
    "dropout": 0.0,
    "attention_dropout": 0.0,
    "activation_dropout": 0.0,
    "init_std": 0.02,
    "torch_dtype": "float32",
}

# Source ends with </s> (eos 0) as the Marian tokenizer appends it; no pad (39) inside, so no
# attention mask is needed. Decoder input starts with decoder_start_token_id (= pad, 39).
SOURCE_IDS = [12, 5, 27, 33, 8, 19, 2, 30, 0]
DECODER_INPUT_IDS = [39, 7, 21, 14, 3, 36, 11]

# --------------------------------------------------------------------------------------------
# Weights
# --------------------------------------------------------------------------------------------


def rnd(shape, std, mean=0.0):
    return (torch.randn(*shape, dtype=torch.float32) * std + mean).numpy()


def marian_sinusoids(n_pos, dim):
    """MarianSinusoidalPositionalEmbedding's table: angle(pos, j) = pos / 10000^(2*(j//2)/dim)
    in float64; columns [0, dim/2) hold sin of the even-j angles, [dim/2, dim) cos of the odd-j
    angles (so column i and column dim/2 + i share frequency 10000^(-2i/dim)); cast to float32.
    Not interleaved, unlike the original Transformer paper."""
    ang = np.array([[pos / np.power(10000, 2 * (j // 2) / dim) for j in range(dim)] for pos in range(n_pos)])
    out = np.empty((n_pos, dim), dtype=np.float32)
    half = dim // 2
    out[:, :half] = np.sin(ang[:, 0::2])
    out[:, half:] = np.cos(ang[:, 1::2])
    return out


def attn_weights(w, p, d, qk_std):
    """q/k/v/out projections of one MarianAttention ([out, in] as nn.Linear stores them).
    qk_std sets how peaked the rows are: layer 0's self-attention reads the raw scaled embedding
    (std about 4, not LayerNorm'ed: post-norm), so it gets smaller q/k weights than the rest."""
    w[p + "q_proj.weight"] = rnd((d, d), qk_std)
    w[p + "q_proj.bias"] = rnd((d,), 0.1)
    w[p + "k_proj.weight"] = rnd((d, d), qk_std)
    w[p + "k_proj.bias"] = rnd((d,), 0.1)
    w[p + "v_proj.weight"] = rnd((d, d), 0.3)
    w[p + "v_proj.bias"] = rnd((d,), 0.05)
    w[p + "out_proj.weight"] = rnd((d, d), 0.3)
    w[p + "out_proj.bias"] = rnd((d,), 0.05)


def layer_norm_weights(w, p, d):
    w[p + "weight"] = rnd((d,), 0.1, 1.0)
    w[p + "bias"] = rnd((d,), 0.05)


def ffn_weights(w, p, d, ffn):
    w[p + "fc1.weight"] = rnd((ffn, d), 0.3)
    w[p + "fc1.bias"] = rnd((ffn,), 0.05)
    w[p + "fc2.weight"] = rnd((d, ffn), 0.3)
    w[p + "fc2.bias"] = rnd((d,), 0.05)


def marian_weights(cfg, seed):
    torch.manual_seed(seed)
    d, V, P = cfg["d_model"], cfg["vocab_size"], cfg["max_position_embeddings"]
    shared = rnd((V, d), EMBED_STD)   # the pad row (39) is random too: it is the decoder start embedding
    pos = marian_sinusoids(P, d)
    w = {
        "model.shared.weight": shared,
        "model.encoder.embed_tokens.weight": shared.copy(),
        "model.decoder.embed_tokens.weight": shared.copy(),
        "lm_head.weight": shared.copy(),
        "model.encoder.embed_positions.weight": pos,
        "model.decoder.embed_positions.weight": pos.copy(),
    }
    for l in range(cfg["encoder_layers"]):
        p = f"model.encoder.layers.{l}."
        attn_weights(w, p + "self_attn.", d, QK_STD_LAYER0 if l == 0 else QK_STD)
        layer_norm_weights(w, p + "self_attn_layer_norm.", d)
        ffn_weights(w, p, d, cfg["encoder_ffn_dim"])
        layer_norm_weights(w, p + "final_layer_norm.", d)
    for l in range(cfg["decoder_layers"]):
        p = f"model.decoder.layers.{l}."
        attn_weights(w, p + "self_attn.", d, QK_STD_LAYER0 if l == 0 else QK_STD)
        layer_norm_weights(w, p + "self_attn_layer_norm.", d)
        attn_weights(w, p + "encoder_attn.", d, QK_STD)
        layer_norm_weights(w, p + "encoder_attn_layer_norm.", d)
        ffn_weights(w, p, d, cfg["decoder_ffn_dim"])
        layer_norm_weights(w, p + "final_layer_norm.", d)
    w["final_logits_bias"] = rnd((1, V), 0.1)  # non-zero (real checkpoints: zeros) so it is exercised
    return w


# --------------------------------------------------------------------------------------------
# Reference model (PyTorch modules, HF MarianMTModel semantics)
# --------------------------------------------------------------------------------------------


def t(a):
    return torch.from_numpy(np.array(a, dtype=np.float32))


def mha(w, p, d, H):
    """torch.nn.MultiheadAttention loaded with one MarianAttention's q/k/v/out projections.
    It scales q by head_dim^-0.5, as BART/Marian do."""
    m = nn.MultiheadAttention(d, H, bias=True, batch_first=True)
    with torch.no_grad():
        m.in_proj_weight.copy_(torch.cat([t(w[p + f"{n}_proj.weight"]) for n in "qkv"], 0))
        m.in_proj_bias.copy_(torch.cat([t(w[p + f"{n}_proj.bias"]) for n in "qkv"], 0))
        m.out_proj.weight.copy_(t(w[p + "out_proj.weight"]))
        m.out_proj.bias.copy_(t(w[p + "out_proj.bias"]))
    return m


def layer_norm(w, p, d):
    n = nn.LayerNorm(d, eps=1e-5)  # HF Marian: nn.LayerNorm default eps
    with torch.no_grad():
        n.weight.copy_(t(w[p + "weight"]))
        n.bias.copy_(t(w[p + "bias"]))
    return n


def linear(w, p):
    wt = t(w[p + "weight"])
    m = nn.Linear(wt.shape[1], wt.shape[0])
    with torch.no_grad():
        m.weight.copy_(wt)
        m.bias.copy_(t(w[p + "bias"]))
    return m


def attend(m, q_in, kv_in, mask=None):
    out, weights = m(q_in[None], kv_in[None], kv_in[None], attn_mask=mask,
                     need_weights=True, average_attn_weights=False)
    return out[0], weights[0]


class EncoderLayer(nn.Module):
    """Post-norm: x = LN(x + SelfAttn(x)); x = LN(x + fc2(swish(fc1(x))))."""

    def __init__(self, w, p, d, H):
        super().__init__()
        self.self_attn = mha(w, p + "self_attn.", d, H)
        self.self_attn_layer_norm = layer_norm(w, p + "self_attn_layer_norm.", d)
        self.fc1, self.fc2 = linear(w, p + "fc1."), linear(w, p + "fc2.")
        self.final_layer_norm = layer_norm(w, p + "final_layer_norm.", d)

    def forward(self, x):
        a, weights = attend(self.self_attn, x, x)
        x = self.self_attn_layer_norm(x + a)
        x = self.final_layer_norm(x + self.fc2(F.silu(self.fc1(x))))
        return x, weights


class DecoderLayer(nn.Module):
    """Post-norm: causal self-attention, cross-attention to the encoder output, swish FFN."""

    def __init__(self, w, p, d, H):
        super().__init__()
        self.self_attn = mha(w, p + "self_attn.", d, H)
        self.self_attn_layer_norm = layer_norm(w, p + "self_attn_layer_norm.", d)
        self.encoder_attn = mha(w, p + "encoder_attn.", d, H)
        self.encoder_attn_layer_norm = layer_norm(w, p + "encoder_attn_layer_norm.", d)
        self.fc1, self.fc2 = linear(w, p + "fc1."), linear(w, p + "fc2.")
        self.final_layer_norm = layer_norm(w, p + "final_layer_norm.", d)

    def forward(self, x, enc):
        T = x.shape[0]
        causal = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)  # True = masked
        a, self_w = attend(self.self_attn, x, x, causal)
        x = self.self_attn_layer_norm(x + a)
        c, cross_w = attend(self.encoder_attn, x, enc)
        x = self.encoder_attn_layer_norm(x + c)
        x = self.final_layer_norm(x + self.fc2(F.silu(self.fc1(x))))
        return x, self_w, cross_w


class MarianRef(nn.Module):
    def __init__(self, cfg, w):
        super().__init__()
        d = cfg["d_model"]
        self.scale = math.sqrt(d) if cfg["scale_embedding"] else 1.0
        self.shared = nn.Embedding(cfg["vocab_size"], d)
        self.enc_pos = nn.Embedding(cfg["max_position_embeddings"], d)
        self.dec_pos = nn.Embedding(cfg["max_position_embeddings"], d)
        with torch.no_grad():
            self.shared.weight.copy_(t(w["model.shared.weight"]))
            self.enc_pos.weight.copy_(t(w["model.encoder.embed_positions.weight"]))
            self.dec_pos.weight.copy_(t(w["model.decoder.embed_positions.weight"]))
        self.final_logits_bias = t(w["final_logits_bias"])
        self.enc = nn.ModuleList([EncoderLayer(w, f"model.encoder.layers.{l}.", d, cfg["encoder_attention_heads"])
                                  for l in range(cfg["encoder_layers"])])
        self.dec = nn.ModuleList([DecoderLayer(w, f"model.decoder.layers.{l}.", d, cfg["decoder_attention_heads"])
                                  for l in range(cfg["decoder_layers"])])

    def encode(self, src):
        src = torch.tensor(src, dtype=torch.long)
        x = self.shared(src) * self.scale + self.enc_pos(torch.arange(src.shape[0]))  # positions 0..S-1
        caps = {"encoder_embed": x}
        for l, layer in enumerate(self.enc):
            x, a = layer(x)
            caps[f"encoder_attention.{l}"] = a
        caps["encoder_out"] = x  # no final encoder LayerNorm in Marian
        return caps

    def decode(self, tgt, enc):
        tgt = torch.tensor(tgt, dtype=torch.long)
        x = self.shared(tgt) * self.scale + self.dec_pos(torch.arange(tgt.shape[0]))
        caps = {"decoder_embed": x}
        for l, layer in enumerate(self.dec):
            x, a, c = layer(x, enc)
            caps[f"decoder_attention.{l}"] = a
            caps[f"cross_attention.{l}"] = c
        caps["decoder_out"] = x  # no final decoder LayerNorm in Marian
        caps["logits"] = F.linear(x, self.shared.weight) + self.final_logits_bias[0]  # tied lm head
        return caps


def greedy(model, enc, start, n):
    seq, rows, margins = [start], [], []
    for _ in range(n):
        last = model.decode(seq, enc)["logits"][-1]
        top2 = torch.topk(last, 2).values
        margins.append(float(top2[0] - top2[1]))
        rows.append(last)
        seq.append(int(torch.argmax(last)))
    return seq[1:], torch.stack(rows), margins


# --------------------------------------------------------------------------------------------
# Independent float64 recomputation (plain numpy, HF's op order: (q k^T) * scale, + mask)
# --------------------------------------------------------------------------------------------


def np_ln(x, w, p):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + 1e-5) * w[p + "weight"] + w[p + "bias"]


def np_attn(w, p, xq, xkv, H, causal):
    lin = lambda x, n: x @ w[p + n + ".weight"].T.astype(np.float64) + w[p + n + ".bias"]
    T, d = xq.shape
    S, dh = xkv.shape[0], d // H
    q = lin(xq, "q_proj").reshape(T, H, dh).transpose(1, 0, 2)
    k = lin(xkv, "k_proj").reshape(S, H, dh).transpose(1, 0, 2)
    v = lin(xkv, "v_proj").reshape(S, H, dh).transpose(1, 0, 2)
    s = (q @ k.transpose(0, 2, 1)) * dh ** -0.5
    if causal:
        s[:, np.triu(np.ones((T, S), dtype=bool), 1)] = -np.inf
    e = np.exp(s - s.max(-1, keepdims=True))
    a = e / e.sum(-1, keepdims=True)
    o = (a @ v).transpose(1, 0, 2).reshape(T, d)
    return lin(o, "out_proj"), a


def np_ffn(w, p, x):
    h = x @ w[p + "fc1.weight"].T + w[p + "fc1.bias"]
    h = h / (1 + np.exp(-h))  # swish = x * sigmoid(x)
    return h @ w[p + "fc2.weight"].T + w[p + "fc2.bias"]


def np_forward(cfg, w, src, tgt):
    w = {k: v.astype(np.float64) for k, v in w.items()}
    d = cfg["d_model"]
    emb = w["model.shared.weight"] * math.sqrt(d)
    out = {}
    x = emb[src] + w["model.encoder.embed_positions.weight"][:len(src)]
    for l in range(cfg["encoder_layers"]):
        p = f"model.encoder.layers.{l}."
        a, out[f"encoder_attention.{l}"] = np_attn(w, p + "self_attn.", x, x, cfg["encoder_attention_heads"], False)
        x = np_ln(x + a, w, p + "self_attn_layer_norm.")
        x = np_ln(x + np_ffn(w, p, x), w, p + "final_layer_norm.")
    out["encoder_out"] = enc = x
    x = emb[tgt] + w["model.decoder.embed_positions.weight"][:len(tgt)]
    H = cfg["decoder_attention_heads"]
    for l in range(cfg["decoder_layers"]):
        p = f"model.decoder.layers.{l}."
        a, out[f"decoder_attention.{l}"] = np_attn(w, p + "self_attn.", x, x, H, True)
        x = np_ln(x + a, w, p + "self_attn_layer_norm.")
        c, out[f"cross_attention.{l}"] = np_attn(w, p + "encoder_attn.", x, enc, H, False)
        x = np_ln(x + c, w, p + "encoder_attn_layer_norm.")
        x = np_ln(x + np_ffn(w, p, x), w, p + "final_layer_norm.")
    out["decoder_out"] = x
    out["logits"] = x @ w["lm_head.weight"].T + w["final_logits_bias"][0]
    return out


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------

NOTES = (
    "Reference computed by make_marian_golden.py with PyTorch {torch} modules in float32 on CPU, following the "
    "Hugging Face transformers semantics of MarianMTModel (model_type 'marian'). source_ids (S={S}) go to the "
    "encoder without an attention mask (no padding); decoder_input_ids (T={T}) start with decoder_start_token_id "
    "39 (= pad). Embeddings: shared[id] * sqrt(d_model) + sinusoid[position], positions 0..len-1 (no offset), "
    "the sinusoid table being model.{{encoder,decoder}}.embed_positions.weight (first half sin, second half cos, "
    "column i and d/2+i at frequency 10000^(-2i/d)); no layernorm_embedding, no final encoder/decoder "
    "LayerNorm. Post-norm layers (LayerNorm eps 1e-5): encoder x = LN(x + SelfAttn(x)), x = LN(x + "
    "fc2(swish(fc1(x)))); decoder x = LN(x + causal SelfAttn(x)), x = LN(x + CrossAttn(q=x, kv=encoder_out)), "
    "x = LN(x + fc2(swish(fc1(x)))). Attention softmax((q k^T) * head_dim^-0.5) with q/k/v/out biases; dropout "
    "off. logits = decoder_out . shared^T + final_logits_bias[0] (lm_head tied to model.shared.weight; "
    "final_logits_bias is random, not zero, so it matters). golden.safetensors: encoder_embed [S,d], "
    "decoder_embed [T,d] (scaled token embedding + position), encoder_attention.{{l}} [heads,S,S], "
    "decoder_attention.{{l}} [heads,T,T] (exact zeros above the diagonal), cross_attention.{{l}} [heads,T,S], "
    "encoder_out [S,d], decoder_out [T,d] (before the LM head), logits [T,vocab], gen_logits [{N},vocab]. "
    "Generation: greedy argmax, {N} tokens from [39] over the same encoder output, each step recomputing the "
    "whole decoder prefix without a cache and without stopping at EOS or banning pad; gen_logits[s] is the "
    "last-position logit row of the pass over [39] + generated_ids[:s]. Neither eos (0) nor pad (39) was "
    "generated. Smallest top-1 minus top-2 logit margin over the steps: {margin:.4f}."
)


def main():
    cfg = CONFIG
    os.makedirs(FOLDER, exist_ok=True)
    write_json(os.path.join(FOLDER, "config.json"), cfg)
    write_safetensors(os.path.join(FOLDER, "model.safetensors"), marian_weights(cfg, SEED))
    # Build the reference from the file just written, so the golden describes exactly that file.
    w = read_safetensors(os.path.join(FOLDER, "model.safetensors"))
    model = MarianRef(cfg, w).eval()
    with torch.no_grad():
        caps = model.encode(SOURCE_IDS)
        caps.update(model.decode(DECODER_INPUT_IDS, caps["encoder_out"]))
        generated, gen_logits, margins = greedy(model, caps["encoder_out"], cfg["decoder_start_token_id"],
                                                NEW_TOKENS)
    golden = {k: v.detach().numpy() for k, v in caps.items()}
    golden["gen_logits"] = gen_logits.numpy()
    write_safetensors(os.path.join(FOLDER, "golden.safetensors"), golden)
    write_json(os.path.join(FOLDER, "golden.json"), {
        "model": "tiny-marian",
        "source_ids": SOURCE_IDS,
        "decoder_input_ids": DECODER_INPUT_IDS,
        "generated_ids": generated,
        "notes": NOTES.format(torch=torch.__version__, S=len(SOURCE_IDS), T=len(DECODER_INPUT_IDS),
                              N=NEW_TOKENS, margin=min(margins)),
    })
    self_check(cfg, w, golden, generated, margins)
    size = sum(os.path.getsize(os.path.join(FOLDER, f)) for f in os.listdir(FOLDER))
    print(f"tiny-marian: source={SOURCE_IDS} decoder_input={DECODER_INPUT_IDS} generated={generated} "
          f"min margin={min(margins):.4f} ({size} bytes)")


def self_check(cfg, w, golden, generated, margins):
    g = read_safetensors(os.path.join(FOLDER, "golden.safetensors"))
    assert set(g) == set(golden)
    for k, v in golden.items():
        assert np.array_equal(g[k], v), k
    # tied/shared copies really are equal; positions are Marian's sinusoids
    for k in ("model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight", "lm_head.weight"):
        assert np.array_equal(w[k], w["model.shared.weight"]), k
    d, P = cfg["d_model"], cfg["max_position_embeddings"]
    pos = np.arange(P, dtype=np.float64)[:, None]
    freq = 10000.0 ** (-2.0 * np.arange(d // 2) / d)
    want = np.concatenate([np.sin(pos * freq), np.cos(pos * freq)], 1)
    for k in ("model.encoder.embed_positions.weight", "model.decoder.embed_positions.weight"):
        assert np.allclose(w[k], want, atol=1e-6), k
    assert np.array_equal(w[k][0, :d // 2], np.zeros(d // 2)) and np.array_equal(w[k][0, d // 2:], np.ones(d // 2))
    assert w["final_logits_bias"].shape == (1, cfg["vocab_size"])
    # attention rows: sum 1, exact causal zeros, strictly positive elsewhere, peaked
    S, T = len(SOURCE_IDS), len(DECODER_INPUT_IDS)
    for l in range(cfg["encoder_layers"]):
        assert g[f"encoder_attention.{l}"].shape == (cfg["encoder_attention_heads"], S, S)
    for l in range(cfg["decoder_layers"]):
        assert g[f"decoder_attention.{l}"].shape == (cfg["decoder_attention_heads"], T, T)
        assert g[f"cross_attention.{l}"].shape == (cfg["decoder_attention_heads"], T, S)
    for key in [k for k in g if "attention" in k]:
        a = g[key]
        assert np.allclose(a.sum(-1), 1.0, atol=1e-5), key
        masked = np.zeros(a.shape[1:], dtype=bool)
        if key.startswith("decoder_attention"):
            masked = np.triu(np.ones(a.shape[1:], dtype=bool), 1)
        assert (a[:, masked] == 0).all(), key
        assert (a[:, ~masked] > 0).all(), key
        peak = a[:, -1, :].max(-1)
        assert (peak > 1.5 / (~masked[-1]).sum()).all(), (key, peak)
    assert g["encoder_out"].shape == (S, d) and g["decoder_out"].shape == (T, d)
    assert g["logits"].shape == (T, cfg["vocab_size"])
    # the whole forward recomputed in float64 with plain numpy matches
    ref = np_forward(cfg, w, SOURCE_IDS, DECODER_INPUT_IDS)
    for k, v in ref.items():
        assert np.allclose(g[k], v, atol=1e-4), (k, np.abs(g[k] - v).max())
    assert np.allclose(g["logits"], g["decoder_out"] @ w["model.shared.weight"].T + w["final_logits_bias"][0],
                       atol=1e-5)
    # the first greedy step sees only [39]: by causality it equals row 0 of the golden pass
    assert np.allclose(g["gen_logits"][0], g["logits"][0], atol=1e-5)
    assert all(int(np.argmax(r)) == tok for r, tok in zip(g["gen_logits"], generated))
    assert not ({cfg["eos_token_id"], cfg["pad_token_id"]} & set(generated)), generated
    assert min(margins) > 1e-2, margins
    # a second model built from the file regenerates the same tokens and logits bit for bit
    model = MarianRef(cfg, w).eval()
    with torch.no_grad():
        enc = model.encode(SOURCE_IDS)["encoder_out"]
        again, rows, _ = greedy(model, enc, cfg["decoder_start_token_id"], NEW_TOKENS)
    assert again == generated and np.array_equal(rows.numpy(), g["gen_logits"])


if __name__ == "__main__":
    main()
