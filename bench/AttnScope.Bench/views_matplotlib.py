#!/usr/bin/env python3
"""The matplotlib peer of `AttnScope.Bench -- views`: draws the same figures the way researchers usually do
(a subplot grid of imshow panels, tick labels from the tokens, a colour bar, savefig to PNG) and prints the
median seconds per figure as JSON. Reads captures with numpy alone (docs/capture-format.md)."""
import io, json, os, statistics, struct, sys, time

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np


def load_capture(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__")
    tensors = {}
    for name, e in header.items():
        begin, end = e["data_offsets"]
        tensors[name] = np.frombuffer(data[begin:end], dtype="<f4").reshape(e["shape"])
    return tensors, [t["text"] for t in json.loads(meta["tokens"])]


def model_view(att, width_px, height_px, out=None, head_titles=str, layer_titles=str, title=None):
    """The layers x heads grid; saved as PNG to `out` (a path) or, without one, to memory. Returns the PNG's size."""
    layers, heads = att.shape[:2]
    dpi = 100
    fig, axes = plt.subplots(layers, heads, figsize=(width_px / dpi, height_px / dpi), dpi=dpi, squeeze=False)
    vmax = float(att.max())
    im = None
    for l in range(layers):
        for h in range(heads):
            ax = axes[l][h]
            im = ax.imshow(att[l, h], cmap="viridis", vmin=0, vmax=vmax)
            ax.set_xticks([])
            ax.set_yticks([])
            if l == 0:
                ax.set_title(head_titles(h), fontsize=9)
            if h == 0:
                ax.set_ylabel(layer_titles(l), fontsize=9)
    fig.colorbar(im, ax=axes, fraction=0.02)
    fig.suptitle(title or f"{layers} layers × {heads} heads")
    if out is not None:
        fig.savefig(out, format="png", dpi=dpi)
        plt.close(fig)
        return os.path.getsize(out)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return buf.getbuffer().nbytes


def head_view(att, tokens, width_px, height_px):
    dpi = 100
    fig, ax = plt.subplots(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    m = att[0, 0]
    im = ax.imshow(m, cmap="viridis", vmin=0, vmax=float(m.max()))
    n = len(tokens)
    ax.set_xticks(range(n))
    ax.set_xticklabels(tokens, rotation=90, fontsize=7)
    ax.set_yticks(range(n))
    ax.set_yticklabels(tokens, fontsize=7)
    ax.set_xlabel("key")
    ax.set_ylabel("query")
    ax.set_title("layer 0 · head 0")
    fig.colorbar(im, ax=ax)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return buf.getbuffer().nbytes


def timed(runs, fn):
    fn()  # warm-up (font cache, colour maps)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), times


def main():
    args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
    runs = int(args.get("--runs", "3"))
    model_att, _ = load_capture(args["--model"])
    model_att = model_att["encoder.attention"]
    head_att, head_tokens = load_capture(args["--head"])
    head_att = head_att["encoder.attention"]
    mw, mh = int(args["--model-size"].split("x")[0]), int(args["--model-size"].split("x")[1])
    hw, hh = int(args["--head-size"].split("x")[0]), int(args["--head-size"].split("x")[1])
    model_median, model_times = timed(runs, lambda: model_view(model_att, mw, mh))
    head_median, head_times = timed(runs, lambda: head_view(head_att, head_tokens, hw, hh))
    print(json.dumps({
        "matplotlib": matplotlib.__version__,
        "model_s": model_median, "model_runs_s": model_times,
        "head_s": head_median, "head_runs_s": head_times,
    }))


if __name__ == "__main__":
    main()
