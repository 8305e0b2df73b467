"""gguf_writer.py -- a small GGUF v3 writer (numpy only).

Follows the GGUF file layout published with ggml/llama.cpp (docs/gguf.md),
little-endian throughout:

    magic "GGUF" | u32 version (3) | u64 n_tensors | u64 n_kv
    n_kv key/value pairs:  string key, u32 value type, value
    n_tensors tensor infos: string name, u32 n_dims, u64 ne[n_dims],
                            u32 ggml type, u64 offset (relative to the data
                            section, a multiple of general.alignment)
    zero padding up to general.alignment (default 32)
    data section: each tensor's bytes, each padded to the alignment

Strings are u64 length + UTF-8 bytes (no NUL).  Arrays are u32 element type,
u64 count, then the elements.  `ne` is in ggml order: ne[0] is the number of
columns (the contiguous dimension), i.e. the reverse of the numpy/torch shape.

Value type ids: uint8=0 int8=1 uint16=2 int16=3 uint32=4 int32=5 float32=6
bool=7 string=8 array=9 uint64=10 int64=11 float64=12.
ggml type ids we use: F32=0 F16=1 Q4_0=2 Q8_0=8 Q4_K=12 Q6_K=14 BF16=30.

Usage:
    w = GGUFWriter()
    w.add_string("general.architecture", "llama")
    w.add_uint32("llama.block_count", 2)
    w.add_array("tokenizer.ggml.tokens", ["a", "b"], GGUF_STRING)
    w.add_tensor("token_embd.weight", raw_bytes, shape=(V, H), ggml_type=GGML_F32)
    w.write("model.gguf")

`shape` is given in numpy/torch order (rows first); the writer reverses it.
`raw_bytes` is anything numpy can view as bytes (an ndarray or bytes) holding
exactly the tensor's encoded data (see quants.py for the block encodings).
"""

import struct

import numpy as np

GGUF_MAGIC = b"GGUF"
GGUF_VERSION = 3
GGUF_DEFAULT_ALIGNMENT = 32

# Metadata value types.
GGUF_UINT8 = 0
GGUF_INT8 = 1
GGUF_UINT16 = 2
GGUF_INT16 = 3
GGUF_UINT32 = 4
GGUF_INT32 = 5
GGUF_FLOAT32 = 6
GGUF_BOOL = 7
GGUF_STRING = 8
GGUF_ARRAY = 9
GGUF_UINT64 = 10
GGUF_INT64 = 11
GGUF_FLOAT64 = 12

# ggml tensor types.
GGML_F32 = 0
GGML_F16 = 1
GGML_Q4_0 = 2
GGML_Q8_0 = 8
GGML_Q4_K = 12
GGML_Q6_K = 14
GGML_BF16 = 30

# (elements per block, bytes per block) for each ggml type we know.
GGML_BLOCK = {
    GGML_F32: (1, 4),
    GGML_F16: (1, 2),
    GGML_BF16: (1, 2),
    GGML_Q8_0: (32, 34),
    GGML_Q4_0: (32, 18),
    GGML_Q4_K: (256, 144),
    GGML_Q6_K: (256, 210),
}

GGML_TYPE_NAMES = {
    GGML_F32: "f32", GGML_F16: "f16", GGML_BF16: "bf16", GGML_Q8_0: "q8_0",
    GGML_Q4_0: "q4_0", GGML_Q4_K: "q4_K", GGML_Q6_K: "q6_K",
}

# struct format characters of the scalar value types.
_SCALAR_FMT = {
    GGUF_UINT8: "<B", GGUF_INT8: "<b", GGUF_UINT16: "<H", GGUF_INT16: "<h",
    GGUF_UINT32: "<I", GGUF_INT32: "<i", GGUF_FLOAT32: "<f", GGUF_BOOL: "<?",
    GGUF_UINT64: "<Q", GGUF_INT64: "<q", GGUF_FLOAT64: "<d",
}


def ggml_nbytes(ggml_type, shape):
    """Bytes of a tensor of numpy-order `shape` stored as `ggml_type`."""
    blk, nb = GGML_BLOCK[ggml_type]
    n = 1
    for s in shape:
        n *= int(s)
    if shape and int(shape[-1]) % blk != 0:
        raise ValueError("row length %d is not a multiple of the block size %d"
                         % (int(shape[-1]), blk))
    return n // blk * nb


def _enc_string(s):
    b = s.encode("utf-8") if isinstance(s, str) else bytes(s)
    return struct.pack("<Q", len(b)) + b


def _enc_value(vtype, value):
    if vtype == GGUF_STRING:
        return _enc_string(value)
    if vtype == GGUF_ARRAY:
        raise ValueError("nested arrays are written with add_array")
    return struct.pack(_SCALAR_FMT[vtype], value)


