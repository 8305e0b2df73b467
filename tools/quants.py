"""quants.py -- numpy encoders and decoders of the GGUF weight types.

Block layouts follow the published ggml/GGUF definitions (little-endian,
"f16" = IEEE binary16):

  F32 / F16        plain arrays
  BF16             upper 16 bits of the float32 (rounded to nearest even)
  Q8_0  32 values / 34 bytes:  f16 d; int8 qs[32];          x = d * q
  Q4_0  32 values / 18 bytes:  f16 d; u8 qs[16];
                               x[j] = d * ((qs[j] & 15) - 8), x[j+16] = d * ((qs[j] >> 4) - 8)
  Q4_K 256 values / 144 bytes: f16 d; f16 dmin; u8 scales[12]; u8 qs[128]
        8 sub-blocks of 32 values, each with a 6-bit scale sc and 6-bit min m
        packed as ggml's get_scale_min_k4 reads them:
          j < 4:  sc = scales[j] & 63,  m = scales[j+4] & 63
          j >= 4: sc = (scales[j+4] & 0xF) | ((scales[j-4] >> 6) << 4)
                  m  = (scales[j+4] >> 4)  | ((scales[j]   >> 6) << 4)
        each 64-value chunk c (sub-blocks 2c, 2c+1) uses 32 bytes q of qs:
          x[64c + l]      = (d*sc[2c])   * (q[l] & 0xF) - (dmin*m[2c])
          x[64c + 32 + l] = (d*sc[2c+1]) * (q[l] >> 4)  - (dmin*m[2c+1])
  Q6_K 256 values / 210 bytes: u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d
        for each half n (128 values; ql += 64, qh += 32, sc += 8 per half),
        l = 0..31, is = l / 16:
          y[l]    = d*sc[is+0] * (((ql[l]    & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32)
          y[l+32] = d*sc[is+2] * (((ql[l+32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32)
          y[l+64] = d*sc[is+4] * (((ql[l]    >> 4)  | (((qh[l] >> 4) & 3) << 4)) - 32)
          y[l+96] = d*sc[is+6] * (((ql[l+32] >> 4)  | (((qh[l] >> 6) & 3) << 4)) - 32)

Decoding is done in float32 with exactly the operation order written above
(products of the block scales first, rounded to float32, then times q, then
minus the min term), so stargate's C decoders can be checked bit for bit.

The encoders are deliberately simple (min/max based, no error search like
llama.cpp's), but produce valid and reasonably accurate blocks.

API:
    quantize(x, ggml_type)              x: float32 array, last dim a multiple of the
                                        block size -> uint8 array of encoded bytes
    dequantize(data, ggml_type, shape)  encoded bytes -> float32 array of `shape`
    f32_to_bf16(x) / bf16_to_f32(u)     bf16 as uint16
"""

import numpy as np

GGML_F32 = 0
GGML_F16 = 1
GGML_Q4_0 = 2
GGML_Q8_0 = 8
GGML_Q4_K = 12
GGML_Q6_K = 14
GGML_BF16 = 30

BLOCK = {GGML_F32: (1, 4), GGML_F16: (1, 2), GGML_BF16: (1, 2), GGML_Q8_0: (32, 34),
         GGML_Q4_0: (32, 18), GGML_Q4_K: (256, 144), GGML_Q6_K: (256, 210)}

NAME_TO_TYPE = {"f32": GGML_F32, "f16": GGML_F16, "bf16": GGML_BF16, "q8_0": GGML_Q8_0,
                "q4_0": GGML_Q4_0, "q4_k": GGML_Q4_K, "q6_k": GGML_Q6_K}


