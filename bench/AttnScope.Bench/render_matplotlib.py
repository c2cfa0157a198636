#!/usr/bin/env python3
"""The matplotlib peer of `AttnScope.Bench -- views --end-to-end`: one process that does what
`attnscope render CAPTURE --view model -o OUT.png` does, the way a researcher would script it: read the capture with
numpy alone (docs/capture-format.md), draw every layer x head as an imshow panel (one shared colour scale, layer and
head labels, a colour bar, a title) at the given pixel size, and save the PNG. The benchmark times this process from
its start to its exit, as it times the attnscope process.

usage: render_matplotlib.py CAPTURE OUT.png WIDTHxHEIGHT"""
import json, struct, sys

import numpy as np
import matplotlib
matplotlib.use("Agg")

from views_matplotlib import model_view  # the same grid drawing as the in-process views bench


def load_attention(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        e = header["encoder.attention"]
        begin, end = e["data_offsets"]
        f.seek(8 + n + begin)
        data = f.read(end - begin)
    return np.frombuffer(data, dtype="<f4").reshape(e["shape"])


def main():
    capture, out, size = sys.argv[1], sys.argv[2], sys.argv[3]
    width_px, height_px = (int(v) for v in size.split("x"))
    att = load_attention(capture)
    layers, heads = att.shape[:2]
    model_view(att, width_px, height_px, out=out, head_titles=lambda h: f"head {h}", layer_titles=lambda l: f"layer {l}",
               title=f"model view: {layers} layers x {heads} heads, {att.shape[2]} tokens")


if __name__ == "__main__":
    main()
