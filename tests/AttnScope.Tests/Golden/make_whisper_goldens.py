#!/usr/bin/python3
"""Writes the Whisper goldens: the log-mel front end (whisper-logmel/) and a tiny random Whisper (tiny-whisper/).

whisper-logmel/golden.safetensors: a synthetic 0.5 s signal at 16 kHz (two tones, a chirp, seeded noise) and its
log-mel as Whisper's reference code computes it: torch.stft(n_fft 400, hop 160, periodic Hann window, center=True,
reflect padding), last frame dropped, |X|^2, a Slaney mel filterbank built here in numpy following librosa's
formula (librosa.filters.mel(sr=16000, n_fft=400, n_mels, htk=False, norm='slaney'), float32), log10(clamp(.,
1e-10)), max(x, x.max() - 8), (x + 4) / 4, with the audio zero-padded (or trimmed) to n_samples first. Two cases:
80 mels padded to 12800 samples (0.8 s), and 128 mels trimmed to 4800 samples.

tiny-whisper/: config.json, model.safetensors (Hugging Face's WhisperForConditionalGeneration names), a byte-level
BPE tokenizer (vocab.json, merges.txt, tokenizer_config.json with Whisper's special tokens), and the reference
outputs of that model (golden.safetensors, golden.json) computed with PyTorch's own modules: nn.Conv1d, F.gelu,
nn.Linear, nn.LayerNorm, softmax. The encoder reads the 80-mel golden above (80 frames -> 40 encoder frames, which is
max_source_positions, as a real Whisper reads 3000 frames -> 1500).

Run from the repository root with Debian's python3-torch:
    /usr/bin/python3 -B tests/AttnScope.Tests/Golden/make_whisper_goldens.py
Deterministic (fixed seeds, float32, one thread).
"""

import json
import math
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from make_decoder_goldens import bytes_to_unicode, read_safetensors, write_json, write_safetensors

HERE = os.path.dirname(os.path.abspath(__file__))
MEL_DIR = os.path.join(HERE, "whisper-logmel")
MODEL_DIR = os.path.join(HERE, "tiny-whisper")
SR, N_FFT, HOP = 16000, 400, 160

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

# --------------------------------------------------------------------------------------------
# Log-mel (Whisper's audio.py semantics)
# --------------------------------------------------------------------------------------------


def hz_to_mel(f):
    """Slaney's mel scale (librosa htk=False): linear below 1 kHz, logarithmic above."""
    f = np.asarray(f, dtype=np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, math.log(6.4) / 27.0
    return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-300) / min_log_hz) / logstep, f / f_sp)


def mel_to_hz(m):
    m = np.asarray(m, dtype=np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, math.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)


def mel_filters(n_mels, sr=SR, n_fft=N_FFT):
    """librosa.filters.mel's formula (fmin 0, fmax sr/2, htk False, norm 'slaney'), returned as float32."""
    fftfreqs = np.fft.rfftfreq(n=n_fft, d=1.0 / sr)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sr / 2.0), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    weights = np.zeros((n_mels, len(fftfreqs)))
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    enorm = 2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels])
    weights *= enorm[:, np.newaxis]
    return weights.astype(np.float32)


def log_mel(audio, n_mels, n_samples):
    """whisper.audio.pad_or_trim + log_mel_spectrogram in torch float32."""
    a = torch.from_numpy(audio.astype(np.float32))
    a = a[:n_samples] if a.shape[0] >= n_samples else F.pad(a, (0, n_samples - a.shape[0]))
    window = torch.hann_window(N_FFT)  # periodic
    stft = torch.stft(a, N_FFT, HOP, window=window, center=True, pad_mode="reflect", return_complex=True)
    magnitudes = stft[..., :-1].abs() ** 2
    mel_spec = torch.from_numpy(mel_filters(n_mels)) @ magnitudes
    log_spec = torch.clamp(mel_spec, min=1e-10).log10()
    log_spec = torch.maximum(log_spec, log_spec.max() - 8.0)
    return ((log_spec + 4.0) / 4.0).numpy()


