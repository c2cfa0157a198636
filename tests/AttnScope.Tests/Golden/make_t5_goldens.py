#!/usr/bin/python3
"""Writes the tiny-t5 golden folders: Hugging Face-format T5 encoder-decoders on small random weights.

tiny-t5        model_type t5, feed_forward_proj relu, head tied to the shared embedding (hidden scaled by d_model^-0.5)
tiny-t5-gated  model_type mt5, feed_forward_proj gated-gelu (gelu_new), untied lm_head, d_kv != d_model / num_heads,
               vocab_size padded past the tokenizer (as t5 v1.1 / flan-t5 / mt5 checkpoints are), a tokenizer_config.json
               giving extra_ids

Each folder holds config.json, model.safetensors (exact HF tensor names), spiece.model (a SentencePiece unigram model
trained here with Debian's sentencepiece, T5's special ids: pad 0, eos 1, unk 2, no bos), and the reference outputs
golden.safetensors / golden.json, computed here with PyTorch tensor operations following the Hugging Face transformers
semantics of T5ForConditionalGeneration (T5Attention with _relative_position_bucket, T5LayerNorm, T5DenseActDense /
T5DenseGatedActDense). The C# engine is tested against these files; nothing here uses it. tokenizer_golden.json holds
what sentencepiece's own C++ encoder gives for a few texts, with T5's </s> appended and <extra_id_N> tokens.

Run from the repository root:
    /usr/bin/python3 -B tests/AttnScope.Tests/Golden/make_t5_goldens.py
Needs Debian's python3-torch, python3-numpy and python3-sentencepiece. Deterministic (fixed seeds, float32, one thread).
"""

import json
import math
import os
import shutil
import tempfile

import numpy as np
import sentencepiece as spm
import torch

from make_decoder_goldens import write_json, write_safetensors

HERE = os.path.dirname(os.path.abspath(__file__))
torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

SPM_PIECES = 60
EXTRA_IDS = 4
NEW_TOKENS = 8

TEXT = """translate English to German: the cat sat on the mat
translate English to German: the dog sleeps in the house
translate English to German: a small house stands near the river
die katze sitzt auf der matte
der hund schläft im haus
ein kleines haus steht nahe dem fluss
children play in the garden every morning
kinder spielen jeden morgen im garten
""" * 3


def train_spm(folder):
    with tempfile.TemporaryDirectory() as tmp:
        txt = os.path.join(tmp, "text.txt")
        with open(txt, "w", encoding="utf-8") as f:
            f.write(TEXT)
        prefix = os.path.join(tmp, "spiece")
        spm.SentencePieceTrainer.train(input=txt, model_prefix=prefix, vocab_size=SPM_PIECES, model_type="unigram",
                                       character_coverage=1.0, pad_id=0, eos_id=1, unk_id=2, bos_id=-1,  # T5's ids
                                       pad_piece="<pad>", eos_piece="</s>", unk_piece="<unk>", seed_sentencepiece_size=1000,
                                       num_threads=1)
        shutil.copyfile(prefix + ".model", os.path.join(folder, "spiece.model"))


def tokenizer_golden(folder):
    sp = spm.SentencePieceProcessor(model_file=os.path.join(folder, "spiece.model"))
    n = sp.get_piece_size()
    texts = ["translate English to German: the cat sat on the mat", "the river  near   the house", "xyz quokka!",
             "translate English to German: <extra_id_0> the dog <extra_id_1>", ""]
    cases = []
    for text in texts:
        ids, pieces = [], []
        # T5Tokenizer: <extra_id_N> is one added token (id = pieces + EXTRA_IDS - 1 - N); the text between is sentencepiece's
        parts = []
        rest = text
        while "<extra_id_" in rest:
            i = rest.index("<extra_id_")
            j = rest.index(">", i)
            parts.append(("text", rest[:i]))
            parts.append(("extra", int(rest[i + 10:j])))
            rest = rest[j + 1:]
        parts.append(("text", rest))
        for kind, value in parts:
            if kind == "extra":
                ids.append(n + EXTRA_IDS - 1 - value)
                pieces.append(f"<extra_id_{value}>")
                continue
            if value.strip() == "":
                continue
            for p in sp.encode(value.strip(), out_type=str):
                ids.append(sp.piece_to_id(p))
                pieces.append(p)
        ids.append(1)
        pieces.append("</s>")
        cases.append({"text": text, "ids": ids, "pieces": pieces})
    write_json(os.path.join(folder, "tokenizer_golden.json"), {"pieces": n, "extra_ids": EXTRA_IDS, "cases": cases,
               "notes": "sentencepiece's own encoder (python3-sentencepiece) on each text between <extra_id_N> tokens, stripped; </s> (1) appended."})