class GGUFWriter:
    """Collects metadata and tensors in insertion order, then writes a file."""

    def __init__(self, alignment=GGUF_DEFAULT_ALIGNMENT):
        self.alignment = alignment
        self.kv = []        # (key, encoded type+value bytes)
        self.keys = set()
        self.tensors = []   # (name, shape, ggml_type, bytes)
        self.names = set()

    # -- metadata ---------------------------------------------------------
    def add_kv(self, key, vtype, value):
        """Add one scalar or string value of GGUF value type `vtype`."""
        if key in self.keys:
            raise ValueError("duplicate key %r" % key)
        self.keys.add(key)
        self.kv.append((key, struct.pack("<I", vtype) + _enc_value(vtype, value)))

    def add_array(self, key, values, elem_type):
        """Add an array whose elements all have GGUF value type `elem_type`."""
        if key in self.keys:
            raise ValueError("duplicate key %r" % key)
        self.keys.add(key)
        out = [struct.pack("<IIQ", GGUF_ARRAY, elem_type, len(values))]
        if elem_type == GGUF_STRING:
            out.extend(_enc_string(v) for v in values)
        else:
            fmt = _SCALAR_FMT[elem_type]
            out.append(np.asarray(values, dtype=np.dtype(fmt)).tobytes())
        self.kv.append((key, b"".join(out)))

    def add_uint32(self, key, v):
        self.add_kv(key, GGUF_UINT32, int(v))

    def add_int32(self, key, v):
        self.add_kv(key, GGUF_INT32, int(v))

    def add_uint64(self, key, v):
        self.add_kv(key, GGUF_UINT64, int(v))

    def add_float32(self, key, v):
        self.add_kv(key, GGUF_FLOAT32, float(v))

    def add_bool(self, key, v):
        self.add_kv(key, GGUF_BOOL, bool(v))

    def add_string(self, key, v):
        self.add_kv(key, GGUF_STRING, v)

    # -- tensors ----------------------------------------------------------
    def add_tensor(self, name, data, shape, ggml_type):
        """Add a tensor: `data` holds its encoded bytes, `shape` is numpy order."""
        if name in self.names:
            raise ValueError("duplicate tensor %r" % name)
        raw = np.ascontiguousarray(data).view(np.uint8).reshape(-1).tobytes() \
            if isinstance(data, np.ndarray) else bytes(data)
        want = ggml_nbytes(ggml_type, shape)
        if len(raw) != want:
            raise ValueError("tensor %s: %d bytes given, %d expected for type %s shape %s"
                             % (name, len(raw), want, GGML_TYPE_NAMES.get(ggml_type), shape))
        self.names.add(name)
        self.tensors.append((name, tuple(int(s) for s in shape), ggml_type, raw))

    # -- output -----------------------------------------------------------
    def _pad(self, n):
        return (-n) % self.alignment

    def to_bytes(self):
        """The whole file as one bytes object."""
        out = [GGUF_MAGIC, struct.pack("<IQQ", GGUF_VERSION, len(self.tensors), len(self.kv))]
        for key, enc in self.kv:
            out.append(_enc_string(key))
            out.append(enc)
        offset = 0
        offsets = []
        for name, shape, gtype, raw in self.tensors:
            offsets.append(offset)
            offset += len(raw) + self._pad(len(raw))
        for (name, shape, gtype, raw), off in zip(self.tensors, offsets):
            ne = list(reversed(shape)) or [1]
            out.append(_enc_string(name))
            out.append(struct.pack("<I", len(ne)))
            out.append(struct.pack("<%dQ" % len(ne), *ne))
            out.append(struct.pack("<IQ", gtype, off))
        head = b"".join(out)
        parts = [head, b"\0" * self._pad(len(head))]
        for name, shape, gtype, raw in self.tensors:
            parts.append(raw)
            parts.append(b"\0" * self._pad(len(raw)))
        return b"".join(parts)

    def write(self, path):
        with open(path, "wb") as f:
            f.write(self.to_bytes())


if __name__ == "__main__":
    # Self-check: write a tiny file and read it back with gguf_reader.
    import os
    import sys
    import tempfile
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import gguf_reader

    w = GGUFWriter()
    w.add_string("general.architecture", "test")
    w.add_uint32("test.n", 7)
    w.add_float32("test.f", 0.5)
    w.add_bool("test.b", True)
    w.add_int32("test.i", -3)
    w.add_kv("test.u64", GGUF_UINT64, 1 << 40)
    w.add_kv("test.f64", GGUF_FLOAT64, 2.25)
    w.add_array("test.strs", ["a", "bc", "\u00e9"], GGUF_STRING)
    w.add_array("test.ints", [1, -2, 3], GGUF_INT32)
    a = np.arange(15, dtype=np.float32).reshape(3, 5)
    b = np.arange(7, dtype=np.float16)
    w.add_tensor("a", a, a.shape, GGML_F32)
    w.add_tensor("b", b, b.shape, GGML_F16)
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "t.gguf")
        w.write(p)
        r = gguf_reader.GGUFReader(p)
        assert r.version == 3
        md = r.metadata
        assert md["general.architecture"] == "test" and md["test.n"] == 7
        assert md["test.f"] == 0.5 and md["test.b"] is True and md["test.i"] == -3
        assert md["test.u64"] == 1 << 40 and md["test.f64"] == 2.25
        assert md["test.strs"] == ["a", "bc", "\u00e9"], md["test.strs"]
        assert list(md["test.ints"]) == [1, -2, 3]
        ta, tb = r.tensors["a"], r.tensors["b"]
        assert ta.shape == (3, 5) and ta.ne == (5, 3) and ta.ggml_type == GGML_F32
        assert np.array_equal(r.to_float32("a"), a)
        assert np.array_equal(r.to_float32("b"), b.astype(np.float32))
        assert ta.offset % 32 == 0 and tb.offset % 32 == 0
        del r
    print("gguf_writer self-check: ok")
