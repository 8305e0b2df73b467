"""gguf_reader.py -- an independent GGUF v2/v3 reader (numpy memmap).

Follows the GGUF layout published with ggml/llama.cpp (see gguf_writer.py for
the byte layout).  Used by the PyTorch reference and the checks so that the
test suite reads model files without going through stargate's C parser.

    r = GGUFReader("model.gguf")
    r.metadata            -> {key: value}; strings as str, bools as bool,
                             numeric arrays as numpy arrays, string arrays as lists
    r.tensors[name]       -> TensorInfo(name, ne, shape, ggml_type, offset, data)
                             shape is numpy order (reverse of ne); data is a
                             uint8 memmap slice holding the encoded bytes
    r.to_float32(name)    -> numpy float32 array of `shape` (dequantized with
                             quants.py for quantized types)

Also a command line:  gguf_reader.py FILE   prints the metadata and tensors.
"""

import os
import struct
import sys
from collections import namedtuple

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import quants  # noqa: E402
from gguf_writer import (GGML_BLOCK, GGML_TYPE_NAMES, GGUF_ARRAY, GGUF_BOOL,  # noqa: E402
                         GGUF_STRING, _SCALAR_FMT)

TensorInfo = namedtuple("TensorInfo", "name ne shape ggml_type offset data")


class GGUFError(Exception):
    pass


class GGUFReader:
    def __init__(self, path):
        self.path = path
        self.buf = np.memmap(path, dtype=np.uint8, mode="r")
        self.pos = 0
        if self._take(4) != b"GGUF":
            raise GGUFError("%s: bad magic" % path)
        self.version = self._scalar("<I")
        if self.version not in (2, 3):
            raise GGUFError("%s: unsupported version %d" % (path, self.version))
        n_tensors = self._scalar("<Q")
        n_kv = self._scalar("<Q")
        self.metadata = {}
        self.types = {}
        for _ in range(n_kv):
            key = self._string()
            vtype = self._scalar("<I")
            self.types[key] = vtype
            self.metadata[key] = self._value(vtype)
        self.alignment = int(self.metadata.get("general.alignment", 32))
        infos = []
        for _ in range(n_tensors):
            name = self._string()
            n_dims = self._scalar("<I")
            ne = tuple(self._scalar("<Q") for _ in range(n_dims))
            gtype = self._scalar("<I")
            off = self._scalar("<Q")
            infos.append((name, ne, gtype, off))
        self.data_offset = self.pos + (-self.pos) % self.alignment
        self.tensors = {}
        for name, ne, gtype, off in infos:
            shape = tuple(reversed(ne))
            if gtype not in GGML_BLOCK:
                raise GGUFError("%s: tensor %s has unsupported type %d" % (path, name, gtype))
            blk, nb = GGML_BLOCK[gtype]
            n = int(np.prod(ne, dtype=np.int64)) if ne else 1
            nbytes = n // blk * nb
            start = self.data_offset + off
            if start + nbytes > len(self.buf):
                raise GGUFError("%s: tensor %s out of bounds" % (path, name))
            self.tensors[name] = TensorInfo(name, ne, shape, gtype, off,
                                            self.buf[start:start + nbytes])

    # -- low-level parsing ------------------------------------------------
    def _take(self, n):
        if self.pos + n > len(self.buf):
            raise GGUFError("%s: truncated" % self.path)
        b = self.buf[self.pos:self.pos + n].tobytes()
        self.pos += n
        return b

    def _scalar(self, fmt):
        return struct.unpack(fmt, self._take(struct.calcsize(fmt)))[0]

    def _string(self):
        n = self._scalar("<Q")
        return self._take(n).decode("utf-8")

    def _value(self, vtype):
        if vtype == GGUF_STRING:
            return self._string()
        if vtype == GGUF_ARRAY:
            etype = self._scalar("<I")
            count = self._scalar("<Q")
            if etype == GGUF_STRING:
                return [self._string() for _ in range(count)]
            if etype not in _SCALAR_FMT:
                raise GGUFError("%s: bad array element type %d" % (self.path, etype))
            dt = np.dtype(_SCALAR_FMT[etype])
            arr = np.frombuffer(self._take(dt.itemsize * count), dtype=dt)
            return arr.astype(bool) if etype == GGUF_BOOL else arr
        if vtype not in _SCALAR_FMT:
            raise GGUFError("%s: bad value type %d" % (self.path, vtype))
        v = self._scalar(_SCALAR_FMT[vtype])
        return bool(v) if vtype == GGUF_BOOL else v

    # -- tensors -----------------------------------------------------------
    def to_float32(self, name):
        t = self.tensors[name]
        return quants.dequantize(t.data, t.ggml_type, t.shape)


def main():
    r = GGUFReader(sys.argv[1])
    print("version %d, alignment %d, %d kv, %d tensors"
          % (r.version, r.alignment, len(r.metadata), len(r.tensors)))
    for k, v in r.metadata.items():
        if isinstance(v, (list, np.ndarray)) and len(v) > 8:
            v = "[%d items: %s ...]" % (len(v), ", ".join(str(x) for x in v[:4]))
        print("  %-45s %s" % (k, v))
    for t in r.tensors.values():
        print("  %-30s %-5s %s off=%d" % (t.name, GGML_TYPE_NAMES[t.ggml_type], list(t.shape), t.offset))


if __name__ == "__main__":
    main()
