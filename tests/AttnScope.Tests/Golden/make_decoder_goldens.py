#!/usr/bin/python3
"""Writes the decoder golden folders (tiny GPT-2, Llama, Llama-3 rope, Qwen2, Mistral).

Each folder holds a Hugging Face-format model (config.json, model.safetensors, tokenizer files)
with small random weights, and the reference outputs of that model (golden.safetensors,
golden.json) computed here with PyTorch's own modules, following the Hugging Face
transformers semantics of each family.  The C# engine is tested against these files; nothing
here uses the C# engine.

Run from the repository root:
    /usr/bin/python3 tests/AttnScope.Tests/Golden/make_decoder_goldens.py

Needs only Debian's python3-torch and python3-numpy. Output is deterministic (fixed seeds,
float32, CPU, fixed JSON key order), so a rerun rewrites identical bytes.
"""

import json
import math
import os
import re
import struct
import sys
from collections import Counter

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
VOCAB = 300
PROMPT_LEN = 12
NEW_TOKENS = 6

torch.set_num_threads(1)  # one thread: the same reduction order on every run
torch.use_deterministic_algorithms(True)

# --------------------------------------------------------------------------------------------
# safetensors (written and read with numpy; the format is an 8-byte little-endian header
# length, a JSON header, then the raw little-endian tensor bytes)
# --------------------------------------------------------------------------------------------


def write_safetensors(path, tensors):
    """tensors: dict name -> float32 numpy array. Names are written in sorted order."""
    header = {"__metadata__": {"format": "pt"}}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        arr = np.ascontiguousarray(tensors[name], dtype="<f4")
        raw = arr.tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    head += b" " * ((8 - len(head) % 8) % 8)  # pad with spaces to 8-byte alignment, as HF does
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for raw in blobs:
            f.write(raw)


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", name
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(data[base + a:base + b], dtype="<f4").reshape(info["shape"]).copy()
    return out


def write_json(path, obj):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


# --------------------------------------------------------------------------------------------
# Tokenizers
# --------------------------------------------------------------------------------------------

CORPUS = [
    "the cat sat on the mat and the dog sat on the rug",
    "a model reads the text and then it writes the next word",
    "attention tells us which words the model looks at when it reads",
    "the quick brown fox jumps over the lazy dog near the river bank",
    "in the morning the sun rises and the birds sing in the trees",
    "she sells sea shells on the sea shore and the shells are small",
    "there is a tree in the park where the children play after school",
    "the engine computes the attention of every head in every layer",
    "he said that the answer is in the book on the table",
    "we read the story and then we wrote a letter to the teacher",
    "the weather is nice today so we will walk to the station",
    "this is the house that the man built with his own hands",
]


def bytes_to_unicode():
    """GPT-2's reversible byte -> printable unicode character table (re-derived here)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    order = list(printable)
    chars = list(printable)
    extra = 0
    for b in range(256):
        if b not in printable:
            order.append(b)
            chars.append(256 + extra)
            extra += 1
    return {b: chr(c) for b, c in zip(order, chars)}, order


# GPT-2's pre-tokenizer pattern, restricted to ASCII letters/digits (the corpus and prompts are
# ASCII, where it splits exactly as the \p{L} / \p{N} original does).
GPT2_SPLIT = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+""")


def apply_merges(symbols, ranks):
    """Classic BPE: repeatedly merge the adjacent pair with the lowest merge rank."""
    symbols = list(symbols)
    while len(symbols) > 1:
        best = None
        for i in range(len(symbols) - 1):
            r = ranks.get((symbols[i], symbols[i + 1]))
            if r is not None and (best is None or r < best[0]):
                best = (r, i)
        if best is None:
            break
        _, i = best
        symbols[i:i + 2] = [symbols[i] + symbols[i + 1]]
    return symbols


def learn_merges(words, n_merges, allowed):
    """Tiny BPE trainer. words: Counter of tuples of symbols; pairs touching a symbol not in
    `allowed` are never merged. Ties are broken by the pair itself (deterministic)."""
    words = {tuple(w): c for w, c in words.items()}
    merges = []
    for _ in range(n_merges):
        pairs = Counter()
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                if a in allowed and b in allowed:
                    pairs[(a, b)] += c
        if not pairs:
            break
        best = sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
        merges.append(best)
        allowed = allowed | {best[0] + best[1]}
        new_words = {}
        for w, c in words.items():
            out = []
            i = 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1])
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            new_words[tuple(out)] = new_words.get(tuple(out), 0) + c
        words = new_words
    return merges