# -- bf16 ---------------------------------------------------------------------
def f32_to_bf16(x):
    """float32 -> bf16 bit patterns (uint16), round to nearest even; NaN stays NaN."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    nan = (u & 0x7FFFFFFF) > 0x7F800000
    out = np.where(nan, (u >> 16) | 0x40, rounded)
    return out.astype(np.uint16)


def bf16_to_f32(u):
    return (np.asarray(u, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)


def _f16_bits_to_f32(b):
    """A [..., 2] uint8 array of little-endian f16s -> float32 [..., 1]."""
    return np.ascontiguousarray(b).view(np.float16).astype(np.float32)


def _f16_bytes(x):
    return np.asarray(x, dtype=np.float32).astype(np.float16).reshape(-1, 1).view(np.uint8)


# -- Q8_0 ---------------------------------------------------------------------
def quantize_q8_0(x):
    x = x.reshape(-1, 32).astype(np.float32)
    amax = np.abs(x).max(axis=1)
    d = amax / 127.0
    idv = np.where(d > 0, 1.0 / np.where(d > 0, d, 1), 0).astype(np.float32)
    q = np.clip(np.round(x * idv[:, None]), -127, 127).astype(np.int8)
    out = np.empty((x.shape[0], 34), dtype=np.uint8)
    out[:, 0:2] = _f16_bytes(d)
    out[:, 2:] = q.view(np.uint8)
    return out.reshape(-1)


def dequantize_q8_0(data):
    b = np.asarray(data, dtype=np.uint8).reshape(-1, 34)
    d = _f16_bits_to_f32(b[:, 0:2])
    q = b[:, 2:].view(np.int8).astype(np.float32)
    return (d * q).reshape(-1)


# -- Q4_0 ---------------------------------------------------------------------
def quantize_q4_0(x):
    x = x.reshape(-1, 32).astype(np.float32)
    idx = np.abs(x).argmax(axis=1)
    vmax = x[np.arange(x.shape[0]), idx]
    d = vmax / -8.0
    idv = np.where(d != 0, 1.0 / np.where(d != 0, d, 1), 0).astype(np.float32)
    q = np.clip(np.floor(x * idv[:, None] + 8.5), 0, 15).astype(np.uint8)
    out = np.empty((x.shape[0], 18), dtype=np.uint8)
    out[:, 0:2] = _f16_bytes(d)
    out[:, 2:] = q[:, :16] | (q[:, 16:] << 4)
    return out.reshape(-1)


def dequantize_q4_0(data):
    b = np.asarray(data, dtype=np.uint8).reshape(-1, 18)
    d = _f16_bits_to_f32(b[:, 0:2])
    qs = b[:, 2:]
    lo = ((qs & 15).astype(np.int32) - 8).astype(np.float32)
    hi = ((qs >> 4).astype(np.int32) - 8).astype(np.float32)
    return np.concatenate([d * lo, d * hi], axis=1).reshape(-1)


# -- Q4_K ---------------------------------------------------------------------
def _unpack_scale_min_k4(scales):
    """scales: [nb, 12] uint8 -> (sc, m) each [nb, 8] uint8."""
    s = scales.astype(np.uint8)
    sc = np.empty((s.shape[0], 8), dtype=np.uint8)
    m = np.empty((s.shape[0], 8), dtype=np.uint8)
    for j in range(4):
        sc[:, j] = s[:, j] & 63
        m[:, j] = s[:, j + 4] & 63
    for j in range(4, 8):
        sc[:, j] = (s[:, j + 4] & 0xF) | ((s[:, j - 4] >> 6) << 4)
        m[:, j] = (s[:, j + 4] >> 4) | ((s[:, j] >> 6) << 4)
    return sc, m


def _pack_scale_min_k4(sc, m):
    """Inverse of _unpack_scale_min_k4: sc, m [nb, 8] values 0..63 -> [nb, 12]."""
    sc = sc.astype(np.uint8)
    m = m.astype(np.uint8)
    s = np.zeros((sc.shape[0], 12), dtype=np.uint8)
    for j in range(4):
        s[:, j] = (sc[:, j] & 63) | ((sc[:, j + 4] >> 4) << 6)
        s[:, j + 4] = (m[:, j] & 63) | ((m[:, j + 4] >> 4) << 6)
        s[:, j + 8] = (sc[:, j + 4] & 0xF) | ((m[:, j + 4] & 0xF) << 4)
    return s


def quantize_q4_k(x):
    x = x.reshape(-1, 8, 32).astype(np.float32)
    nb = x.shape[0]
    mn = np.minimum(x.min(axis=2), 0.0)          # [nb, 8], <= 0
    mx = x.max(axis=2)
    scale = (mx - mn) / 15.0                      # >= 0
    minv = -mn                                    # >= 0
    d = (scale.max(axis=1) / 63.0).astype(np.float16).astype(np.float32)
    dmin = (minv.max(axis=1) / 63.0).astype(np.float16).astype(np.float32)
    sd = np.where(d > 0, d, 1)[:, None]
    sm = np.where(dmin > 0, dmin, 1)[:, None]
    sc = np.clip(np.round(scale / sd), 0, 63).astype(np.uint8)
    m = np.clip(np.ceil(minv / sm - 1e-4), 0, 63).astype(np.uint8)
    eff_s = (d[:, None] * sc.astype(np.float32))
    eff_m = (dmin[:, None] * m.astype(np.float32))
    den = np.where(eff_s > 0, eff_s, 1)[:, :, None]
    q = np.where(eff_s[:, :, None] > 0, np.round((x + eff_m[:, :, None]) / den), 0)
    q = np.clip(q, 0, 15).astype(np.uint8)        # [nb, 8, 32]
    out = np.empty((nb, 144), dtype=np.uint8)
    out[:, 0:2] = _f16_bytes(d)
    out[:, 2:4] = _f16_bytes(dmin)
    out[:, 4:16] = _pack_scale_min_k4(sc, m)
    qs = q[:, 0::2, :] | (q[:, 1::2, :] << 4)    # [nb, 4, 32]
    out[:, 16:] = qs.reshape(nb, 128)
    return out.reshape(-1)


def dequantize_q4_k(data):
    b = np.asarray(data, dtype=np.uint8).reshape(-1, 144)
    nb = b.shape[0]
    d = _f16_bits_to_f32(b[:, 0:2])               # [nb, 1]
    dmin = _f16_bits_to_f32(b[:, 2:4])
    sc, m = _unpack_scale_min_k4(b[:, 4:16])
    d1 = d * sc.astype(np.float32)                # [nb, 8] float32 products
    m1 = dmin * m.astype(np.float32)
    qs = b[:, 16:].reshape(nb, 4, 32)
    y = np.empty((nb, 4, 2, 32), dtype=np.float32)
    y[:, :, 0, :] = d1[:, 0::2, None] * (qs & 0xF).astype(np.float32) - m1[:, 0::2, None]
    y[:, :, 1, :] = d1[:, 1::2, None] * (qs >> 4).astype(np.float32) - m1[:, 1::2, None]
    return y.reshape(-1)


# -- Q6_K ---------------------------------------------------------------------
def quantize_q6_k(x):
    x = x.reshape(-1, 16, 16).astype(np.float32)
    nb = x.shape[0]
    idx = np.abs(x).argmax(axis=2)
    vmax = np.take_along_axis(x, idx[:, :, None], axis=2)[:, :, 0]
    s = vmax / -32.0                               # signed sub-block scales
    d = (np.abs(s).max(axis=1) / 127.0).astype(np.float16).astype(np.float32)
    sd = np.where(d > 0, d, 1)[:, None]
    sc = np.clip(np.round(s / sd), -127, 127).astype(np.int8)
    eff = d[:, None] * sc.astype(np.float32)
    den = np.where(eff != 0, eff, 1)[:, :, None]
    q = np.where(eff[:, :, None] != 0, np.round(x / den), 0)
    q = (np.clip(q, -32, 31) + 32).astype(np.uint8).reshape(nb, 2, 4, 32)  # [nb, half, k, l]
    ql = np.empty((nb, 2, 64), dtype=np.uint8)
    ql[:, :, 0:32] = (q[:, :, 0] & 0xF) | ((q[:, :, 2] & 0xF) << 4)
    ql[:, :, 32:64] = (q[:, :, 1] & 0xF) | ((q[:, :, 3] & 0xF) << 4)
    qh = (q[:, :, 0] >> 4) | ((q[:, :, 1] >> 4) << 2) | ((q[:, :, 2] >> 4) << 4) | ((q[:, :, 3] >> 4) << 6)
    out = np.empty((nb, 210), dtype=np.uint8)
    out[:, 0:128] = ql.reshape(nb, 128)
    out[:, 128:192] = qh.reshape(nb, 64)
    out[:, 192:208] = sc.view(np.uint8)
    out[:, 208:210] = _f16_bytes(d)
    return out.reshape(-1)


def dequantize_q6_k(data):
    b = np.asarray(data, dtype=np.uint8).reshape(-1, 210)
    nb = b.shape[0]
    ql = b[:, 0:128].reshape(nb, 2, 64)
    qh = b[:, 128:192].reshape(nb, 2, 32)
    sc = b[:, 192:208].view(np.int8).astype(np.float32).reshape(nb, 2, 8)
    d = _f16_bits_to_f32(b[:, 208:210]).reshape(nb, 1, 1)
    ds = d * sc                                    # [nb, 2, 8] float32 products d*sc
    q = np.empty((nb, 2, 4, 32), dtype=np.int32)
    q[:, :, 0] = (ql[:, :, 0:32] & 0xF) | (((qh >> 0) & 3) << 4)
    q[:, :, 1] = (ql[:, :, 32:64] & 0xF) | (((qh >> 2) & 3) << 4)
    q[:, :, 2] = (ql[:, :, 0:32] >> 4) | (((qh >> 4) & 3) << 4)
    q[:, :, 3] = (ql[:, :, 32:64] >> 4) | (((qh >> 6) & 3) << 4)
    qf = (q - 32).astype(np.float32)
    # scale index for value l + 32k of a half: is + 2k with is = l // 16
    sidx = (np.arange(32) // 16)[None, :] + 2 * np.arange(4)[:, None]   # [4, 32]
    y = ds[:, :, sidx] * qf
    return y.reshape(-1)


# -- dispatch -------------------------------------------------------------------
def quantize(x, ggml_type):
    """Encode float array x (last dim a multiple of the block size) -> uint8 bytes."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    blk = BLOCK[ggml_type][0]
    if x.ndim and x.shape[-1] % blk:
        raise ValueError("row length %d not a multiple of %d" % (x.shape[-1], blk))
    if ggml_type == GGML_F32:
        return x.reshape(-1).view(np.uint8)
    if ggml_type == GGML_F16:
        return x.astype(np.float16).reshape(-1).view(np.uint8)
    if ggml_type == GGML_BF16:
        return f32_to_bf16(x).reshape(-1).view(np.uint8)
    if ggml_type == GGML_Q8_0:
        return quantize_q8_0(x)
    if ggml_type == GGML_Q4_0:
        return quantize_q4_0(x)
    if ggml_type == GGML_Q4_K:
        return quantize_q4_k(x)
    if ggml_type == GGML_Q6_K:
        return quantize_q6_k(x)
    raise ValueError("unsupported ggml type %d" % ggml_type)


