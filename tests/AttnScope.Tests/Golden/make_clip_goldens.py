#!/usr/bin/python3
"""Writes tests/AttnScope.Tests/Golden/tiny-clip: a tiny random CLIP in Hugging Face's layout and reference outputs.

The folder holds config.json (text_config / vision_config as CLIPModel writes them), preprocessor_config.json
(shortest edge 32, bicubic, centre crop 32x32, CLIP's mean and std), model.safetensors with CLIPModel's tensor names,
image.png (drawn here, 40x48) and golden.safetensors with the reference: pixel values, input ids, every layer's
attention [heads, T, T] and output of both towers, the pooled outputs, the projected embeddings, the similarity
logit_scale.exp() * cos(image_embeds, text_embeds), and d(similarity)/d(attention probabilities) of every layer of
both towers (torch.autograd), which the relevance tests compare with the core's backward pass.

The model is written here from PyTorch's own modules (nn.Linear, nn.LayerNorm, nn.Conv2d without bias,
torch.softmax) following Hugging Face's CLIP: vision = class embedding + patch conv, positions, pre_layrnorm,
pre-norm blocks, post_layernorm on the class token, visual_projection; text = token + positions, causal mask,
pre-norm blocks, final_layer_norm, pooled at argmax(input_ids) (the original CLIP's EOS = the largest id),
text_projection; quick_gelu x * sigmoid(1.702 x). Nothing here uses AttnScope's code; `transformers` is not
installed on this machine, so this follows its modeling_clip.py by hand. Run from the repository root:
    /usr/bin/python3 -B tests/AttnScope.Tests/Golden/make_clip_goldens.py
Needs Debian's python3-torch, python3-numpy and python3-pil. Deterministic.
"""

import html
import json
import math
import os
import re
import struct

import numpy as np
import torch
import torch.nn as nn
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "tiny-clip")
torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)