class ByteLevelBpe:
    """GPT-2 style byte-level BPE: 256 byte symbols, learned merges, <|endoftext|> last."""

    EOT = "<|endoftext|>"

    def __init__(self):
        self.b2u, order = bytes_to_unicode()
        n_merges = VOCAB - 256 - 1
        words = Counter()
        for line in CORPUS:
            for piece in GPT2_SPLIT.findall(line):
                words[tuple(self.b2u[b] for b in piece.encode("utf-8"))] += 1
        self.merges = learn_merges(words, n_merges, set(self.b2u.values()))
        assert len(self.merges) == n_merges
        self.vocab = {}
        for b in order:
            self.vocab[self.b2u[b]] = len(self.vocab)
        for a, b in self.merges:
            self.vocab[a + b] = len(self.vocab)
        self.eot_id = len(self.vocab)
        self.vocab[self.EOT] = self.eot_id
        assert len(self.vocab) == VOCAB
        self.ranks = {m: i for i, m in enumerate(self.merges)}
        self.id_to_token = {i: t for t, i in self.vocab.items()}

    def encode(self, text):
        ids = []
        for piece in GPT2_SPLIT.findall(text):
            syms = apply_merges([self.b2u[b] for b in piece.encode("utf-8")], self.ranks)
            ids.extend(self.vocab[s] for s in syms)
        return ids

    def decode(self, ids):
        u2b = {u: b for b, u in self.b2u.items()}
        out = bytearray()
        for i in ids:
            tok = self.id_to_token[i]
            if tok == self.EOT:
                out.extend(tok.encode("utf-8"))
            else:
                out.extend(u2b[c] for c in tok)
        return out.decode("utf-8", errors="replace")

    def write(self, folder, tokenizer_class):
        merges_str = [f"{a} {b}" for a, b in self.merges]
        tok = {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": [{"id": self.eot_id, "content": self.EOT, "single_word": False, "lstrip": False,
                              "rstrip": False, "normalized": True, "special": True}],
            "normalizer": None,
            "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                              "use_regex": True},
            "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False,
                               "use_regex": True},
            "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
            "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                      "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False,
                      "vocab": self.vocab, "merges": merges_str},
        }
        write_json(os.path.join(folder, "tokenizer.json"), tok)
        write_json(os.path.join(folder, "vocab.json"), self.vocab)
        with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8", newline="\n") as f:
            f.write("#version: 0.2\n")
            for m in merges_str:
                f.write(m + "\n")
        write_json(os.path.join(folder, "tokenizer_config.json"), {
            "add_bos_token": False,
            "add_prefix_space": False,
            "bos_token": self.EOT,
            "eos_token": self.EOT,
            "unk_token": self.EOT,
            "model_max_length": 64,
            "tokenizer_class": tokenizer_class,
        })