def rnd(shape, std, mean=0.0):
    return (torch.randn(*shape, dtype=torch.float32) * std + mean).numpy()


def t5_weights(cfg, seed):
    torch.manual_seed(seed)
    d, V, H, dkv, ff = cfg["d_model"], cfg["vocab_size"], cfg["num_heads"], cfg["d_kv"], cfg["d_ff"]
    inner = H * dkv
    gated = cfg["feed_forward_proj"].startswith("gated-")
    shared = rnd((V, d), 1.0)
    w = {"shared.weight": shared, "encoder.embed_tokens.weight": shared.copy(), "decoder.embed_tokens.weight": shared.copy()}
    if not cfg["tie_word_embeddings"]:
        w["lm_head.weight"] = rnd((V, d), 0.3)
    else:
        w["lm_head.weight"] = shared.copy()

    def attn(p, rel):
        w[p + "q.weight"] = rnd((inner, d), 0.2)  # T5 does not scale the scores: keep them moderate
        w[p + "k.weight"] = rnd((inner, d), 0.2)
        w[p + "v.weight"] = rnd((inner, d), 0.3)
        w[p + "o.weight"] = rnd((d, inner), 0.3)
        if rel:
            w[p + "relative_attention_bias.weight"] = rnd((cfg["relative_attention_num_buckets"], H), 1.0)

    def mlp(p):
        if gated:
            w[p + "DenseReluDense.wi_0.weight"] = rnd((ff, d), 0.3)
            w[p + "DenseReluDense.wi_1.weight"] = rnd((ff, d), 0.3)
        else:
            w[p + "DenseReluDense.wi.weight"] = rnd((ff, d), 0.3)
        w[p + "DenseReluDense.wo.weight"] = rnd((d, ff), 0.3)
        w[p + "layer_norm.weight"] = rnd((d,), 0.1, 1.0)

    for l in range(cfg["num_layers"]):
        p = f"encoder.block.{l}.layer."
        attn(p + "0.SelfAttention.", l == 0)
        w[p + "0.layer_norm.weight"] = rnd((d,), 0.1, 1.0)
        mlp(p + "1.")
    w["encoder.final_layer_norm.weight"] = rnd((d,), 0.1, 1.0)
    for l in range(cfg["num_decoder_layers"]):
        p = f"decoder.block.{l}.layer."
        attn(p + "0.SelfAttention.", l == 0)
        w[p + "0.layer_norm.weight"] = rnd((d,), 0.1, 1.0)
        attn(p + "1.EncDecAttention.", False)
        w[p + "1.layer_norm.weight"] = rnd((d,), 0.1, 1.0)
        mlp(p + "2.")
    w["decoder.final_layer_norm.weight"] = rnd((d,), 0.1, 1.0)
    return w


# ---------------------------------------------------------------------------------------------------------------------
# Reference (HF T5 semantics, written with torch operations)
# ---------------------------------------------------------------------------------------------------------------------

def T(a):
    return torch.from_numpy(np.array(a, dtype=np.float32))


def relative_position_bucket(relative_position, bidirectional, num_buckets, max_distance):
    buckets = torch.zeros_like(relative_position)
    if bidirectional:
        num_buckets //= 2
        buckets += (relative_position > 0).to(torch.long) * num_buckets
        relative_position = torch.abs(relative_position)
    else:
        relative_position = -torch.min(relative_position, torch.zeros_like(relative_position))
    max_exact = num_buckets // 2
    is_small = relative_position < max_exact
    large = max_exact + (torch.log(relative_position.float() / max_exact) / math.log(max_distance / max_exact)
                         * (num_buckets - max_exact)).to(torch.long)
    large = torch.min(large, torch.full_like(large, num_buckets - 1))
    return buckets + torch.where(is_small, relative_position, large)


def position_bias(table, q_len, k_len, bidirectional, cfg):
    ctx = torch.arange(q_len, dtype=torch.long)[:, None]
    mem = torch.arange(k_len, dtype=torch.long)[None, :]
    b = relative_position_bucket(mem - ctx, bidirectional, cfg["relative_attention_num_buckets"], cfg["relative_attention_max_distance"])
    return T(table)[b].permute(2, 0, 1)  # [H, q, k]


