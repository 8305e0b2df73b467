#!/usr/bin/env python3
"""make_seeds.py -- write a small seed corpus for the format fuzzers.

Usage: make_seeds.py OUTDIR
Writes OUTDIR/gguf/*.gguf and OUTDIR/safetensors/*.safetensors: a few small,
valid files covering every GGUF value type, string arrays, custom alignment,
each supported tensor type, and the usual safetensors layouts. Seeds are
generated at test time so that no binary files live in the repository.
Standard library only.
"""
import json
import os
import struct
import sys

# ----------------------------------------------------------------- GGUF

T_U8, T_I8, T_U16, T_I16, T_U32, T_I32, T_F32, T_BOOL, T_STR, T_ARR, T_U64, T_I64, T_F64 = range(13)
SCALAR_FMT = {T_U8: "<B", T_I8: "<b", T_U16: "<H", T_I16: "<h", T_U32: "<I", T_I32: "<i",
              T_F32: "<f", T_BOOL: "<B", T_U64: "<Q", T_I64: "<q", T_F64: "<d"}
# ggml type id -> (block size, block bytes)
GGML = {0: (1, 4), 1: (1, 2), 2: (32, 18), 8: (32, 34), 12: (256, 144), 14: (256, 210), 30: (1, 2), 13: (256, 176)}


def gstr(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def gvalue(t, v):
    if t == T_STR:
        return gstr(v)
    if t == T_ARR:
        et, items = v
        return struct.pack("<IQ", et, len(items)) + b"".join(gvalue(et, x) for x in items)
    return struct.pack(SCALAR_FMT[t], v)


def gguf(kvs, tensors, version=3, alignment=32):
    """kvs: [(key, type, value)]; tensors: [(name, [ne...], ggml_type)]."""
    out = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kvs))
    for k, t, v in kvs:
        out += gstr(k) + struct.pack("<I", t) + gvalue(t, v)
    offset, data = 0, b""
    for name, ne, gt in tensors:
        bs, bb = GGML[gt]
        n = 1
        for d in ne:
            n *= d
        nbytes = n // bs * bb
        out += gstr(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", d) for d in ne)
        out += struct.pack("<IQ", gt, offset)
        data += bytes((i * 7 + 1) & 255 for i in range(nbytes))
        pad = (-len(data)) % alignment
        data += b"\0" * pad
        offset += nbytes + pad
    out += b"\0" * ((-len(out)) % alignment)
    return out + data


def gguf_seeds():
    every_type = [
        ("general.architecture", T_STR, "llama"),
        ("u8", T_U8, 7), ("i8", T_I8, -7), ("u16", T_U16, 700), ("i16", T_I16, -700),
        ("u32", T_U32, 70000), ("i32", T_I32, -70000), ("f32", T_F32, 0.5), ("b", T_BOOL, 1),
        ("u64", T_U64, 1 << 40), ("i64", T_I64, -(1 << 40)), ("f64", T_F64, 1e-5),
        ("a.u32", T_ARR, (T_U32, [1, 2, 3])), ("a.f32", T_ARR, (T_F32, [0.0, -1.0])),
        ("a.bool", T_ARR, (T_BOOL, [0, 1])), ("a.i64", T_ARR, (T_I64, [5])),
        ("tokenizer.ggml.tokens", T_ARR, (T_STR, ["<s>", "</s>", "a", "b"])),
    ]
    yield "every_type.gguf", gguf(every_type, [("w", [8, 2], 0)])
    yield "tensor_types.gguf", gguf([("general.architecture", T_STR, "llama")], [
        ("f32", [4], 0), ("f16", [4, 2], 1), ("bf16", [2], 30), ("q8_0", [32], 8),
        ("q4_0", [32, 2], 2), ("q4_K", [256], 12), ("q6_K", [256], 14), ("q5_K", [256], 13)])
    yield "align64_v2.gguf", gguf([("general.alignment", T_U32, 64)],
                                  [("a", [3], 0), ("b", [5, 1, 1, 2], 0)], version=2, alignment=64)
    yield "empty.gguf", gguf([], [])
    llama = [("general.architecture", T_STR, "llama"), ("general.name", T_STR, "tiny"),
             ("llama.block_count", T_U32, 1), ("llama.embedding_length", T_U32, 8),
             ("llama.attention.head_count", T_U32, 2), ("llama.rope.freq_base", T_F32, 10000.0)]
    yield "llama.gguf", gguf(llama, [("token_embd.weight", [8, 4], 0), ("output_norm.weight", [8], 0),
                                     ("blk.0.attn_q.weight", [8, 8], 1)])


# ---------------------------------------------------------- safetensors

ST_SIZE = {"F32": 4, "F16": 2, "BF16": 2, "I64": 8, "U8": 1, "BOOL": 1, "F64": 8}


def safetensors(tensors, metadata=None, pad_to=8):
    """tensors: [(name, dtype, shape)]; data laid out in order."""
    header, offset = {}, 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dt, shape in tensors:
        n = ST_SIZE[dt]
        for d in shape:
            n *= d
        header[name] = {"dtype": dt, "shape": shape, "data_offsets": [offset, offset + n]}
        offset += n
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((-len(h)) % pad_to)
    return struct.pack("<Q", len(h)) + h + bytes((i * 3 + 1) & 255 for i in range(offset))


def st_seeds():
    yield "basic.safetensors", safetensors([("a", "F32", [2, 3]), ("b", "F16", [4]), ("c", "BF16", [2, 2])],
                                           {"format": "pt"})
    yield "other_dtypes.safetensors", safetensors([("ids", "I64", [3]), ("m", "BOOL", [4]), ("s", "F32", []),
                                                   ("e", "F32", [0, 5]), ("d", "F64", [1, 1, 1, 1, 1, 1, 1, 2])])
    yield "hf_names.safetensors", safetensors([("model.embed_tokens.weight", "F32", [4, 2]),
                                               ("model.layers.0.self_attn.q_proj.weight", "F32", [2, 2]),
                                               ("lm_head.weight", "BF16", [4, 2])], pad_to=1)
    yield "empty.safetensors", safetensors([])


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_seeds.py OUTDIR")
    for sub, seeds in (("gguf", gguf_seeds()), ("safetensors", st_seeds())):
        d = os.path.join(sys.argv[1], sub)
        os.makedirs(d, exist_ok=True)
        for name, data in seeds:
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