def synthetic_audio():
    t = np.arange(8000) / SR
    rng = np.random.default_rng(2024)
    x = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 2500 * t)
    x += 0.15 * np.sin(2 * np.pi * (200 * t + 3000 * t * t))  # chirp 200 Hz -> 6.2 kHz
    x *= np.minimum(1.0, t / 0.05)  # fade in
    x[4000:4800] = 0.0  # a silent gap
    x += 0.01 * rng.standard_normal(t.shape)
    return x.astype(np.float32)


# --------------------------------------------------------------------------------------------
# Tiny Whisper
# --------------------------------------------------------------------------------------------

SPECIALS = ["<|endoftext|>", "<|startoftranscript|>", "<|en|>", "<|transcribe|>", "<|notimestamps|>"]
MERGES = [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("Ġ", "a"), ("i", "n"), ("Ġ", "s")]
SEED = 5155  # picked so that greedy decoding is varied (7 distinct tokens) with a clear margin
NEW_TOKENS = 8


def tokenizer_files():
    table, order = bytes_to_unicode()
    vocab = {table[b]: i for i, b in enumerate(order)}
    for a, b in MERGES:
        vocab[a + b] = len(vocab)
    added = {}
    for s in SPECIALS:
        added[str(len(vocab) + len(added))] = {"content": s, "lstrip": False, "normalized": False, "rstrip": False,
                                                "single_word": False, "special": True}
    return vocab, added


def make_config(vocab_size, ids):
    return {
        "_name_or_path": "tiny-whisper",
        "architectures": ["WhisperForConditionalGeneration"],
        "model_type": "whisper",
        "vocab_size": vocab_size,
        "num_mel_bins": 80,
        "d_model": 32,
        "encoder_layers": 2,
        "decoder_layers": 2,
        "encoder_attention_heads": 4,
        "decoder_attention_heads": 4,
        "encoder_ffn_dim": 64,
        "decoder_ffn_dim": 64,
        "activation_function": "gelu",
        "max_source_positions": 40,
        "max_target_positions": 24,
        "scale_embedding": False,
        "tie_word_embeddings": True,
        "decoder_start_token_id": ids["<|startoftranscript|>"],
        "eos_token_id": ids["<|endoftext|>"],
        "bos_token_id": ids["<|endoftext|>"],
        "pad_token_id": ids["<|endoftext|>"],
        "dropout": 0.0,
        "attention_dropout": 0.0,
        "activation_dropout": 0.0,
        "torch_dtype": "float32",
    }


def rnd(shape, std, mean=0.0):
    return (torch.randn(*shape, dtype=torch.float32) * std + mean).numpy()