def rms(x, g, eps):
    var = x.pow(2).mean(-1, keepdim=True)
    return T(g) * (x * torch.rsqrt(var + eps))


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def attention(w, p, q_in, kv_in, H, dkv, bias):
    """T5Attention: no 1/sqrt(d) scaling; the bias (position bias and mask) added to the scores."""
    q = (q_in @ T(w[p + "q.weight"]).T).view(-1, H, dkv).transpose(0, 1)
    k = (kv_in @ T(w[p + "k.weight"]).T).view(-1, H, dkv).transpose(0, 1)
    v = (kv_in @ T(w[p + "v.weight"]).T).view(-1, H, dkv).transpose(0, 1)
    scores = q @ k.transpose(1, 2)
    if bias is not None:
        scores = scores + bias
    probs = torch.softmax(scores.float(), dim=-1)
    ctx = (probs @ v).transpose(0, 1).reshape(q_in.shape[0], H * dkv)
    return ctx @ T(w[p + "o.weight"]).T, probs


def mlp(w, p, x, cfg):
    if cfg["feed_forward_proj"] == "relu":
        h = torch.relu(x @ T(w[p + "DenseReluDense.wi.weight"]).T)
    else:
        h = gelu_new(x @ T(w[p + "DenseReluDense.wi_0.weight"]).T) * (x @ T(w[p + "DenseReluDense.wi_1.weight"]).T)
    return h @ T(w[p + "DenseReluDense.wo.weight"]).T


def encode(w, cfg, src):
    H, dkv, eps = cfg["num_heads"], cfg["d_kv"], cfg["layer_norm_epsilon"]
    x = T(w["shared.weight"])[torch.tensor(src)]
    bias = position_bias(w["encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"], len(src), len(src), True, cfg)
    atts = []
    for l in range(cfg["num_layers"]):
        p = f"encoder.block.{l}.layer."
        a, probs = attention(w, p + "0.SelfAttention.", rms(x, w[p + "0.layer_norm.weight"], eps), rms(x, w[p + "0.layer_norm.weight"], eps), H, dkv, bias)
        x = x + a
        x = x + mlp(w, p + "1.", rms(x, w[p + "1.layer_norm.weight"], eps), cfg)
        atts.append(probs)
    return rms(x, w["encoder.final_layer_norm.weight"], eps), atts, bias


def decode(w, cfg, ids, enc):
    H, dkv, eps = cfg["num_heads"], cfg["d_kv"], cfg["layer_norm_epsilon"]
    n = len(ids)
    x = T(w["shared.weight"])[torch.tensor(ids)]
    bias = position_bias(w["decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"], n, n, False, cfg)
    mask = torch.triu(torch.full((n, n), torch.finfo(torch.float32).min), diagonal=1)  # HF's extended causal mask
    selfs, crosses = [], []
    for l in range(cfg["num_decoder_layers"]):
        p = f"decoder.block.{l}.layer."
        h = rms(x, w[p + "0.layer_norm.weight"], eps)
        a, sp = attention(w, p + "0.SelfAttention.", h, h, H, dkv, bias + mask)
        x = x + a
        c, cp = attention(w, p + "1.EncDecAttention.", rms(x, w[p + "1.layer_norm.weight"], eps), enc, H, dkv, None)
        x = x + c
        x = x + mlp(w, p + "2.", rms(x, w[p + "2.layer_norm.weight"], eps), cfg)
        selfs.append(sp)
        crosses.append(cp)
    out = rms(x, w["decoder.final_layer_norm.weight"], eps)
    if cfg["tie_word_embeddings"]:
        logits = (out * cfg["d_model"] ** -0.5) @ T(w["shared.weight"]).T
    else:
        logits = out @ T(w["lm_head.weight"]).T
    return out, logits, selfs, crosses


