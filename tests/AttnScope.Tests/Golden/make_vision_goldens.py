#!/usr/bin/python3
"""Writes the vision golden folders (tiny ViT, tiny DeiT) and the preprocessing golden.

Each model folder holds a Hugging Face-format image classifier (config.json,
preprocessor_config.json, model.safetensors with Hugging Face's tensor names) with small random
weights, an input image (image.png, drawn here), and the reference outputs computed here:
golden.safetensors with the pixel tensor, the embeddings, every layer's attention [heads, T, T]
and output, the final norm and the logits.

The reference is built from PyTorch's own modules (nn.Conv2d for the patch embedding, nn.Linear
for the projections, nn.LayerNorm, nn.GELU) following Hugging Face's ViT / DeiT semantics; each
layer's attention is also checked against nn.MultiheadAttention with the same weights. The pixel
tensor follows Hugging Face's ViTImageProcessor / DeiTImageProcessor steps with PIL (Debian's
python3-pil) doing the resize: PIL resize -> centre crop -> x * rescale_factor -> (x - mean) / std.
preprocess.safetensors adds the pixels of one image resized with every PIL filter, down and up.

Nothing here uses AttnScope's code. Run from the repository root:
    /usr/bin/python3 -B tests/AttnScope.Tests/Golden/make_vision_goldens.py
Needs Debian's python3-torch, python3-numpy and python3-pil. Deterministic: a rerun writes the
same bytes.
"""

import json
import math
import os
import struct

import numpy as np
import torch
import torch.nn as nn
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)


def write_safetensors(path, tensors):
    header = {"__metadata__": {"format": "pt"}}
    blobs, offset = [], 0
    for name in sorted(tensors):
        raw = np.ascontiguousarray(tensors[name], dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(np.asarray(tensors[name]).shape),
                        "data_offsets": [offset, offset + len(raw)]}
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


def draw_image(w, h, seed):
    """A smooth gradient with a few hard-edged shapes (so resampling filters differ visibly)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    img = np.zeros((h, w, 3), dtype=np.float64)
    img[..., 0] = 255 * x / max(1, w - 1)
    img[..., 1] = 255 * y / max(1, h - 1)
    img[..., 2] = 128 + 100 * np.sin(x / 3.0) * np.cos(y / 4.0)
    for _ in range(4):
        cx, cy, r = rng.integers(0, w), rng.integers(0, h), rng.integers(3, 9)
        img[(x - cx) ** 2 + (y - cy) ** 2 < r * r] = rng.integers(0, 256, size=3)
    img += rng.normal(0, 12, size=img.shape)
    return Image.fromarray(np.clip(np.rint(img), 0, 255).astype(np.uint8), "RGB")


def preprocess(img, pp):
    """Hugging Face's image processor steps for ViT / DeiT, with PIL doing the resize."""
    img = img.convert("RGB")
    if pp.get("do_resize", True):
        size = pp["size"]
        img = img.resize((size["width"], size["height"]), resample=pp["resample"])
    a = np.asarray(img)
    if pp.get("do_center_crop", False):
        ch, cw = pp["crop_size"]["height"], pp["crop_size"]["width"]
        top, left = (a.shape[0] - ch) // 2, (a.shape[1] - cw) // 2
        a = a[top:top + ch, left:left + cw]
    a = (a.astype(np.float64) * pp["rescale_factor"]).astype(np.float32)
    mean = np.array(pp["image_mean"], dtype=np.float32)
    std = np.array(pp["image_std"], dtype=np.float32)
    a = (a - mean) / std
    return np.ascontiguousarray(a.transpose(2, 0, 1))  # [3, h, w]