def dequantize(data, ggml_type, shape):
    """Decode encoded bytes -> float32 array of numpy-order `shape`."""
    b = np.ascontiguousarray(np.asarray(data, dtype=np.uint8).reshape(-1))
    if ggml_type == GGML_F32:
        y = b.view(np.float32).copy()
    elif ggml_type == GGML_F16:
        y = b.view(np.float16).astype(np.float32)
    elif ggml_type == GGML_BF16:
        y = bf16_to_f32(b.view(np.uint16))
    elif ggml_type == GGML_Q8_0:
        y = dequantize_q8_0(b)
    elif ggml_type == GGML_Q4_0:
        y = dequantize_q4_0(b)
    elif ggml_type == GGML_Q4_K:
        y = dequantize_q4_k(b)
    elif ggml_type == GGML_Q6_K:
        y = dequantize_q6_k(b)
    else:
        raise ValueError("unsupported ggml type %d" % ggml_type)
    return y.reshape(shape)


def _scalar_dequant_k(b, t):
    """Straight transcription of the ggml loops for one block (self-check only)."""
    f16 = lambda lo: np.float32(np.frombuffer(bytes(b[lo:lo + 2]), dtype=np.float16)[0])
    f = np.float32
    y = []
    if t == GGML_Q4_K:
        d, dmin, scales, q = f16(0), f16(2), b[4:16], b[16:144]
        def gsm(j):
            if j < 4:
                return scales[j] & 63, scales[j + 4] & 63
            return ((scales[j + 4] & 0xF) | ((scales[j - 4] >> 6) << 4),
                    (scales[j + 4] >> 4) | ((scales[j] >> 6) << 4))
        qo, is_ = 0, 0
        for _ in range(4):
            sc, m = gsm(is_)
            d1, m1 = f(d * f(sc)), f(dmin * f(m))
            sc, m = gsm(is_ + 1)
            d2, m2 = f(d * f(sc)), f(dmin * f(m))
            y += [f(f(d1 * f(q[qo + l] & 0xF)) - m1) for l in range(32)]
            y += [f(f(d2 * f(q[qo + l] >> 4)) - m2) for l in range(32)]
            qo += 32
            is_ += 2
    else:
        ql, qh = b[0:128], b[128:192]
        sc = np.frombuffer(bytes(b[192:208]), dtype=np.int8)
        d = f16(208)
        out = [f(0)] * 256
        for n in range(2):
            for l in range(32):
                is_ = l // 16
                a, c, hh = int(ql[64 * n + l]), int(ql[64 * n + l + 32]), int(qh[32 * n + l])
                q1 = ((a & 0xF) | (((hh >> 0) & 3) << 4)) - 32
                q2 = ((c & 0xF) | (((hh >> 2) & 3) << 4)) - 32
                q3 = ((a >> 4) | (((hh >> 4) & 3) << 4)) - 32
                q4 = ((c >> 4) | (((hh >> 6) & 3) << 4)) - 32
                s = sc[8 * n:]
                out[128 * n + l] = f(f(d * f(s[is_])) * f(q1))
                out[128 * n + l + 32] = f(f(d * f(s[is_ + 2])) * f(q2))
                out[128 * n + l + 64] = f(f(d * f(s[is_ + 4])) * f(q3))
                out[128 * n + l + 96] = f(f(d * f(s[is_ + 6])) * f(q4))
        y = out
    return np.array(y, dtype=np.float32)