def build(name, cfg, src, dec_in, seeds, tokenizer_config=None):
    folder = os.path.join(HERE, name)
    os.makedirs(folder, exist_ok=True)
    train_spm(folder)
    tokenizer_golden(folder)
    best = None
    for seed in seeds:  # the first seed whose greedy steps all win by a clear margin
        w = t5_weights(cfg, seed)
        with torch.no_grad():
            enc, _, _ = encode(w, cfg, src)
            ids, margins, gen_logits = [cfg["decoder_start_token_id"]], [], []
            for _ in range(NEW_TOKENS):
                _, lg, _, _ = decode(w, cfg, ids, enc)
                row = lg[-1]
                top = torch.topk(row, 2).values
                margins.append(float(top[0] - top[1]))
                gen_logits.append(row.numpy())
                ids.append(int(torch.argmax(row)))
        if min(margins) > 0.05 and len(set(ids[1:])) >= 4:
            best = (seed, w, ids[1:], min(margins), np.stack(gen_logits))
            break
    assert best is not None, "no seed gave a clear greedy decoding"
    seed, w, generated, margin, gen_logits = best
    with torch.no_grad():
        enc, enc_att, enc_bias = encode(w, cfg, src)
        out, logits, selfs, crosses = decode(w, cfg, dec_in, enc)
    g = {"encoder_out": enc.numpy(), "decoder_out": out.numpy(), "logits": logits.numpy(), "gen_logits": gen_logits,
         "encoder_position_bias": enc_bias.numpy()}
    for l, a in enumerate(enc_att):
        g[f"encoder_attention.{l}"] = a.numpy()
    for l, a in enumerate(selfs):
        g[f"decoder_attention.{l}"] = a.numpy()
    for l, a in enumerate(crosses):
        g[f"cross_attention.{l}"] = a.numpy()
    if tokenizer_config is not None:
        write_json(os.path.join(folder, "tokenizer_config.json"), tokenizer_config)
    write_safetensors(os.path.join(folder, "model.safetensors"), w)
    write_safetensors(os.path.join(folder, "golden.safetensors"), g)
    with open(os.path.join(folder, "config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    write_json(os.path.join(folder, "golden.json"), {
        "model": name, "seed": seed, "source_ids": src, "decoder_input_ids": dec_in, "generated_ids": generated,
        "notes": f"Reference computed by make_t5_goldens.py with PyTorch {torch.__version__} tensor operations in float32 on CPU, "
                 "following Hugging Face's T5ForConditionalGeneration: embeddings shared[id] (no scaling, no position embedding); "
                 "pre-norm blocks with T5LayerNorm (x * rsqrt(mean(x^2) + eps) * weight, no bias); attention softmax(q k^T + bias) "
                 "without 1/sqrt(d) scaling, q/k/v/o without biases; the encoder's bias is block 0's relative_attention_bias table "
                 "at the bidirectional bucket of (key - query), the decoder's at the unidirectional bucket plus the causal mask; "
                 "cross-attention has no bias; a final T5LayerNorm per stack; logits = (decoder_out * d_model^-0.5) . shared^T "
                 "when tie_word_embeddings, else decoder_out . lm_head^T. decoder_out is after the final norm, before any scaling. "
                 "Generation: greedy argmax, 8 tokens from decoder_start_token_id over the same encoder output, each step "
                 "recomputing the whole prefix without a cache and without stopping at EOS; gen_logits[s] is the last row of "
                 f"the pass over [start] + generated_ids[:s]. Smallest top-1 minus top-2 margin: {margin:.4f}. "
                 "encoder_position_bias [heads, S, S] is the encoder's bias matrix."})


BASE = {
    "architectures": ["T5ForConditionalGeneration"], "is_encoder_decoder": True,
    "d_model": 32, "num_layers": 2, "num_decoder_layers": 2, "num_heads": 4,
    "relative_attention_num_buckets": 8, "relative_attention_max_distance": 20, "layer_norm_epsilon": 1e-6,
    "dropout_rate": 0.0, "pad_token_id": 0, "eos_token_id": 1, "decoder_start_token_id": 0, "n_positions": 512,
    "initializer_factor": 1.0, "torch_dtype": "float32",
}
SRC = [7, 15, 22, 9, 31, 4, 18, 27, 12, 5, 40, 33, 11, 1]   # ends with </s> (1); 14 tokens: past the exact buckets
DEC_IN = [0, 13, 8, 25, 36, 19, 10, 21, 6, 30]             # decoder start (pad 0), then targets: 10 tokens

if __name__ == "__main__":
    build("tiny-t5", dict(BASE, model_type="t5", vocab_size=SPM_PIECES + EXTRA_IDS, d_kv=8, d_ff=64,
                          feed_forward_proj="relu", tie_word_embeddings=True), SRC, DEC_IN, range(100, 200))
    build("tiny-t5-gated", dict(BASE, model_type="mt5", vocab_size=72, d_kv=6, d_ff=48, num_decoder_layers=3,
                                feed_forward_proj="gated-gelu", tie_word_embeddings=False), SRC, DEC_IN, range(300, 400),
          # vocab_size is padded past the tokenizer: the sentinel count comes from tokenizer_config.json, as in real checkpoints
          tokenizer_config={"extra_ids": EXTRA_IDS, "model_max_length": 512})