class SentencePieceBpe:
    """Llama-2 style tokenizer.json: <unk>,<s>,</s> = 0,1,2, byte tokens <0x00>..<0xFF> = 3..258,
    then "▁", a small alphabet of single letters and learned merges (300 entries in all).
    Characters outside the vocabulary fall back to their UTF-8 byte tokens."""

    SPACE = "\u2581"
    N_LETTERS = 16

    def __init__(self):
        letters = Counter(c for line in CORPUS for c in line if c != " ")
        alphabet = [c for c, _ in sorted(letters.items(), key=lambda kv: (-kv[1], kv[0]))[:self.N_LETTERS]]
        self.vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
        for b in range(256):
            self.vocab[f"<0x{b:02X}>"] = len(self.vocab)
        self.vocab[self.SPACE] = len(self.vocab)
        for c in alphabet:
            self.vocab[c] = len(self.vocab)
        n_merges = VOCAB - len(self.vocab)
        words = Counter()
        for line in CORPUS:
            for w in line.split(" "):
                words[tuple(self.SPACE + w)] += 1
        self.merges = learn_merges(words, n_merges, set([self.SPACE] + alphabet))
        assert len(self.merges) == n_merges
        for a, b in self.merges:
            assert a + b not in self.vocab
            self.vocab[a + b] = len(self.vocab)
        assert len(self.vocab) == VOCAB
        self.ranks = {m: i for i, m in enumerate(self.merges)}
        self.id_to_token = {i: t for t, i in self.vocab.items()}

    def normalize(self, text):
        return self.SPACE + text.replace(" ", self.SPACE) if text else text

    def encode(self, text, add_bos=True):
        # With no pre-tokenizer the whole normalized text is one BPE word; byte-fallback pieces
        # never take part in merges.
        syms = []
        for c in self.normalize(text):
            if c in self.vocab:
                syms.append(c)
            else:
                syms.extend(f"<0x{b:02X}>" for b in c.encode("utf-8"))
        syms = apply_merges(syms, self.ranks)
        return ([1] if add_bos else []) + [self.vocab[s] for s in syms]

    def write(self, folder, tokenizer_class):
        added = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                  "normalized": False, "special": True} for t, i in (("<unk>", 0), ("<s>", 1), ("</s>", 2))]
        tok = {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": added,
            "normalizer": {"type": "Sequence", "normalizers": [
                {"type": "Prepend", "prepend": self.SPACE},
                {"type": "Replace", "pattern": {"String": " "}, "content": self.SPACE}]},
            "pre_tokenizer": None,
            "post_processor": {
                "type": "TemplateProcessing",
                "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                         {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
                "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
            "decoder": {"type": "Sequence", "decoders": [
                {"type": "Replace", "pattern": {"String": self.SPACE}, "content": " "},
                {"type": "ByteFallback"},
                {"type": "Fuse"},
                {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
            "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                      "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True,
                      "vocab": self.vocab, "merges": [f"{a} {b}" for a, b in self.merges]},
        }
        write_json(os.path.join(folder, "tokenizer.json"), tok)
        write_json(os.path.join(folder, "tokenizer_config.json"), {
            "add_bos_token": True,
            "add_eos_token": False,
            "bos_token": "<s>",
            "eos_token": "</s>",
            "unk_token": "<unk>",
            "legacy": True,
            "model_max_length": 64,
            "tokenizer_class": tokenizer_class,
        })


# --------------------------------------------------------------------------------------------
# Random weights with HF names
# --------------------------------------------------------------------------------------------


def rnd(shape, std, mean=0.0):
    return (torch.randn(*shape, dtype=torch.float32) * std + mean).numpy()


def gpt2_weights(cfg, seed):
    torch.manual_seed(seed)
    d, V, P, L = cfg["n_embd"], cfg["vocab_size"], cfg["n_positions"], cfg["n_layer"]
    w = {"transformer.wte.weight": rnd((V, d), 0.2), "transformer.wpe.weight": rnd((P, d), 0.1)}
    for l in range(L):
        p = f"transformer.h.{l}."
        c_attn = rnd((d, 3 * d), 0.1)          # Conv1D: [in, out], columns = q | k | v
        c_attn[:, :2 * d] *= 2.5                # q and k larger: peaky attention rows
        w[p + "ln_1.weight"] = rnd((d,), 0.1, 1.0)
        w[p + "ln_1.bias"] = rnd((d,), 0.05)
        w[p + "attn.c_attn.weight"] = c_attn
        w[p + "attn.c_attn.bias"] = rnd((3 * d,), 0.05)
        w[p + "attn.c_proj.weight"] = rnd((d, d), 0.1)
        w[p + "attn.c_proj.bias"] = rnd((d,), 0.05)
        w[p + "ln_2.weight"] = rnd((d,), 0.1, 1.0)
        w[p + "ln_2.bias"] = rnd((d,), 0.05)
        w[p + "mlp.c_fc.weight"] = rnd((d, 4 * d), 0.1)
        w[p + "mlp.c_fc.bias"] = rnd((4 * d,), 0.05)
        w[p + "mlp.c_proj.weight"] = rnd((4 * d, d), 0.1)
        w[p + "mlp.c_proj.bias"] = rnd((d,), 0.05)
    w["transformer.ln_f.weight"] = rnd((d,), 0.1, 1.0)
    w["transformer.ln_f.bias"] = rnd((d,), 0.05)
    return w


def llama_weights(cfg, seed, qkv_bias):
    torch.manual_seed(seed)
    d, V, L = cfg["hidden_size"], cfg["vocab_size"], cfg["num_hidden_layers"]
    H, KV = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    dh = cfg.get("head_dim") or d // H
    I = cfg["intermediate_size"]
    w = {"model.embed_tokens.weight": rnd((V, d), 0.2)}
    for l in range(L):
        p = f"model.layers.{l}."
        w[p + "input_layernorm.weight"] = rnd((d,), 0.1, 1.0)
        w[p + "self_attn.q_proj.weight"] = rnd((H * dh, d), 0.25)   # nn.Linear: [out, in]
        w[p + "self_attn.k_proj.weight"] = rnd((KV * dh, d), 0.25)
        w[p + "self_attn.v_proj.weight"] = rnd((KV * dh, d), 0.1)
        w[p + "self_attn.o_proj.weight"] = rnd((d, H * dh), 0.1)
        if qkv_bias:
            w[p + "self_attn.q_proj.bias"] = rnd((H * dh,), 0.1)
            w[p + "self_attn.k_proj.bias"] = rnd((KV * dh,), 0.1)
            w[p + "self_attn.v_proj.bias"] = rnd((KV * dh,), 0.1)
        w[p + "post_attention_layernorm.weight"] = rnd((d,), 0.1, 1.0)
        w[p + "mlp.gate_proj.weight"] = rnd((I, d), 0.1)
        w[p + "mlp.up_proj.weight"] = rnd((I, d), 0.1)
        w[p + "mlp.down_proj.weight"] = rnd((d, I), 0.1)
    w["model.norm.weight"] = rnd((d,), 0.1, 1.0)
    if not cfg["tie_word_embeddings"]:
        w["lm_head.weight"] = rnd((V, d), 0.2)
    return w


# --------------------------------------------------------------------------------------------
# Reference models (PyTorch modules, HF semantics)
# --------------------------------------------------------------------------------------------


def t(a):
    return torch.from_numpy(np.array(a, dtype=np.float32))


class Gpt2Block(nn.Module):
    """Pre-LN GPT-2 block. Attention goes through torch.nn.MultiheadAttention; the HF Conv1D
    weights ([in, out]) are transposed into its [out, in] in_proj / out_proj."""

    def __init__(self, w, p, d, H, eps):
        super().__init__()
        self.H, self.d = H, d
        self.ln_1 = nn.LayerNorm(d, eps=eps)
        self.ln_2 = nn.LayerNorm(d, eps=eps)
        self.attn = nn.MultiheadAttention(d, H, bias=True, batch_first=True)
        self.c_fc = nn.Linear(d, 4 * d)
        self.c_proj = nn.Linear(4 * d, d)
        with torch.no_grad():
            self.ln_1.weight.copy_(t(w[p + "ln_1.weight"]))
            self.ln_1.bias.copy_(t(w[p + "ln_1.bias"]))
            self.ln_2.weight.copy_(t(w[p + "ln_2.weight"]))
            self.ln_2.bias.copy_(t(w[p + "ln_2.bias"]))
            self.attn.in_proj_weight.copy_(t(w[p + "attn.c_attn.weight"]).T)
            self.attn.in_proj_bias.copy_(t(w[p + "attn.c_attn.bias"]))
            self.attn.out_proj.weight.copy_(t(w[p + "attn.c_proj.weight"]).T)
            self.attn.out_proj.bias.copy_(t(w[p + "attn.c_proj.bias"]))
            self.c_fc.weight.copy_(t(w[p + "mlp.c_fc.weight"]).T)
            self.c_fc.bias.copy_(t(w[p + "mlp.c_fc.bias"]))
            self.c_proj.weight.copy_(t(w[p + "mlp.c_proj.weight"]).T)
            self.c_proj.bias.copy_(t(w[p + "mlp.c_proj.bias"]))

    def forward(self, x):
        T, d, H = x.shape[0], self.d, self.H
        dh = d // H
        a = self.ln_1(x)
        causal = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)  # True = masked
        out, weights = self.attn(a[None], a[None], a[None], attn_mask=causal,
                                 need_weights=True, average_attn_weights=False)
        # q/k/v projections (for the golden file): the same in_proj the module uses
        qkv = F.linear(a, self.attn.in_proj_weight, self.attn.in_proj_bias)
        q, k, v = (qkv[:, i * d:(i + 1) * d].reshape(T, H, dh).transpose(0, 1) for i in range(3))
        h = x + out[0]
        m = self.c_proj(F.gelu(self.c_fc(self.ln_2(h)), approximate="tanh"))
        h = h + m
        return h, {"attention": weights[0], "q": q, "k": k, "v": v}


class Gpt2Ref(nn.Module):
    def __init__(self, cfg, w):
        super().__init__()
        d = cfg["n_embd"]
        pre = "transformer."
        self.wte = nn.Embedding(cfg["vocab_size"], d)
        self.wpe = nn.Embedding(cfg["n_positions"], d)
        self.blocks = nn.ModuleList([Gpt2Block(w, f"{pre}h.{l}.", d, cfg["n_head"], cfg["layer_norm_epsilon"])
                                     for l in range(cfg["n_layer"])])
        self.ln_f = nn.LayerNorm(d, eps=cfg["layer_norm_epsilon"])
        with torch.no_grad():
            self.wte.weight.copy_(t(w[pre + "wte.weight"]))
            self.wpe.weight.copy_(t(w[pre + "wpe.weight"]))
            self.ln_f.weight.copy_(t(w[pre + "ln_f.weight"]))
            self.ln_f.bias.copy_(t(w[pre + "ln_f.bias"]))

    def forward(self, ids):
        ids = torch.tensor(ids, dtype=torch.long)
        T = ids.shape[0]
        x = self.wte(ids) + self.wpe(torch.arange(T))
        caps = {"embed": x}
        for l, blk in enumerate(self.blocks):
            x, c = blk(x)
            for k, v in c.items():
                caps[f"{k}.{l}"] = v
            caps[f"resid_post.{l}"] = x
        n = self.ln_f(x)
        caps["final_norm"] = n
        caps["logits"] = F.linear(n, self.wte.weight)  # tied lm head
        return caps


class RmsNorm(nn.Module):
    """HF LlamaRMSNorm: x * rsqrt(mean(x^2) + eps) in float32, times weight."""

    def __init__(self, weight, eps):
        super().__init__()
        self.weight = nn.Parameter(t(weight))
        self.eps = eps

    def forward(self, x):
        x32 = x.to(torch.float32)
        var = x32.pow(2).mean(-1, keepdim=True)
        return self.weight * (x32 * torch.rsqrt(var + self.eps)).to(x.dtype)


def rope_inv_freq(cfg, dh):
    base = float(cfg["rope_theta"])
    inv_freq = 1.0 / (base ** (torch.arange(0, dh, 2, dtype=torch.int64).to(torch.float32) / dh))
    rs = cfg.get("rope_scaling")
    if rs is None:
        return inv_freq
    assert rs["rope_type"] == "llama3"
    factor = rs["factor"]
    low, high = rs["low_freq_factor"], rs["high_freq_factor"]
    old_ctx = rs["original_max_position_embeddings"]
    low_wavelen = old_ctx / low    # wavelengths longer than this: divide the frequency by factor
    high_wavelen = old_ctx / high  # wavelengths shorter than this: keep the frequency
    wavelen = 2 * math.pi / inv_freq
    scaled = torch.where(wavelen > low_wavelen, inv_freq / factor, inv_freq)
    # in between: blend inv_freq/factor and inv_freq by how many original contexts fit a wavelength
    smooth = (old_ctx / wavelen - low) / (high - low)
    blended = (1 - smooth) * scaled / factor + smooth * scaled
    medium = (wavelen >= high_wavelen) & (wavelen <= low_wavelen)
    return torch.where(medium, blended, scaled)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class LlamaBlock(nn.Module):
    """Llama / Qwen2 / Mistral decoder layer with explicit GQA attention (HF eager semantics)."""

    def __init__(self, cfg, w, p):
        super().__init__()
        d = cfg["hidden_size"]
        self.H, self.KV = cfg["num_attention_heads"], cfg["num_key_value_heads"]
        self.dh = cfg.get("head_dim") or d // self.H
        bias = (p + "self_attn.q_proj.bias") in w
        self.input_layernorm = RmsNorm(w[p + "input_layernorm.weight"], cfg["rms_norm_eps"])
        self.post_attention_layernorm = RmsNorm(w[p + "post_attention_layernorm.weight"], cfg["rms_norm_eps"])
        self.q_proj = nn.Linear(d, self.H * self.dh, bias=bias)
        self.k_proj = nn.Linear(d, self.KV * self.dh, bias=bias)
        self.v_proj = nn.Linear(d, self.KV * self.dh, bias=bias)
        self.o_proj = nn.Linear(self.H * self.dh, d, bias=False)
        self.gate_proj = nn.Linear(d, cfg["intermediate_size"], bias=False)
        self.up_proj = nn.Linear(d, cfg["intermediate_size"], bias=False)
        self.down_proj = nn.Linear(cfg["intermediate_size"], d, bias=False)
        with torch.no_grad():
            for n in ("q_proj", "k_proj", "v_proj", "o_proj"):
                getattr(self, n).weight.copy_(t(w[p + f"self_attn.{n}.weight"]))
                if bias and n != "o_proj":
                    getattr(self, n).bias.copy_(t(w[p + f"self_attn.{n}.bias"]))
            for n in ("gate_proj", "up_proj", "down_proj"):
                getattr(self, n).weight.copy_(t(w[p + f"mlp.{n}.weight"]))
        self.window = cfg.get("sliding_window") if cfg.get("use_sliding_window", True) else None

    def forward(self, x, cos, sin):
        T, H, KV, dh = x.shape[0], self.H, self.KV, self.dh
        a = self.input_layernorm(x)
        q = self.q_proj(a).view(T, H, dh).transpose(0, 1)     # [H, T, dh]
        k = self.k_proj(a).view(T, KV, dh).transpose(0, 1)    # [KV, T, dh]
        v = self.v_proj(a).view(T, KV, dh).transpose(0, 1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = H // KV
        k_rep = k.repeat_interleave(rep, dim=0)  # query head h reads kv head h // rep
        v_rep = v.repeat_interleave(rep, dim=0)
        scores = torch.matmul(q, k_rep.transpose(1, 2)) * (dh ** -0.5)
        i = torch.arange(T)[:, None]
        j = torch.arange(T)[None, :]
        allowed = j <= i
        if self.window is not None:
            allowed = allowed & (j > i - self.window)
        scores = scores.masked_fill(~allowed, float("-inf"))
        probs = F.softmax(scores, dim=-1, dtype=torch.float32)
        o = torch.matmul(probs, v_rep).transpose(0, 1).reshape(T, H * dh)
        h = x + self.o_proj(o)
        n = self.post_attention_layernorm(h)
        h = h + self.down_proj(F.silu(self.gate_proj(n)) * self.up_proj(n))
        return h, {"attention": probs, "q": q, "k": k, "v": v}


class LlamaRef(nn.Module):
    def __init__(self, cfg, w):
        super().__init__()
        d = cfg["hidden_size"]
        self.dh = cfg.get("head_dim") or d // cfg["num_attention_heads"]
        self.embed = nn.Embedding(cfg["vocab_size"], d)
        self.layers = nn.ModuleList([LlamaBlock(cfg, w, f"model.layers.{l}.") for l in range(cfg["num_hidden_layers"])])
        self.norm = RmsNorm(w["model.norm.weight"], cfg["rms_norm_eps"])
        self.lm_head = nn.Linear(d, cfg["vocab_size"], bias=False)
        with torch.no_grad():
            self.embed.weight.copy_(t(w["model.embed_tokens.weight"]))
            head = w["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else w["lm_head.weight"]
            self.lm_head.weight.copy_(t(head))
        self.inv_freq = rope_inv_freq(cfg, self.dh)

    def forward(self, ids):
        ids = torch.tensor(ids, dtype=torch.long)
        T = ids.shape[0]
        pos = torch.arange(T, dtype=torch.float32)
        freqs = pos[:, None] * self.inv_freq[None, :]          # [T, dh/2]
        emb = torch.cat((freqs, freqs), dim=-1)                 # [T, dh]
        cos, sin = emb.cos(), emb.sin()
        x = self.embed(ids)
        caps = {"embed": x}
        for l, layer in enumerate(self.layers):
            x, c = layer(x, cos, sin)
            for k, v in c.items():
                caps[f"{k}.{l}"] = v
            caps[f"resid_post.{l}"] = x
        n = self.norm(x)
        caps["final_norm"] = n
        caps["logits"] = self.lm_head(n)
        return caps


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------

GPT2_PROMPT = "the cat sat on the mat and we read"
LLAMA_PROMPT = "The cat sat on it"


def gpt2_config():
    return {
        "architectures": ["GPT2LMHeadModel"],
        "model_type": "gpt2",
        "vocab_size": VOCAB,
        "n_embd": 64,
        "n_layer": 2,
        "n_head": 4,
        "n_inner": None,
        "n_positions": 64,
        "n_ctx": 64,
        "activation_function": "gelu_new",
        "layer_norm_epsilon": 1e-5,
        "scale_attn_weights": True,
        "tie_word_embeddings": True,
        "bos_token_id": VOCAB - 1,
        "eos_token_id": VOCAB - 1,
        "torch_dtype": "float32",
    }


def llama_like_config(model_type, arch, **over):
    cfg = {
        "architectures": [arch],
        "model_type": model_type,
        "vocab_size": VOCAB,
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "head_dim": 16,
        "hidden_act": "silu",
        "max_position_embeddings": 128,
        "rms_norm_eps": 1e-6,
        "rope_theta": 10000.0,
        "rope_scaling": None,
        "attention_bias": False,
        "attention_dropout": 0.0,
        "mlp_bias": False,
        "tie_word_embeddings": False,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "torch_dtype": "float32",
    }
    cfg.update(over)
    return {k: v for k, v in cfg.items() if v is not _DROP}


_DROP = object()


def model_specs():
    return [
        {"name": "tiny-gpt2", "family": "gpt2", "seed": 1001, "config": gpt2_config()},
        {"name": "tiny-llama", "family": "llama", "seed": 2002,
         "config": llama_like_config("llama", "LlamaForCausalLM")},
        {"name": "tiny-llama3-rope", "family": "llama", "seed": 3003,
         "config": llama_like_config("llama", "LlamaForCausalLM", max_position_embeddings=64, rope_theta=500000.0,
                                     rope_scaling={"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                                   "original_max_position_embeddings": 16,
                                                   "rope_type": "llama3"})},
        {"name": "tiny-qwen2", "family": "qwen2", "seed": 4004,
         "config": llama_like_config("qwen2", "Qwen2ForCausalLM", num_key_value_heads=1, head_dim=_DROP,
                                     attention_bias=_DROP, mlp_bias=_DROP, rope_theta=1000000.0,
                                     tie_word_embeddings=True, bos_token_id=VOCAB - 1, eos_token_id=VOCAB - 1,
                                     use_sliding_window=False, sliding_window=4, max_window_layers=2)},
        {"name": "tiny-mistral", "family": "mistral", "seed": 5005,
         "config": llama_like_config("mistral", "MistralForCausalLM", attention_bias=_DROP, mlp_bias=_DROP,
                                     sliding_window=4)},
    ]


GOLDEN_NOTES = (
    "Reference computed by make_decoder_goldens.py with PyTorch {torch} modules in float32 on CPU, following "
    "the Hugging Face transformers semantics of model_type '{mt}'. input_ids is the prompt (T={T}). "
    "golden.safetensors: attention.{{l}} [heads,T,T] post-softmax (exact zeros where masked), q.{{l}} "
    "[heads,T,head_dim]{qnote}, k.{{l}} [kv_heads,T,head_dim]{knote}, v.{{l}} [kv_heads,T,head_dim], "
    "resid_post.{{l}} [T,d] residual stream after block l, embed [T,d] ({embnote}), final_norm [T,d], "
    "logits [T,vocab]. Generation: greedy argmax, {N} new tokens, each step recomputing the full sequence "
    "without a cache and without stopping at EOS; gen_logits[s] are the last-position logits of the pass over "
    "input_ids + generated_ids[:s] that chose generated_ids[s]. gen_attention.{{l}} [heads,T+{N},T+{N}] is the "
    "attention of one extra forward pass over the whole final sequence input_ids + generated_ids "
    "({T}+{N} tokens, the last generated token included); its first T+{N}-1 rows equal the attention of the "
    "pass that chose the last token. Smallest top-1 minus top-2 logit margin over the generation steps: "
    "{margin:.4f}.{extra}"
)


def run_model(spec, gpt2_tok, sp_tok):
    name, family, cfg = spec["name"], spec["family"], spec["config"]
    folder = os.path.join(HERE, name)
    os.makedirs(folder, exist_ok=True)
    write_json(os.path.join(folder, "config.json"), cfg)

    if family == "gpt2":
        weights = gpt2_weights(cfg, spec["seed"])
    else:
        weights = llama_weights(cfg, spec["seed"], qkv_bias=(family == "qwen2"))
    write_safetensors(os.path.join(folder, "model.safetensors"), weights)
    # Build the reference from the file just written, so the golden describes exactly that file.
    w = read_safetensors(os.path.join(folder, "model.safetensors"))
    model = Gpt2Ref(cfg, w) if family == "gpt2" else LlamaRef(cfg, w)
    model.eval()

    if family in ("gpt2", "qwen2"):
        gpt2_tok.write(folder, "GPT2Tokenizer" if family == "gpt2" else "Qwen2Tokenizer")
        prompt_text = GPT2_PROMPT
        ids = gpt2_tok.encode(prompt_text)
        specials = {gpt2_tok.eot_id}
    else:
        sp_tok.write(folder, "LlamaTokenizer")
        prompt_text = LLAMA_PROMPT
        ids = sp_tok.encode(prompt_text, add_bos=True)
        specials = {0, 1, 2}
    assert len(ids) == PROMPT_LEN, (name, len(ids), ids)

    with torch.no_grad():
        caps = model(ids)
        seq = list(ids)
        gen_logits = []
        margins = []
        for _ in range(NEW_TOKENS):
            last = model(seq)["logits"][-1]
            top2 = torch.topk(last, 2).values
            margins.append(float(top2[0] - top2[1]))
            nxt = int(torch.argmax(last))
            gen_logits.append(last)
            seq.append(nxt)
        full = model(seq)
    generated = seq[PROMPT_LEN:]
    assert not (set(generated) & specials), (name, generated)
    assert min(margins) > 1e-2, (name, margins)

    golden = {k: v.detach().numpy() for k, v in caps.items()}
    golden["gen_logits"] = torch.stack(gen_logits).numpy()
    for l in range(len(model.blocks if family == "gpt2" else model.layers)):
        golden[f"gen_attention.{l}"] = full[f"attention.{l}"].numpy()
    write_safetensors(os.path.join(folder, "golden.safetensors"), golden)

    extra = ""
    if family == "gpt2":
        extra = (" Weights use the 'transformer.' prefix (as GPT2LMHeadModel saves them); the original gpt2 "
                 "checkpoints name the same tensors without it. The lm head is tied to transformer.wte.weight. "
                 "Attention was computed by torch.nn.MultiheadAttention (need_weights=True, "
                 "average_attn_weights=False) with the Conv1D weights transposed.")
    elif family == "qwen2":
        extra = (" config.json carries sliding_window=4 with use_sliding_window=false: as in Hugging Face "
                 "(and in real Qwen2 configs) the window is NOT applied, attention is plainly causal. One KV head "
                 "(multi-query); q/k/v projections have biases; lm head tied to model.embed_tokens.weight. The "
                 "tokenizer is byte-level BPE, as real Qwen2 uses (no BOS is added).")
    elif family == "mistral":
        extra = (" Sliding window W=4: query i attends keys j with i-4 < j <= i (the last 4 positions, itself "
                 "included).")
    elif cfg.get("rope_scaling"):
        extra = (" RoPE inv_freq rescaled by rope_scaling llama3 (factor 8, low 1, high 4, original 16): with "
                 "head_dim 16 and theta 500000 pair 0 (wavelength 2*pi) is in the smoothed band and pairs 1..7 "
                 "are divided by 8; no pair is short enough to stay unscaled.")
    notes = GOLDEN_NOTES.format(
        torch=torch.__version__, mt=cfg["model_type"], T=PROMPT_LEN, N=NEW_TOKENS,
        qnote=" after rotary" if family != "gpt2" else " (projection output, no rotary)",
        knote=" after rotary" if family != "gpt2" else "",
        embnote="token embedding + learned position embedding" if family == "gpt2" else "token embedding",
        margin=min(margins), extra=extra)
    write_json(os.path.join(folder, "golden.json"), {
        "model": name,
        "prompt_text": prompt_text,
        "input_ids": ids,
        "generated_ids": generated,
        "notes": notes,
    })
    return folder, w, golden, ids, generated


# --------------------------------------------------------------------------------------------
# Self checks (independent of the file writing above)
# --------------------------------------------------------------------------------------------


def explicit_gpt2_attention(w, l, x_ln, H):
    """Plain-matmul GPT-2 attention, to cross-check nn.MultiheadAttention's weights."""
    p = f"transformer.h.{l}."
    qkv = x_ln @ t(w[p + "attn.c_attn.weight"]) + t(w[p + "attn.c_attn.bias"])
    T, d3 = qkv.shape
    d = d3 // 3
    dh = d // H
    q, k, _ = (qkv[:, i * d:(i + 1) * d].reshape(T, H, dh).transpose(0, 1) for i in range(3))
    s = q @ k.transpose(1, 2) / math.sqrt(dh)
    s = s.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float("-inf"))
    return torch.softmax(s, -1)


def self_check(spec, folder, w, golden, ids, generated):
    cfg = spec["config"]
    g = read_safetensors(os.path.join(folder, "golden.safetensors"))
    for k, v in golden.items():
        assert np.array_equal(g[k], v), k
    L = cfg.get("num_hidden_layers", cfg.get("n_layer"))
    window = cfg.get("sliding_window") if cfg.get("use_sliding_window", True) else None
    for key in [f"attention.{l}" for l in range(L)] + [f"gen_attention.{l}" for l in range(L)]:
        a = g[key]
        T = a.shape[-1]
        assert np.allclose(a.sum(-1), 1.0, atol=1e-5), key
        assert (a >= 0).all(), key
        i = np.arange(T)[:, None]
        j = np.arange(T)[None, :]
        masked = j > i
        if window is not None:
            masked |= j <= i - window
            assert window < T
        assert (a[:, masked] == 0).all(), key
        assert (a[:, ~masked] > 0).all(), key
        # non-uniform: the largest weight of late rows well above the uniform share
        peak = a[:, -1, :].max(-1)
        allowed = (~masked[-1]).sum()
        assert (peak > 1.5 / allowed).all(), (key, peak)
    # prompt attention = first T rows/cols of the full-sequence attention (causality)
    for l in range(L):
        assert np.allclose(g[f"gen_attention.{l}"][:, :PROMPT_LEN, :PROMPT_LEN], g[f"attention.{l}"], atol=1e-5)
    # last prompt logits = first gen logits
    assert np.allclose(g["gen_logits"][0], g["logits"][-1], atol=1e-5)
    assert generated[0] == int(np.argmax(g["logits"][-1]))
    if spec["family"] == "gpt2":
        emb = w["transformer.wte.weight"][ids] + w["transformer.wpe.weight"][:len(ids)]
        assert np.allclose(g["embed"], emb, atol=1e-6)
        x = t(g["embed"])
        for l in range(L):
            p = f"transformer.h.{l}."
            x_ln = F.layer_norm(x, (x.shape[-1],), t(w[p + "ln_1.weight"]), t(w[p + "ln_1.bias"]), 1e-5)
            ref = explicit_gpt2_attention(w, l, x_ln, cfg["n_head"])
            assert np.allclose(ref.numpy(), g[f"attention.{l}"], atol=1e-5), l
            x = t(g[f"resid_post.{l}"])
        assert np.allclose(g["logits"], g["final_norm"] @ w["transformer.wte.weight"].T, atol=1e-4)
    else:
        assert np.allclose(g["embed"], w["model.embed_tokens.weight"][ids], atol=0)
        head = w["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else w["lm_head.weight"]
        assert np.allclose(g["logits"], g["final_norm"] @ head.T, atol=1e-4)
        # rotary: position 0 is unrotated; the per-pair norm is preserved at every position
        H = cfg["num_attention_heads"]
        dh = cfg.get("head_dim") or cfg["hidden_size"] // H
        x = t(g["embed"])
        for l in range(L):
            p = f"model.layers.{l}."
            xx = x.numpy().astype(np.float64)
            a = xx / np.sqrt((xx ** 2).mean(-1, keepdims=True) + cfg["rms_norm_eps"]) * w[p + "input_layernorm.weight"]
            qraw = a @ w[p + "self_attn.q_proj.weight"].T
            if (p + "self_attn.q_proj.bias") in w:
                qraw = qraw + w[p + "self_attn.q_proj.bias"]
            qraw = qraw.reshape(len(ids), H, dh).transpose(1, 0, 2)
            assert np.allclose(g[f"q.{l}"][:, 0, :], qraw[:, 0, :], atol=1e-4)
            half = dh // 2
            n_got = g[f"q.{l}"][..., :half] ** 2 + g[f"q.{l}"][..., half:] ** 2
            n_raw = qraw[..., :half] ** 2 + qraw[..., half:] ** 2
            assert np.allclose(n_got, n_raw, rtol=1e-3, atol=1e-4)
            x = t(g[f"resid_post.{l}"])
        # attention recomputed from the stored q and k: query head h reads kv head h // (H / KV)
        KV = cfg["num_key_value_heads"]
        T = len(ids)
        i = np.arange(T)[:, None]
        j = np.arange(T)[None, :]
        masked = (j > i) | ((j <= i - window) if window is not None else False)
        for l in range(L):
            q, k = g[f"q.{l}"].astype(np.float64), g[f"k.{l}"].astype(np.float64)
            for h in range(H):
                s = q[h] @ k[h // (H // KV)].T / math.sqrt(dh)
                s[masked] = -np.inf
                e = np.exp(s - s.max(-1, keepdims=True))
                assert np.allclose(e / e.sum(-1, keepdims=True), g[f"attention.{l}"][h], atol=1e-5), (l, h)
        rs = cfg.get("rope_scaling")
        if rs:
            # llama3 rule written per frequency (as Meta's reference states it), in float64
            got = rope_inv_freq(cfg, dh).numpy()
            old = rs["original_max_position_embeddings"]
            for n, f in enumerate(1.0 / (float(cfg["rope_theta"]) ** (np.arange(0, dh, 2) / dh))):
                wl = 2 * math.pi / f
                if wl < old / rs["high_freq_factor"]:
                    want = f
                elif wl > old / rs["low_freq_factor"]:
                    want = f / rs["factor"]
                else:
                    a = (old / wl - rs["low_freq_factor"]) / (rs["high_freq_factor"] - rs["low_freq_factor"])
                    want = (1 - a) * f / rs["factor"] + a * f
                assert abs(got[n] - want) <= 1e-6 * want, (n, got[n], want)
            # the scaling matters: without it the rotated queries differ
            plain = dict(cfg, rope_scaling=None)
            q0 = LlamaRef(plain, w)(ids)["q.0"].detach().numpy()
            assert np.abs(q0 - g["q.0"]).max() > 0.1
    # generation is deterministic: a second model built from the file picks the same tokens
    model = Gpt2Ref(cfg, w) if spec["family"] == "gpt2" else LlamaRef(cfg, w)
    seq = list(ids)
    with torch.no_grad():
        for _ in range(NEW_TOKENS):
            seq.append(int(torch.argmax(model(seq)["logits"][-1])))
        assert np.array_equal(model(seq)["attention.0"].numpy(), g["gen_attention.0"])
    assert seq[len(ids):] == generated


def main():
    gpt2_tok = ByteLevelBpe()
    sp_tok = SentencePieceBpe()
    only = set(sys.argv[1:])
    for spec in model_specs():
        if only and spec["name"] not in only:
            continue
        folder, w, golden, ids, generated = run_model(spec, gpt2_tok, sp_tok)
        self_check(spec, folder, w, golden, ids, generated)
        size = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
        print(f"{spec['name']}: ids={ids} generated={generated} ({size} bytes)")


if __name__ == "__main__":
    main()