if __name__ == "__main__":
    # Self-check: round trips and accuracy of every type.
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((8, 512)) * 0.05).astype(np.float32)
    x[0, :32] = 0.0                                  # an all-zero block
    x[1, :256] = np.abs(x[1, :256])                  # an all-positive K block
    for name, t, tol in [("f32", GGML_F32, 0), ("f16", GGML_F16, 1e-3), ("bf16", GGML_BF16, 4e-3),
                         ("q8_0", GGML_Q8_0, 0.01), ("q4_0", GGML_Q4_0, 0.15),
                         ("q4_k", GGML_Q4_K, 0.12), ("q6_k", GGML_Q6_K, 0.04)]:
        enc = quantize(x, t)
        blk, nb = BLOCK[t]
        assert enc.size == x.size // blk * nb, name
        y = dequantize(enc, t, x.shape)
        assert y.dtype == np.float32
        err = np.linalg.norm(y - x) / np.linalg.norm(x)
        assert err <= tol, (name, err)
        # Re-encoding decoded values must be stable (decode(encode(decode)) == decode)
        # for the float types; for quantized types just check finite values.
        assert np.isfinite(y).all()
        print("%-5s rel err %.2e" % (name, err))
    # bf16 rounding: ties to even
    v = np.array([1.0, 1.0 + 2**-8, 1.0 + 3 * 2**-8, -2.5], dtype=np.float32)
    assert np.array_equal(bf16_to_f32(f32_to_bf16(v)), np.array([1.0, 1.0, 1.0 + 2**-6, -2.5], np.float32))
    # Q4_K scale packing round trip
    sc = rng.integers(0, 64, (5, 8))
    m = rng.integers(0, 64, (5, 8))
    s2, m2 = _unpack_scale_min_k4(_pack_scale_min_k4(sc, m))
    assert np.array_equal(s2, sc) and np.array_equal(m2, m)
    # Vectorized K decoders == scalar transcription of the ggml loops, bit for bit,
    # on random bytes (any byte pattern is a valid block apart from NaN/inf scales).
    for t, nbytes in ((GGML_Q4_K, 144), (GGML_Q6_K, 210)):
        for _ in range(3):
            blk = rng.integers(0, 256, nbytes).astype(np.uint8)
            for lo in ((0, 2) if t == GGML_Q4_K else (208,)):
                blk[lo:lo + 2] = np.frombuffer(np.float16(rng.standard_normal() * 0.01).tobytes(), np.uint8)
            a = dequantize(blk, t, (256,))
            b = _scalar_dequant_k(blk, t)
            assert np.array_equal(a.view(np.uint32), b.view(np.uint32)), t
    print("quants self-check: ok")
