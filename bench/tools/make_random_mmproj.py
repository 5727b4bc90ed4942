#!/usr/bin/env python3
"""Write a random-weight multimodal projector with the tensor names, shapes and types of
Gemma 4 12B's official BF16 mmproj (gemma4uv + gemma4ua, 11 tensors, 175 MB of data).

The projector's speed does not depend on its weights, so this times the image and audio
path on the real shapes. Metadata keys are taken from a template projector (the tiny test
one) with the sizes replaced.

usage: make_random_mmproj.py TEMPLATE-mmproj.gguf OUT.gguf
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_mini as G  # noqa: E402

HIDDEN, PATCH, POSITIONS, FRAME = 3840, 6912, 1120, 640

TENSORS = [  # name, ne (GGUF order), type of the official BF16 file
    ("v.patch_norm.1.weight", [PATCH], "F32"),
    ("v.patch_norm.1.bias", [PATCH], "F32"),
    ("v.patch_embd.weight", [PATCH, HIDDEN], "F32"),
    ("v.patch_embd.bias", [HIDDEN], "F32"),
    ("v.patch_norm.2.weight", [HIDDEN], "F32"),
    ("v.patch_norm.2.bias", [HIDDEN], "F32"),
    ("v.position_embd.weight", [HIDDEN, POSITIONS, 2], "F32"),
    ("v.patch_norm.3.weight", [HIDDEN], "F32"),
    ("v.patch_norm.3.bias", [HIDDEN], "F32"),
    ("mm.input_projection.weight", [HIDDEN, HIDDEN], "BF16"),
    ("mm.a.input_projection.weight", [FRAME, HIDDEN], "BF16"),
]

SIZES = {
    "clip.vision.projection_dim": HIDDEN,
    "clip.vision.embedding_length": HIDDEN,
    "clip.audio.projection_dim": HIDDEN,
}


def values(rng, name, ne):
    n = int(np.prod(ne))
    if name.endswith(".bias"):
        return 0.1 * rng.standard_normal(n)
    if len(ne) == 1:
        return 1 + 0.1 * rng.standard_normal(n)
    if "position" in name:
        return 0.5 * rng.standard_normal(n)
    return rng.standard_normal(n) / np.sqrt(ne[0])


def main():
    template, out = sys.argv[1], sys.argv[2]
    r = G.Reader(template)
    w = G.Writer(out)
    for key, (t, v, et) in r.kv.items():
        w.add(key, t, SIZES.get(key, v), et)
    for name, ne, tname in TENSORS:
        w.add_tensor_info(name, ne, tname)
    rng = np.random.default_rng(2)

    def produce(name, ne, tname, nbytes):
        v = values(rng, name, ne).astype(np.float32)
        if tname == "BF16":
            return (v.view(np.uint32) >> 16).astype(np.uint16).tobytes()
        return v.tobytes()

    w.write(produce)
    print("wrote", out, os.path.getsize(out) / 1e6, "MB")


if __name__ == "__main__":
    main()