class Layer(nn.Module):
    def __init__(self, d, heads, inter, eps):
        super().__init__()
        self.heads = heads
        self.before = nn.LayerNorm(d, eps=eps)
        self.after = nn.LayerNorm(d, eps=eps)
        self.q, self.k, self.v = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
        self.o = nn.Linear(d, d)
        self.up, self.down = nn.Linear(d, inter), nn.Linear(inter, d)
        self.act = nn.GELU()

    def forward(self, x):
        t, d = x.shape
        dh = d // self.heads
        a = self.before(x)
        q = self.q(a).view(t, self.heads, dh).transpose(0, 1)
        k = self.k(a).view(t, self.heads, dh).transpose(0, 1)
        v = self.v(a).view(t, self.heads, dh).transpose(0, 1)
        p = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(dh), dim=-1)
        ctx = (p @ v).transpose(0, 1).reshape(t, d)
        # The same attention through nn.MultiheadAttention with these weights.
        mha = nn.MultiheadAttention(d, self.heads, bias=True)
        with torch.no_grad():
            mha.in_proj_weight.copy_(torch.cat([self.q.weight, self.k.weight, self.v.weight]))
            mha.in_proj_bias.copy_(torch.cat([self.q.bias, self.k.bias, self.v.bias]))
            mha.out_proj.weight.copy_(self.o.weight)
            mha.out_proj.bias.copy_(self.o.bias)
        out2, p2 = mha(a[:, None], a[:, None], a[:, None], need_weights=True, average_attn_weights=False)
        assert torch.allclose(p2[0], p, atol=1e-6), "nn.MultiheadAttention disagrees"
        attn = self.o(ctx)
        assert torch.allclose(out2[:, 0], attn, atol=1e-5)
        x = x + attn
        x = x + self.down(self.act(self.up(self.after(x))))
        return x, p


def make_model(name, model_type, distill, d, heads, layers, inter, image, patch, labels, pp, img_size, seed):
    torch.manual_seed(seed)
    eps = 1e-12
    grid = image // patch
    extra = 2 if distill else 1
    conv = nn.Conv2d(3, d, kernel_size=patch, stride=patch)
    cls = torch.randn(1, 1, d) * 0.5
    dist = torch.randn(1, 1, d) * 0.5
    pos = torch.randn(1, grid * grid + extra, d) * 0.5
    blocks = [Layer(d, heads, inter, eps) for _ in range(layers)]
    with torch.no_grad():
        for b in blocks:
            b.q.weight.mul_(3.0)
            b.k.weight.mul_(3.0)
            b.before.weight.copy_(1 + 0.2 * torch.randn(d))
            b.before.bias.copy_(0.1 * torch.randn(d))
            b.after.weight.copy_(1 + 0.2 * torch.randn(d))
            b.after.bias.copy_(0.1 * torch.randn(d))
    final = nn.LayerNorm(d, eps=eps)
    with torch.no_grad():
        final.weight.copy_(1 + 0.2 * torch.randn(d))
        final.bias.copy_(0.1 * torch.randn(d))
    heads_out = {}
    if distill:
        heads_out["cls_classifier"] = nn.Linear(d, labels)
        heads_out["distillation_classifier"] = nn.Linear(d, labels)
    else:
        heads_out["classifier"] = nn.Linear(d, labels)

    img = draw_image(img_size[0], img_size[1], seed)
    pixels = preprocess(img, pp)
    with torch.no_grad():
        x = torch.from_numpy(pixels)[None]
        patches = conv(x).flatten(2).transpose(1, 2)[0]  # [grid*grid, d], row-major over the grid
        tokens = [cls[0]] + ([dist[0]] if distill else []) + [patches]
        h = torch.cat(tokens, dim=0) + pos[0]
        gold = {"pixel_values": pixels, "embeddings": h.numpy().copy()}
        for l, b in enumerate(blocks):
            h, p = b(h)
            gold[f"attention.{l}"] = p.numpy().copy()
            gold[f"hidden.{l}"] = h.numpy().copy()
        hn = final(h)
        gold["final_norm"] = hn.numpy().copy()
        if distill:
            logits = (heads_out["cls_classifier"](hn[0]) + heads_out["distillation_classifier"](hn[1])) / 2
        else:
            logits = heads_out["classifier"](hn[0])
        gold["logits"] = logits.numpy().copy()

    prefix = model_type + "."
    w = {
        prefix + "embeddings.patch_embeddings.projection.weight": conv.weight.detach().numpy(),
        prefix + "embeddings.patch_embeddings.projection.bias": conv.bias.detach().numpy(),
        prefix + "embeddings.cls_token": cls.numpy(),
        prefix + "embeddings.position_embeddings": pos.numpy(),
        prefix + "layernorm.weight": final.weight.detach().numpy(),
        prefix + "layernorm.bias": final.bias.detach().numpy(),
    }
    if distill:
        w[prefix + "embeddings.distillation_token"] = dist.numpy()
    for l, b in enumerate(blocks):
        p = f"{prefix}encoder.layer.{l}."
        for part, mod in [("attention.attention.query", b.q), ("attention.attention.key", b.k),
                          ("attention.attention.value", b.v), ("attention.output.dense", b.o),
                          ("layernorm_before", b.before), ("layernorm_after", b.after),
                          ("intermediate.dense", b.up), ("output.dense", b.down)]:
            w[p + part + ".weight"] = mod.weight.detach().numpy()
            w[p + part + ".bias"] = mod.bias.detach().numpy()
    for k, m in heads_out.items():
        w[k + ".weight"] = m.weight.detach().numpy()
        w[k + ".bias"] = m.bias.detach().numpy()

    folder = os.path.join(HERE, name)
    os.makedirs(folder, exist_ok=True)
    arch = ("DeiTForImageClassificationWithTeacher" if distill else "ViTForImageClassification")
    write_json(os.path.join(folder, "config.json"), {
        "architectures": [arch], "model_type": model_type, "hidden_size": d, "num_hidden_layers": layers,
        "num_attention_heads": heads, "intermediate_size": inter, "hidden_act": "gelu",
        "layer_norm_eps": eps, "image_size": image, "patch_size": patch, "num_channels": 3, "qkv_bias": True,
        "id2label": {str(i): f"class{i}" for i in range(labels)},
        "label2id": {f"class{i}": i for i in range(labels)},
    })
    write_json(os.path.join(folder, "preprocessor_config.json"), pp)
    write_safetensors(os.path.join(folder, "model.safetensors"), w)
    write_safetensors(os.path.join(folder, "golden.safetensors"), gold)
    img.save(os.path.join(folder, "image.png"))
    print(name, "tokens", gold["embeddings"].shape[0], "max attention", max(gold[f"attention.{l}"].max() for l in range(layers)))


