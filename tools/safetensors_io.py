"""safetensors_io.py -- write and read Hugging Face safetensors files (numpy only).

Follows the safetensors format specification (huggingface/safetensors README):

    u64 little-endian N = length of the JSON header
    N bytes of UTF-8 JSON:  {"TENSOR": {"dtype": "F32", "shape": [..],
                                        "data_offsets": [begin, end]}, ...,
                             "__metadata__": {"format": "pt"}}
    the data buffer; offsets are relative to its start, tensors row-major
    little-endian, contiguous and non-overlapping.

Supported dtypes: F32, F16, BF16 (bf16 = float32 rounded to nearest even and
stored as its upper 16 bits, see quants.f32_to_bf16).  The header is padded
with spaces to a multiple of 8 bytes, as the reference implementation does.

Sharded checkpoints (as transformers' save_pretrained writes them):
    model-00001-of-00003.safetensors, ... plus model.safetensors.index.json =
    {"metadata": {"total_size": BYTES}, "weight_map": {name: file}}

API:
    write_file(path, {name: float array}, dtype="F32")
    write_model(dir, {name: float array}, dtype="F32", shards=1)
    read_file(path)  -> {name: float32 numpy array}
    read_model(dir)  -> {name: float32 numpy array}   (single file or index)
"""

import json
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from quants import bf16_to_f32, f32_to_bf16  # noqa: E402

DTYPE_SIZES = {"F32": 4, "F16": 2, "BF16": 2}


def encode(x, dtype):
    """float array -> raw little-endian bytes in `dtype`."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    if dtype == "F32":
        return x.astype("<f4").tobytes()
    if dtype == "F16":
        return x.astype("<f2").tobytes()
    if dtype == "BF16":
        return f32_to_bf16(x).astype("<u2").tobytes()
    raise ValueError("unsupported dtype %s" % dtype)


def decode(raw, dtype, shape):
    """raw bytes -> float32 array."""
    if dtype == "F32":
        y = np.frombuffer(raw, dtype="<f4").astype(np.float32)
    elif dtype == "F16":
        y = np.frombuffer(raw, dtype="<f2").astype(np.float32)
    elif dtype == "BF16":
        y = bf16_to_f32(np.frombuffer(raw, dtype="<u2"))
    else:
        raise ValueError("unsupported dtype %s" % dtype)
    return y.reshape(shape)


def write_file(path, tensors, dtype="F32"):
    """Write {name: array} (insertion order kept) to one safetensors file.
    Returns the number of data bytes written."""
    header = {}
    blobs = []
    off = 0
    for name, x in tensors.items():
        raw = encode(x, dtype)
        header[name] = {"dtype": dtype, "shape": [int(s) for s in np.shape(x)],
                        "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    header["__metadata__"] = {"format": "pt"}
    hj = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hj += b" " * ((-len(hj)) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)
    return off


def write_model(directory, tensors, dtype="F32", shards=1):
    """Write a model's tensors into `directory` as model.safetensors, or as
    `shards` files plus model.safetensors.index.json.  Tensors are split into
    contiguous groups of roughly equal byte size (a tensor is never split)."""
    os.makedirs(directory, exist_ok=True)
    names = list(tensors)
    if shards <= 1:
        write_file(os.path.join(directory, "model.safetensors"), tensors, dtype)
        return
    shards = min(shards, len(names))
    esize = DTYPE_SIZES[dtype]
    sizes = [int(np.prod(np.shape(tensors[n]))) * esize for n in names]
    total = sum(sizes)
    groups = [[] for _ in range(shards)]
    acc = 0
    for n, s in zip(names, sizes):
        g = min(shards - 1, acc * shards // max(total, 1))
        # never leave a trailing shard empty
        remaining = len(names) - names.index(n)
        g = max(g, shards - remaining)
        groups[g].append(n)
        acc += s
    weight_map = {}
    for i, g in enumerate(groups):
        fname = "model-%05d-of-%05d.safetensors" % (i + 1, shards)
        write_file(os.path.join(directory, fname), {n: tensors[n] for n in g}, dtype)
        for n in g:
            weight_map[n] = fname
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    with open(os.path.join(directory, "model.safetensors.index.json"), "w") as f:
        json.dump(index, f, indent=2)


def read_file(path, raw=False):
    """Read one safetensors file -> {name: float32 array} (or {name: (dtype, shape, bytes)})."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        chunk = data[base + b:base + e]
        shape = tuple(info["shape"])
        if int(np.prod(shape)) * DTYPE_SIZES[info["dtype"]] != len(chunk):
            raise ValueError("%s: tensor %s has inconsistent size" % (path, name))
        out[name] = (info["dtype"], shape, chunk) if raw else decode(chunk, info["dtype"], shape)
    return out


def read_model(directory):
    """Read every tensor of an HF model directory (single file or sharded)."""
    index = os.path.join(directory, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            wm = json.load(f)["weight_map"]
        out = {}
        for fname in sorted(set(wm.values())):
            out.update(read_file(os.path.join(directory, fname)))
        missing = set(wm) - set(out)
        if missing:
            raise ValueError("%s: tensors missing from shards: %s" % (directory, sorted(missing)))
        return out
    return read_file(os.path.join(directory, "model.safetensors"))


if __name__ == "__main__":
    import tempfile
    rng = np.random.default_rng(1)
    ts = {"a.weight": rng.standard_normal((3, 4)).astype(np.float32),
          "b.bias": rng.standard_normal(5).astype(np.float32),
          "c": rng.standard_normal((2, 2, 2)).astype(np.float32)}
    with tempfile.TemporaryDirectory() as d:
        for dt in ("F32", "F16", "BF16"):
            p = os.path.join(d, "x.safetensors")
            write_file(p, ts, dt)
            back = read_file(p)
            for k, v in ts.items():
                want = decode(encode(v, dt), dt, v.shape)
                assert np.array_equal(back[k], want), (dt, k)
                assert dt != "F32" or np.array_equal(back[k], v)
            with open(p, "rb") as f:
                (n,) = struct.unpack("<Q", f.read(8))
            assert n % 8 == 0
        sd = os.path.join(d, "sharded")
        write_model(sd, ts, "F32", shards=3)
        assert len([f for f in os.listdir(sd) if f.endswith(".safetensors")]) == 3
        back = read_model(sd)
        assert set(back) == set(ts) and all(np.array_equal(back[k], ts[k]) for k in ts)
        idx = json.load(open(os.path.join(sd, "model.safetensors.index.json")))
        assert idx["metadata"]["total_size"] == sum(v.nbytes for v in ts.values())
    print("safetensors_io self-check: ok")
