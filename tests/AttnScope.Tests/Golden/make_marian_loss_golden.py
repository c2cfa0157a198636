#!/usr/bin/python3
"""Writes tiny-marian/loss_golden.json and loss_golden.safetensors: the fine-tuning reference of tiny-marian.

For a fixed batch of two (source, target) pairs, the PyTorch reference of make_marian_golden.py (HF MarianMT
semantics, float32, one thread) computes the teacher-forced label-smoothed cross entropy that Marian fine-tuning
minimises (decoder inputs start with decoder_start_token_id = pad 39, labels are the target followed by </s> 0;
smoothing eps = 0.1 spread uniformly over the vocabulary: loss = (1 - eps) * nll + eps * mean_j(-log p_j), summed over
the target tokens of both pairs and divided by their number), its gradient with respect to every trainable tensor
(torch.autograd; the shared embedding collects the encoder, decoder and tied-head parts; final_logits_bias and the
sinusoid tables are buffers, not trained), and the tensors after one torch.optim.AdamW step (lr 1e-3, betas
(0.9, 0.98), eps 1e-6, weight decay 0.01 on the 2-d tensors only). Nothing here uses the C# engine.

Run from the repository root (after make_marian_golden.py):
    /usr/bin/python3 -B tests/AttnScope.Tests/Golden/make_marian_loss_golden.py
"""

import os

import numpy as np
import torch
import torch.nn.functional as F

from make_decoder_goldens import read_safetensors, write_json, write_safetensors
from make_marian_golden import CONFIG, FOLDER, MarianRef

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

PAIRS = [
    ([12, 5, 27, 33, 8, 19, 2, 30, 0], [7, 21, 14, 3, 36, 11]),
    ([4, 17, 22, 9, 0], [25, 13, 30, 2]),
]
EPS = 0.1
LR, BETAS, ADAM_EPS, DECAY = 1e-3, (0.9, 0.98), 1e-6, 0.01
CHECKED = [
    "model.shared.weight",
    "model.encoder.layers.0.self_attn.q_proj.weight",
    "model.encoder.layers.1.fc1.bias",
    "model.encoder.layers.0.final_layer_norm.weight",
    "model.decoder.layers.0.encoder_attn.k_proj.weight",
    "model.decoder.layers.0.self_attn.v_proj.bias",
    "model.decoder.layers.1.encoder_attn_layer_norm.bias",
    "model.decoder.layers.1.fc2.weight",
]


def hf_tensors(model, cfg, grad):
    """Every trainable tensor (or its gradient) under its Hugging Face name, nn.MultiheadAttention's fused
    in_proj split back into q/k/v."""
    d = cfg["d_model"]
    g = (lambda p: p.grad) if grad else (lambda p: p.data)
    out = {"model.shared.weight": g(model.shared.weight)}
    stacks = [("encoder", model.enc, ["self_attn"]), ("decoder", model.dec, ["self_attn", "encoder_attn"])]
    for stack, layers, attns in stacks:
        for l, layer in enumerate(layers):
            p = f"model.{stack}.layers.{l}."
            for a in attns:
                m = getattr(layer, a)
                for i, n in enumerate("qkv"):
                    out[p + f"{a}.{n}_proj.weight"] = g(m.in_proj_weight)[i * d:(i + 1) * d]
                    out[p + f"{a}.{n}_proj.bias"] = g(m.in_proj_bias)[i * d:(i + 1) * d]
                out[p + f"{a}.out_proj.weight"] = g(m.out_proj.weight)
                out[p + f"{a}.out_proj.bias"] = g(m.out_proj.bias)
                ln = getattr(layer, a + "_layer_norm")
                out[p + f"{a}_layer_norm.weight"], out[p + f"{a}_layer_norm.bias"] = g(ln.weight), g(ln.bias)
            for fc in ("fc1", "fc2"):
                out[p + fc + ".weight"], out[p + fc + ".bias"] = g(getattr(layer, fc).weight), g(getattr(layer, fc).bias)
            out[p + "final_layer_norm.weight"], out[p + "final_layer_norm.bias"] = g(layer.final_layer_norm.weight), g(layer.final_layer_norm.bias)
    return {k: v.detach().clone().numpy() for k, v in out.items()}


def batch_loss(model, cfg):
    start, eos = cfg["decoder_start_token_id"], cfg["eos_token_id"]
    total, nll_total, tokens = 0.0, 0.0, 0
    for src, tgt in PAIRS:
        enc = model.encode(src)["encoder_out"]
        logits = model.decode([start] + tgt, enc)["logits"]
        labels = torch.tensor(tgt + [eos])
        logp = F.log_softmax(logits, -1)
        nll = -logp.gather(1, labels[:, None])[:, 0]
        smooth = -logp.mean(-1)
        total = total + ((1 - EPS) * nll + EPS * smooth).sum()
        nll_total = nll_total + nll.sum()
        tokens += len(labels)
    return total / tokens, nll_total / tokens, tokens


def main():
    cfg = CONFIG
    w = read_safetensors(os.path.join(FOLDER, "model.safetensors"))
    model = MarianRef(cfg, w).train()  # dropout is 0 in the config
    model.enc_pos.weight.requires_grad_(False)
    model.dec_pos.weight.requires_grad_(False)
    loss, nll, tokens = batch_loss(model, cfg)
    loss.backward()
    grads = hf_tensors(model, cfg, grad=True)
    before = hf_tensors(model, cfg, grad=False)
    decay = [p for p in model.parameters() if p.requires_grad and p.dim() == 2]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.dim() == 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": DECAY}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=LR, betas=BETAS, eps=ADAM_EPS)
    opt.step()
    after = hf_tensors(model, cfg, grad=False)
    global_norm = float(np.sqrt(sum(float((g.astype(np.float64) ** 2).sum()) for g in grads.values())))
    tensors = {}
    for n in CHECKED:
        tensors["grad." + n] = grads[n]
        tensors["adamw." + n] = after[n]
    write_safetensors(os.path.join(FOLDER, "loss_golden.safetensors"), tensors)
    write_json(os.path.join(FOLDER, "loss_golden.json"), {
        "pairs": [{"source_ids": s, "target_ids": t} for s, t in PAIRS],
        "label_smoothing": EPS,
        "tokens": tokens,
        "loss": float(loss),
        "nll": float(nll),
        "grad_norm": global_norm,
        "grad_norms": {n: float(np.linalg.norm(grads[n].astype(np.float64))) for n in CHECKED},
        "trainable_tensors": len(grads),
        "adamw": {"lr": LR, "beta1": BETAS[0], "beta2": BETAS[1], "eps": ADAM_EPS, "weight_decay": DECAY},
        "notes": __doc__.split("\n\n")[1].replace("\n", " "),
    })
    # self-checks: every checked tensor moved, the step is about lr per element, the loss is the mean over tokens
    for n in CHECKED:
        step = np.abs(after[n] - before[n])
        assert step.max() <= LR * 1.01 + DECAY * LR * np.abs(before[n]).max(), n
        assert np.abs(grads[n]).max() > 0, n
    assert tokens == sum(len(t) + 1 for _, t in PAIRS)
    print(f"loss {float(loss):.6f} nll {float(nll):.6f} tokens {tokens} grad norm {global_norm:.6f} ({len(grads)} tensors)")


if __name__ == "__main__":
    main()