def write_safetensors(path, tensors):
    header = {"__metadata__": {"format": "pt"}}
    blobs, offset = [], 0
    for name in sorted(tensors):
        arr = np.asarray(tensors[name])
        if arr.dtype.kind in "iu":
            raw, dt = np.ascontiguousarray(arr, dtype="<i8").tobytes(), "I64"
        else:
            raw, dt = np.ascontiguousarray(arr, dtype="<f4").tobytes(), "F32"
        header[name] = {"dtype": dt, "shape": list(arr.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    head += b" " * ((8 - len(head) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for raw in blobs:
            f.write(raw)


def write_json(path, obj):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


# ---- CLIP's BPE tokenizer, written here from OpenAI's simple_tokenizer.py / Hugging Face's CLIPTokenizer ----

def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\u00a1"), ord("\u00ac") + 1)) + list(range(ord("\u00ae"), ord("\u00ff") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


BYTE_ENCODER = bytes_to_unicode()
# Python's re has no \p{L}: letters are [^\W\d_], digits \d (Unicode-aware for str patterns), as the ASCII and
# accented test texts need.
PAT = re.compile(r"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[^\W\d_]+|\d|[^\s\w]+|_+", re.IGNORECASE)


def clean(text):
    text = html.unescape(html.unescape(text)).strip()
    return re.sub(r"\s+", " ", text).strip().lower()


def bpe(token, ranks):
    if token in ("<|startoftext|>", "<|endoftext|>"):
        return [token]
    word = tuple(token[:-1]) + (token[-1] + "</w>",)
    while len(word) > 1:
        pairs = {(word[i], word[i + 1]) for i in range(len(word) - 1)}
        bigram = min(pairs, key=lambda p: ranks.get(p, float("inf")))
        if bigram not in ranks:
            break
        first, second = bigram
        new, i = [], 0
        while i < len(word):
            try:
                j = word.index(first, i)
            except ValueError:
                new.extend(word[i:])
                break
            new.extend(word[i:j])
            i = j
            if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                new.append(first + second)
                i += 2
            else:
                new.append(word[i])
                i += 1
        word = tuple(new)
    return list(word)


def encode(text, vocab, ranks):
    ids = [vocab["<|startoftext|>"]]
    for t in PAT.findall(clean(text)):
        t = "".join(BYTE_ENCODER[b] for b in t.encode("utf-8"))
        ids.extend(vocab[p] for p in bpe(t, ranks))
    return ids + [vocab["<|endoftext|>"]]


def train_merges(corpus, count):
    """A plain BPE trainer over the corpus's words (most frequent pair first, ties by first appearance)."""
    words = {}
    for t in PAT.findall(clean(corpus)):
        w = tuple("".join(BYTE_ENCODER[b] for b in t.encode("utf-8")))
        w = w[:-1] + (w[-1] + "</w>",)
        words[w] = words.get(w, 0) + 1
    merges = []
    for _ in range(count):
        counts = {}
        for w, c in words.items():
            for i in range(len(w) - 1):
                counts[(w[i], w[i + 1])] = counts.get((w[i], w[i + 1]), 0) + c
        if not counts:
            break
        best = max(counts.items(), key=lambda kv: kv[1])[0]
        merges.append(best)
        ranks = {best: 0}
        words = {tuple(bpe_merge_once(w, best)): c for w, c in words.items()}
    return merges


def bpe_merge_once(word, pair):
    out, i = [], 0
    while i < len(word):
        if i + 1 < len(word) and (word[i], word[i + 1]) == pair:
            out.append(word[i] + word[i + 1])
            i += 2
        else:
            out.append(word[i])
            i += 1
    return out


CORPUS = ("a photo of a cat. a photo of a dog. a cat on the grass, a dog on the sofa. the cat's photo; "
          "photos of cats and dogs! a red ball 1 2 3 the photographer photographed the catalog")
TOKENIZER_TESTS = ["a photo of a cat", "A  PHOTO\tof a   Dog!", "the cat's photos", "catalog of 2023 dogs",
                   "caf\u00e9 na\u00efve &amp; grass", "photographers' dog-house ... ok?", "<|endoftext|> the cat",
                   "&lt;b&gt; red&nbsp;ball", "x_y__z", "\u65e5\u672c cat"]


def make_tokenizer(out):
    merges = train_merges(CORPUS, 40)
    vocab_list = list(BYTE_ENCODER.values())
    vocab_list += [v + "</w>" for v in vocab_list]
    vocab_list += ["".join(m) for m in merges]
    vocab_list += ["<|startoftext|>", "<|endoftext|>"]
    vocab = {t: i for i, t in enumerate(vocab_list)}
    ranks = {m: i for i, m in enumerate(merges)}
    write_json(os.path.join(out, "vocab.json"), vocab)
    with open(os.path.join(out, "merges.txt"), "w", encoding="utf-8", newline="\n") as f:
        f.write("#version: 0.2\n")
        for a, b in merges:
            f.write(f"{a} {b}\n")
    write_json(os.path.join(out, "tokenizer-golden.json"),
               [{"text": t, "ids": encode(t, vocab, ranks)} for t in TOKENIZER_TESTS])
    return vocab, ranks


def quick_gelu(x):
    return x * torch.sigmoid(1.702 * x)


class Layer(nn.Module):
    def __init__(self, d, heads, inter, eps):
        super().__init__()
        self.heads = heads
        self.layer_norm1 = nn.LayerNorm(d, eps=eps)
        self.layer_norm2 = nn.LayerNorm(d, eps=eps)
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (nn.Linear(d, d) for _ in range(4))
        self.fc1, self.fc2 = nn.Linear(d, inter), nn.Linear(inter, d)

    def forward(self, x, causal):
        t, d = x.shape
        dh = d // self.heads
        a = self.layer_norm1(x)
        q = self.q_proj(a).view(t, self.heads, dh).transpose(0, 1) * dh ** -0.5
        k = self.k_proj(a).view(t, self.heads, dh).transpose(0, 1)
        v = self.v_proj(a).view(t, self.heads, dh).transpose(0, 1)
        s = q @ k.transpose(1, 2)
        if causal:
            s = s + torch.triu(torch.full((t, t), float("-inf")), diagonal=1)
        p = torch.softmax(s, dim=-1)
        p.retain_grad()
        ctx = (p @ v).transpose(0, 1).reshape(t, d)
        x = x + self.out_proj(ctx)
        x = x + self.fc2(quick_gelu(self.fc1(self.layer_norm2(x))))
        return x, p


def weights_of(prefix, layers, out):
    for l, b in enumerate(layers):
        for name, t in b.state_dict().items():
            part = name.split(".")
            key = {"layer_norm1": "layer_norm1", "layer_norm2": "layer_norm2",
                   "q_proj": "self_attn.q_proj", "k_proj": "self_attn.k_proj", "v_proj": "self_attn.v_proj",
                   "out_proj": "self_attn.out_proj", "fc1": "mlp.fc1", "fc2": "mlp.fc2"}[part[0]]
            out[f"{prefix}.encoder.layers.{l}.{key}.{part[1]}"] = t.detach().numpy()


def randomize(module, scale):
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn_like(p) * scale)


def main():
    torch.manual_seed(12)
    os.makedirs(OUT, exist_ok=True)
    eps = 1e-5
    dv, dt, heads, layers, inter, proj = 32, 32, 4, 2, 64, 16
    tok_vocab, ranks = make_tokenizer(OUT)
    image, patch, vocab, max_pos = 32, 8, len(tok_vocab), 16
    grid = image // patch
    tv = grid * grid + 1

    # Vision tower.
    conv = nn.Conv2d(3, dv, kernel_size=patch, stride=patch, bias=False)
    cls = torch.randn(dv) * 0.5
    vpos = nn.Embedding(tv, dv)
    pre = nn.LayerNorm(dv, eps=eps)
    post = nn.LayerNorm(dv, eps=eps)
    vblocks = [Layer(dv, heads, inter, eps) for _ in range(layers)]
    vproj = nn.Linear(dv, proj, bias=False)
    # Text tower.
    tok = nn.Embedding(vocab, dt)
    tpos = nn.Embedding(max_pos, dt)
    tblocks = [Layer(dt, heads, inter, eps) for _ in range(layers)]
    final = nn.LayerNorm(dt, eps=eps)
    tproj = nn.Linear(dt, proj, bias=False)
    for m in [conv, vpos, tok, tpos, vproj, tproj]:
        randomize(m, 0.3)
    for m in [pre, post, final] + vblocks + tblocks:
        for name, p in m.named_parameters():
            with torch.no_grad():
                if name.endswith("weight") and p.dim() == 1:
                    p.copy_(1 + 0.2 * torch.randn_like(p))
                elif p.dim() == 1:
                    p.copy_(0.1 * torch.randn_like(p))
                else:
                    p.copy_(torch.randn_like(p) * 0.25)
    logit_scale = torch.tensor(math.log(1 / 0.07))

    # The image and Hugging Face's CLIPImageProcessor steps with PIL: resize the shortest edge (bicubic),
    # centre crop, rescale, normalise.
    rng = np.random.default_rng(12)
    h, w = 48, 40
    y, x = np.mgrid[0:h, 0:w]
    img = np.zeros((h, w, 3))
    img[..., 0] = 255 * x / (w - 1)
    img[..., 1] = 255 * y / (h - 1)
    img[..., 2] = 128 + 100 * np.sin(x / 3.0) * np.cos(y / 4.0)
    img[(x - 25) ** 2 + (y - 20) ** 2 < 49] = [250, 20, 30]
    img += rng.normal(0, 10, size=img.shape)
    pil = Image.fromarray(np.clip(np.rint(img), 0, 255).astype(np.uint8), "RGB")
    pil.save(os.path.join(OUT, "image.png"))
    mean = [0.48145466, 0.4578275, 0.40821073]
    std = [0.26862954, 0.26130258, 0.27577711]
    pp = {"do_resize": True, "size": {"shortest_edge": image}, "resample": 3, "do_center_crop": True,
          "crop_size": {"height": image, "width": image}, "do_rescale": True, "rescale_factor": 1 / 255,
          "do_normalize": True, "image_mean": mean, "image_std": std, "image_processor_type": "CLIPImageProcessor"}
    write_json(os.path.join(OUT, "preprocessor_config.json"), pp)
    short, long = (w, h) if w <= h else (h, w)
    new_long = int(image * long / short)
    size = (image, new_long) if w <= h else (new_long, image)
    a = np.asarray(pil.resize(size, resample=3))
    top, left = (a.shape[0] - image) // 2, (a.shape[1] - image) // 2
    a = a[top:top + image, left:left + image]
    a = (a.astype(np.float64) * (1 / 255)).astype(np.float32)
    a = (a - np.array(mean, dtype=np.float32)) / np.array(std, dtype=np.float32)
    pixels = torch.tensor(np.ascontiguousarray(a.transpose(2, 0, 1)))

    ids = torch.tensor(encode("a photo of a cat", tok_vocab, ranks))  # EOS = the largest id, at the end
    assert int(torch.argmax(ids)) == len(ids) - 1
    golden = {"pixel_values": pixels.numpy(), "input_ids": ids.numpy().astype(np.float32)}

    # Vision forward.
    patches = conv(pixels[None])[0].flatten(1).transpose(0, 1)  # [grid², d]
    emb = torch.cat([cls[None], patches]) + vpos.weight
    golden["vision.embeddings"] = emb.detach().numpy()
    xv = pre(emb)
    vatt = []
    for l, b in enumerate(vblocks):
        xv, p = b(xv, False)
        vatt.append(p)
        golden[f"vision.attention.{l}"] = p.detach().numpy()
        golden[f"vision.hidden.{l}"] = xv.detach().numpy()
    golden["vision.post_layernorm"] = post(xv).detach().numpy()  # the norm on every row (the model pools row 0)
    pooled_v = post(xv[0])
    image_embeds = vproj(pooled_v)
    # Text forward.
    xt = tok(ids) + tpos.weight[: len(ids)]
    golden["text.embeddings"] = xt.detach().numpy()
    tatt = []
    for l, b in enumerate(tblocks):
        xt, p = b(xt, True)
        tatt.append(p)
        golden[f"text.attention.{l}"] = p.detach().numpy()
        golden[f"text.hidden.{l}"] = xt.detach().numpy()
    xt = final(xt)
    golden["text.final_norm"] = xt.detach().numpy()
    eos = int(torch.argmax(ids))
    text_embeds = tproj(xt[eos])
    golden["image_embeds"] = image_embeds.detach().numpy()
    golden["text_embeds"] = text_embeds.detach().numpy()
    sim = logit_scale.exp() * torch.dot(image_embeds / image_embeds.norm(), text_embeds / text_embeds.norm())
    golden["similarity"] = sim.detach().numpy().reshape(1)
    sim.backward()
    for l in range(layers):
        golden[f"vision.attention_grad.{l}"] = vatt[l].grad.numpy()
        golden[f"text.attention_grad.{l}"] = tatt[l].grad.numpy()
    write_safetensors(os.path.join(OUT, "golden.safetensors"), golden)

    weights = {
        "vision_model.embeddings.class_embedding": cls.numpy(),
        "vision_model.embeddings.patch_embedding.weight": conv.weight.detach().numpy(),
        "vision_model.embeddings.position_embedding.weight": vpos.weight.detach().numpy(),
        "vision_model.pre_layrnorm.weight": pre.weight.detach().numpy(),
        "vision_model.pre_layrnorm.bias": pre.bias.detach().numpy(),
        "vision_model.post_layernorm.weight": post.weight.detach().numpy(),
        "vision_model.post_layernorm.bias": post.bias.detach().numpy(),
        "visual_projection.weight": vproj.weight.detach().numpy(),
        "text_model.embeddings.token_embedding.weight": tok.weight.detach().numpy(),
        "text_model.embeddings.position_embedding.weight": tpos.weight.detach().numpy(),
        "text_model.final_layer_norm.weight": final.weight.detach().numpy(),
        "text_model.final_layer_norm.bias": final.bias.detach().numpy(),
        "text_projection.weight": tproj.weight.detach().numpy(),
        "logit_scale": logit_scale.numpy(),
    }
    weights_of("vision_model", vblocks, weights)
    weights_of("text_model", tblocks, weights)
    write_safetensors(os.path.join(OUT, "model.safetensors"), weights)
    write_json(os.path.join(OUT, "config.json"), {
        "architectures": ["CLIPModel"], "model_type": "clip", "projection_dim": proj, "logit_scale_init_value": 2.6592,
        "text_config": {"model_type": "clip_text_model", "vocab_size": vocab, "hidden_size": dt, "intermediate_size": inter,
                        "num_hidden_layers": layers, "num_attention_heads": heads, "max_position_embeddings": max_pos,
                        "hidden_act": "quick_gelu", "layer_norm_eps": eps, "bos_token_id": vocab - 2, "eos_token_id": 2,
                        "projection_dim": proj},
        "vision_config": {"model_type": "clip_vision_model", "hidden_size": dv, "intermediate_size": inter,
                          "num_hidden_layers": layers, "num_attention_heads": heads, "image_size": image,
                          "patch_size": patch, "num_channels": 3, "hidden_act": "quick_gelu", "layer_norm_eps": eps,
                          "projection_dim": proj},
    })
    print("similarity", float(sim))


if __name__ == "__main__":
    main()
