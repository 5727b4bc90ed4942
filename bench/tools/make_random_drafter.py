#!/usr/bin/env python3
"""Write a random-weight MTP drafter with the shapes and metadata of Gemma 4 12B's
(mtp-gemma-4-12B-it-qat-Q4_0.gguf, llama.cpp's "gemma4-assistant" layout, spec section 7.2):
4 layers (3 sliding, 1 global) 1024 wide reading the target's KV cache, a 7680 -> 1024
pre-projection, a 1024 -> 3840 post-projection and its own tied 262144-row head.

It pairs with make_random_model.py's 12B: both copy their tokenizer from the same template,
so g4 accepts the pair. Random weights draft tokens the target never accepts: the file
times a drafting step, not acceptance.

usage: make_random_drafter.py TEMPLATE.gguf OUT.gguf
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_mini as G  # noqa: E402
from make_random_model import H, HD_G, HD_SWA, NH, NKV_G, NKV_SWA, V, random_tensor_data  # noqa: E402

A = "gemma4-assistant."
D, FF_D, L_D, WINDOW = 1024, 8192, 4, 1024
SWA = [True, True, True, False]


def metadata():
    return [
        ("general.architecture", G.STR, "gemma4-assistant", None),
        ("general.name", G.STR, "gemma-4-12b-mtp-random-q4_0", None),
        ("general.file_type", G.U32, 2, None),
        (A + "context_length", G.U32, 131072, None),
        (A + "embedding_length", G.U32, D, None),
        (A + "embedding_length_out", G.U32, H, None),
        (A + "block_count", G.U32, L_D, None),
        (A + "nextn_predict_layers", G.U32, L_D, None),
        (A + "feed_forward_length", G.U32, FF_D, None),
        (A + "attention.head_count", G.U32, NH, None),
        (A + "attention.head_count_kv", G.ARR, [NKV_SWA if s else NKV_G for s in SWA], G.U32),
        (A + "attention.key_length", G.U32, HD_G, None),
        (A + "attention.value_length", G.U32, HD_G, None),
        (A + "attention.key_length_swa", G.U32, HD_SWA, None),
        (A + "attention.value_length_swa", G.U32, HD_SWA, None),
        (A + "attention.sliding_window", G.U32, WINDOW, None),
        (A + "attention.sliding_window_pattern", G.ARR, SWA, G.BOOL),
        (A + "attention.shared_kv_layers", G.U32, L_D, None),
        (A + "attention.layer_norm_rms_epsilon", G.F32, 1e-6, None),
        (A + "rope.freq_base", G.F32, 1e6, None),
        (A + "rope.freq_base_swa", G.F32, 1e4, None),
        (A + "rope.dimension_count", G.U32, HD_G, None),
        (A + "rope.dimension_count_swa", G.U32, HD_SWA, None),
        (A + "embedding_length_per_layer_input", G.U32, 0, None),
    ]


def tensors():
    """(name, ne, type): the 49 tensors of the 12B assistant. The head is Q6_K, as
    llama.cpp's Q4_0 files store token embeddings."""
    out = [("token_embd.weight", [D, V], "Q6_K"), ("output_norm.weight", [D], "F32"),
           ("nextn.pre_projection.weight", [2 * H, D], "Q4_0"),
           ("nextn.post_projection.weight", [D, H], "Q4_0"),
           ("rope_freqs.weight", [HD_G // 2], "F32")]
    for i, sliding in enumerate(SWA):
        hd = HD_SWA if sliding else HD_G
        p = "blk.%d." % i
        for n, ne in [("attn_norm", [D]), ("attn_q", [D, NH * hd]), ("attn_q_norm", [hd]),
                      ("attn_output", [NH * hd, D]), ("post_attention_norm", [D]),
                      ("ffn_norm", [D]), ("ffn_gate", [D, FF_D]), ("ffn_up", [D, FF_D]),
                      ("ffn_down", [FF_D, D]), ("post_ffw_norm", [D]),
                      ("layer_output_scale", [1])]:
            out.append((p + n + ".weight", ne, "Q4_0" if len(ne) == 2 else "F32"))
    return out


def main():
    tpl, out = sys.argv[1], sys.argv[2]
    w = G.Writer(out)
    for key, t, v, et in metadata():
        w.add(key, t, v, et)
    for key, (t, v, et) in G.Reader(tpl).kv.items():
        if key.startswith("tokenizer."):
            w.add(key, t, v, et)
    for name, ne, tname in tensors():
        w.add_tensor_info(name, ne, tname)
    w.write(random_tensor_data(np.random.default_rng(2)))
    print("wrote", out, os.path.getsize(out) / 1e9, "GB")


if __name__ == "__main__":
    main()