def sinusoids(length, channels, max_timescale=10000):
    """Whisper's encoder positions: sin in the first half, cos in the second, increment log(10000)/(channels/2 - 1)."""
    inc = np.log(max_timescale) / (channels // 2 - 1)
    inv = torch.exp(-inc * torch.arange(channels // 2))
    scaled = torch.arange(length)[:, None] * inv[None, :]
    return torch.cat([torch.sin(scaled), torch.cos(scaled)], dim=1).numpy().astype(np.float32)


def whisper_weights(cfg):
    torch.manual_seed(SEED)
    d, V, M = cfg["d_model"], cfg["vocab_size"], cfg["num_mel_bins"]
    w = {
        "model.encoder.conv1.weight": rnd((d, M, 3), 0.15), "model.encoder.conv1.bias": rnd((d,), 0.1),
        "model.encoder.conv2.weight": rnd((d, d, 3), 0.2), "model.encoder.conv2.bias": rnd((d,), 0.1),
        "model.encoder.embed_positions.weight": sinusoids(cfg["max_source_positions"], d),
        "model.decoder.embed_tokens.weight": rnd((V, d), 0.5),
        "model.decoder.embed_positions.weight": rnd((cfg["max_target_positions"], d), 0.5),
    }

    def attn(p, qk):
        w[p + "q_proj.weight"] = rnd((d, d), qk); w[p + "q_proj.bias"] = rnd((d,), 0.1)
        w[p + "k_proj.weight"] = rnd((d, d), qk)  # Whisper's k_proj has no bias
        w[p + "v_proj.weight"] = rnd((d, d), 0.3); w[p + "v_proj.bias"] = rnd((d,), 0.05)
        w[p + "out_proj.weight"] = rnd((d, d), 0.3); w[p + "out_proj.bias"] = rnd((d,), 0.05)

    def ln(p):
        w[p + "weight"] = rnd((d,), 0.1, 1.0); w[p + "bias"] = rnd((d,), 0.05)

    def ffn(p, n):
        w[p + "fc1.weight"] = rnd((n, d), 0.3); w[p + "fc1.bias"] = rnd((n,), 0.05)
        w[p + "fc2.weight"] = rnd((d, n), 0.3); w[p + "fc2.bias"] = rnd((d,), 0.05)

    for l in range(cfg["encoder_layers"]):
        p = f"model.encoder.layers.{l}."
        attn(p + "self_attn.", 0.4); ln(p + "self_attn_layer_norm."); ffn(p, cfg["encoder_ffn_dim"]); ln(p + "final_layer_norm.")
    ln("model.encoder.layer_norm.")
    for l in range(cfg["decoder_layers"]):
        p = f"model.decoder.layers.{l}."
        attn(p + "self_attn.", 0.4); ln(p + "self_attn_layer_norm.")
        attn(p + "encoder_attn.", 0.5); ln(p + "encoder_attn_layer_norm.")
        ffn(p, cfg["decoder_ffn_dim"]); ln(p + "final_layer_norm.")
    ln("model.decoder.layer_norm.")
    return w


def tt(a):
    return torch.from_numpy(np.array(a, dtype=np.float32))


def linear(w, p, bias=True):
    wt = tt(w[p + "weight"])
    m = nn.Linear(wt.shape[1], wt.shape[0], bias=bias)
    with torch.no_grad():
        m.weight.copy_(wt)
        if bias:
            m.bias.copy_(tt(w[p + "bias"]))
    return m


def layer_norm(w, p, d):
    n = nn.LayerNorm(d, eps=1e-5)
    with torch.no_grad():
        n.weight.copy_(tt(w[p + "weight"])); n.bias.copy_(tt(w[p + "bias"]))
    return n


class Attention(nn.Module):
    """WhisperAttention: q, v, out with bias, k without; softmax((q * dh^-0.5) k^T + mask)."""

    def __init__(self, w, p, d, H):
        super().__init__()
        self.H, self.dh = H, d // H
        self.q, self.k, self.v = linear(w, p + "q_proj."), linear(w, p + "k_proj.", bias=False), linear(w, p + "v_proj.")
        self.o = linear(w, p + "out_proj.")

    def forward(self, x, kv, causal):
        T, S = x.shape[0], kv.shape[0]
        q = (self.q(x) * self.dh ** -0.5).view(T, self.H, self.dh).transpose(0, 1)
        k = self.k(kv).view(S, self.H, self.dh).transpose(0, 1)
        v = self.v(kv).view(S, self.H, self.dh).transpose(0, 1)
        s = q @ k.transpose(1, 2)
        if causal:
            s = s.masked_fill(torch.triu(torch.ones(T, S, dtype=torch.bool), 1), float("-inf"))
        a = torch.softmax(s, dim=-1)
        return self.o((a @ v).transpose(0, 1).reshape(T, -1)), a


class Layer(nn.Module):
    def __init__(self, w, p, d, H, cross):
        super().__init__()
        self.self_attn, self.self_ln = Attention(w, p + "self_attn.", d, H), layer_norm(w, p + "self_attn_layer_norm.", d)
        self.cross = cross
        if cross:
            self.enc_attn, self.enc_ln = Attention(w, p + "encoder_attn.", d, H), layer_norm(w, p + "encoder_attn_layer_norm.", d)
        self.fc1, self.fc2, self.final_ln = linear(w, p + "fc1."), linear(w, p + "fc2."), layer_norm(w, p + "final_layer_norm.", d)

    def forward(self, x, enc=None):
        a, sw = self.self_attn(self.self_ln(x), self.self_ln(x), causal=self.cross)
        x = x + a
        cw = None
        if self.cross:
            c, cw = self.enc_attn(self.enc_ln(x), enc, causal=False)
            x = x + c
        x = x + self.fc2(F.gelu(self.fc1(self.final_ln(x))))
        return x, sw, cw


class WhisperRef(nn.Module):
    def __init__(self, cfg, w):
        super().__init__()
        d, M, H = cfg["d_model"], cfg["num_mel_bins"], cfg["encoder_attention_heads"]
        self.conv1 = nn.Conv1d(M, d, kernel_size=3, padding=1)
        self.conv2 = nn.Conv1d(d, d, kernel_size=3, stride=2, padding=1)
        with torch.no_grad():
            for name, conv in (("conv1", self.conv1), ("conv2", self.conv2)):
                conv.weight.copy_(tt(w[f"model.encoder.{name}.weight"])); conv.bias.copy_(tt(w[f"model.encoder.{name}.bias"]))
        self.enc_pos = tt(w["model.encoder.embed_positions.weight"])
        self.enc = nn.ModuleList([Layer(w, f"model.encoder.layers.{l}.", d, H, False) for l in range(cfg["encoder_layers"])])
        self.enc_ln = layer_norm(w, "model.encoder.layer_norm.", d)
        self.embed = tt(w["model.decoder.embed_tokens.weight"])
        self.dec_pos = tt(w["model.decoder.embed_positions.weight"])
        self.dec = nn.ModuleList([Layer(w, f"model.decoder.layers.{l}.", d, cfg["decoder_attention_heads"], True)
                                  for l in range(cfg["decoder_layers"])])
        self.dec_ln = layer_norm(w, "model.decoder.layer_norm.", d)

    def encode(self, mel):
        x = F.gelu(self.conv1(tt(mel)[None]))
        x = F.gelu(self.conv2(x))[0].transpose(0, 1)  # [frames, d]
        caps = {"encoder_conv": x.clone()}
        x = x + self.enc_pos[:x.shape[0]]
        for l, layer in enumerate(self.enc):
            x, a, _ = layer(x)
            caps[f"encoder_attention.{l}"] = a
        caps["encoder_out"] = self.enc_ln(x)
        return caps

    def decode(self, ids, enc):
        ids = torch.tensor(ids, dtype=torch.long)
        x = self.embed[ids] + self.dec_pos[:ids.shape[0]]
        caps = {}
        for l, layer in enumerate(self.dec):
            x, a, c = layer(x, enc)
            caps[f"decoder_attention.{l}"] = a
            caps[f"cross_attention.{l}"] = c
        x = self.dec_ln(x)
        caps["decoder_out"] = x
        caps["logits"] = x @ self.embed.T  # proj_out tied to embed_tokens
        return caps


def greedy(model, enc, prompt, n):
    seq, margins = list(prompt), []
    for _ in range(n):
        last = model.decode(seq, enc)["logits"][-1]
        top2 = torch.topk(last, 2).values
        margins.append(float(top2[0] - top2[1]))
        seq.append(int(torch.argmax(last)))
    return seq[len(prompt):], margins


# --------------------------------------------------------------------------------------------
# Word alignment (whisper/timing.py semantics, written here from its description)
# --------------------------------------------------------------------------------------------

ALIGN_DIR = os.path.join(HERE, "whisper-alignment")


def median_filter(x, width):
    pad = width // 2
    if x.shape[-1] <= pad:
        return x
    y = F.pad(x[None], (pad, pad, 0, 0), mode="reflect")[0]
    return y.unfold(-1, width, 1).sort()[0][..., pad]


def dtw(x):
    """Whisper's dtw_cpu: cost with steps diagonal (0), down (1), right (2); ties go right; backtrace from the end."""
    N, M = x.shape
    cost = np.full((N + 1, M + 1), np.inf)
    trace = -np.ones((N + 1, M + 1))
    cost[0, 0] = 0
    for j in range(1, M + 1):
        for i in range(1, N + 1):
            c0, c1, c2 = cost[i - 1, j - 1], cost[i - 1, j], cost[i, j - 1]
            if c0 < c1 and c0 < c2:
                c, t = c0, 0
            elif c1 < c0 and c1 < c2:
                c, t = c1, 1
            else:
                c, t = c2, 2
            cost[i, j] = x[i - 1, j - 1] + c
            trace[i, j] = t
    i, j = N, M
    trace[0, :] = 2
    trace[:, 0] = 1
    path = []
    while i > 0 or j > 0:
        path.append((i - 1, j - 1))
        t = trace[i, j]
        if t == 0:
            i, j = i - 1, j - 1
        elif t == 1:
            i -= 1
        else:
            j -= 1
    path = np.array(path)[::-1].T
    return path[0], path[1]


def alignment_golden():
    """Cross-attention logits of 2 layers x 3 heads over 50 frames (40 hold audio) for a prompt of 4 tokens, 6 text
    tokens and EOS, drifting along a monotone path with noise. The capture keeps softmax over all 50 frames; Whisper's
    timing takes the alignment heads' logits cut to the 40 audio frames, softmax, z-score over tokens (population std),
    median filter 7, mean over heads, rows [len(sot_sequence) : -1], DTW on -matrix, jump times / 50."""
    g = torch.Generator().manual_seed(99)
    L, H, P, K, Fr, Fa = 2, 3, 4, 6, 50, 40
    n = P + K + 1
    centres = torch.tensor([0, 0, 0, 2, 6, 11, 17, 22, 27, 33, 39], dtype=torch.float32)[:n]
    f = torch.arange(Fr, dtype=torch.float32)
    logits = torch.randn(L, H, n, Fr, generator=g) * 1.5
    heads = [(1, 0), (1, 2), (0, 1)]
    for l, h in heads:
        logits[l, h] += 4.0 * torch.exp(-((f[None, :] - centres[:, None]) / 3.0) ** 2)
    captured = logits.softmax(-1)
    w = torch.stack([logits[l, h] for l, h in heads])[:, :, :Fa].softmax(-1)
    std, mean = torch.std_mean(w, dim=-2, keepdim=True, unbiased=False)
    w = median_filter((w - mean) / std, 7)
    matrix = w.mean(0)[P - 1:-1]
    text_idx, time_idx = dtw(-matrix.double().numpy())
    jumps = np.pad(np.diff(text_idx), (1, 0), constant_values=1).astype(bool)
    jump_times = time_idx[jumps] / 50.0
    os.makedirs(ALIGN_DIR, exist_ok=True)
    write_safetensors(os.path.join(ALIGN_DIR, "golden.safetensors"), {"cross": captured.numpy(), "matrix": matrix.numpy()})
    write_json(os.path.join(ALIGN_DIR, "golden.json"), {
        "prompt_length": P, "text_tokens": K, "frames": Fr, "audio_frames": Fa, "alignment_heads": heads,
        "text_indices": text_idx.tolist(), "time_indices": time_idx.tolist(), "jump_times": jump_times.tolist(),
        "notes": alignment_golden.__doc__.replace("\n    ", " ")})
    return jump_times


def main():
    print("alignment jump times", alignment_golden())
    os.makedirs(MEL_DIR, exist_ok=True)
    os.makedirs(MODEL_DIR, exist_ok=True)
    audio = synthetic_audio()
    mel80 = log_mel(audio, 80, 12800)
    mel128 = log_mel(audio, 128, 4800)
    write_safetensors(os.path.join(MEL_DIR, "golden.safetensors"), {
        "audio": audio, "mel80_n12800": mel80, "mel128_n4800": mel128,
        "filters80": mel_filters(80), "filters128": mel_filters(128),
    })
    write_json(os.path.join(MEL_DIR, "golden.json"), {
        "notes": f"make_whisper_goldens.py, torch {torch.__version__}: audio (8000 samples, 16 kHz); mel80_n12800 = "
                 "log-mel with 80 mels of the audio zero-padded to 12800 samples [80, 80]; mel128_n4800 = 128 mels of "
                 "the audio trimmed to 4800 samples [128, 30]; filters80/128 = Slaney mel filterbanks [n_mels, 201]."})

    vocab, added = tokenizer_files()
    ids = {v["content"]: int(k) for k, v in added.items()}
    write_json(os.path.join(MODEL_DIR, "vocab.json"), vocab)
    with open(os.path.join(MODEL_DIR, "merges.txt"), "w", encoding="utf-8", newline="\n") as f:
        f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in MERGES))
    write_json(os.path.join(MODEL_DIR, "tokenizer_config.json"), {
        "added_tokens_decoder": added, "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>",
        "unk_token": "<|endoftext|>", "tokenizer_class": "WhisperTokenizer"})
    cfg = make_config(len(vocab) + len(added), ids)
    write_json(os.path.join(MODEL_DIR, "config.json"), cfg)
    write_safetensors(os.path.join(MODEL_DIR, "model.safetensors"), whisper_weights(cfg))
    w = read_safetensors(os.path.join(MODEL_DIR, "model.safetensors"))
    model = WhisperRef(cfg, w).eval()
    prompt = [ids["<|startoftranscript|>"], ids["<|en|>"], ids["<|transcribe|>"], ids["<|notimestamps|>"]]
    decoder_input = prompt + [80, 256, 258, 12, 260]
    with torch.no_grad():
        caps = model.encode(mel80)
        caps.update(model.decode(decoder_input, caps["encoder_out"]))
        generated, margins = greedy(model, caps["encoder_out"], prompt, NEW_TOKENS)
    golden = {k: v.detach().numpy() for k, v in caps.items()}
    write_safetensors(os.path.join(MODEL_DIR, "golden.safetensors"), golden)
    write_json(os.path.join(MODEL_DIR, "golden.json"), {
        "model": "tiny-whisper", "input_features": "whisper-logmel/golden.safetensors mel80_n12800",
        "decoder_input_ids": decoder_input, "prompt_ids": prompt, "generated_ids": generated,
        "notes": f"make_whisper_goldens.py, torch {torch.__version__}. Encoder: gelu(conv1(mel)), gelu(conv2 stride 2), "
                 "+ embed_positions (Whisper's sinusoids), 2 pre-LN layers (k_proj without bias), final layer_norm. "
                 "Decoder: embed_tokens + learned embed_positions, causal self-attn, cross-attn, pre-LN, final "
                 "layer_norm, logits tied to embed_tokens. Tensors: encoder_conv [40,d] (after the convs, before "
                 "positions), encoder_attention.l [H,40,40], decoder_attention.l [H,T,T], cross_attention.l [H,T,40], "
                 "encoder_out, decoder_out, logits [T,V]. Greedy: argmax, no suppression, no EOS stop, recomputing the "
                 f"prefix each step; smallest top-1 minus top-2 margin {min(margins):.4f}."})
    assert min(margins) > 1e-2, margins
    for k in [k for k in golden if "attention" in k]:
        assert np.allclose(golden[k].sum(-1), 1, atol=1e-5), k
    size = sum(os.path.getsize(os.path.join(d, f)) for d in (MEL_DIR, MODEL_DIR) for f in os.listdir(d))
    print(f"generated={generated} min margin={min(margins):.4f} ({size} bytes)")


if __name__ == "__main__":
    main()