def make_preprocess_golden():
    """One image resized with each PIL filter, down (61x47 -> 24x20) and up (-> 80x66), as uint8 RGB."""
    img = draw_image(61, 47, 7)
    folder = os.path.join(HERE, "vision-preprocess")
    os.makedirs(folder, exist_ok=True)
    img.save(os.path.join(folder, "image.png"))
    out = {}
    for resample in range(6):  # NEAREST, LANCZOS, BILINEAR, BICUBIC, BOX, HAMMING
        for tag, size in [("down", (24, 20)), ("up", (80, 66))]:
            out[f"resample{resample}.{tag}"] = np.asarray(img.resize(size, resample=resample)).astype(np.float32)
    write_safetensors(os.path.join(folder, "resized.safetensors"), out)
    # The same image as JPEG (4:2:0 chroma, quality 90) and lossy WebP, with PIL's decoding of each, so the decoders
    # SkiaSharp uses can be compared with PIL's (lossless PNG decodes identically everywhere).
    img.save(os.path.join(folder, "image.jpg"), quality=90)
    img.save(os.path.join(folder, "image.webp"), quality=90)
    decoded = {}
    for ext in ["jpg", "webp"]:
        with Image.open(os.path.join(folder, "image." + ext)) as im:
            decoded[ext] = np.asarray(im.convert("RGB")).astype(np.float32)
    write_safetensors(os.path.join(folder, "decoded.safetensors"), decoded)


def main():
    vit_pp = {"do_normalize": True, "do_rescale": True, "do_resize": True, "image_mean": [0.5, 0.5, 0.5],
              "image_processor_type": "ViTImageProcessor", "image_std": [0.5, 0.5, 0.5], "resample": 2,
              "rescale_factor": 0.00392156862745098, "size": {"height": 32, "width": 32}}
    deit_pp = {"do_center_crop": True, "do_normalize": True, "do_rescale": True, "do_resize": True,
               "crop_size": {"height": 32, "width": 32}, "image_mean": [0.485, 0.456, 0.406],
               "image_processor_type": "DeiTImageProcessor", "image_std": [0.229, 0.224, 0.225],
               "resample": 3, "rescale_factor": 0.00392156862745098, "size": {"height": 37, "width": 37}}
    make_model("tiny-vit", "vit", False, 32, 4, 2, 64, 32, 8, 3, vit_pp, (50, 41), 1)
    make_model("tiny-deit", "deit", True, 32, 4, 2, 64, 32, 8, 3, deit_pp, (45, 58), 2)
    make_preprocess_golden()


if __name__ == "__main__":
    main()
