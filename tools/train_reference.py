#!/usr/bin/python3
"""train_reference.py -- PyTorch (autograd, float32) reference for `stargate train`.

Written from the architectures' definitions, independently of the C code:
Llama (RMSNorm, rotate-half RoPE, GQA, SwiGLU, optional tied embeddings) and
GPT-2 (learned positions, LayerNorm, HF Conv1D layout, gelu_new), on the HF
tensor names of a Hugging Face directory (tools/gen_model.py writes them).
It reads the same `key = value` config file as `stargate train` and the same
token shards, and builds batches by the same documented rule:

    sequence g uses window w = g mod n_windows, tokens [w*T, w*T + T]
    step s (world 1) uses sequences s*G .. s*G + G - 1, G = batch_size * grad_accum
    loss = sum(mask * CE) / sum(mask) over the step's global batch

Commands:
  train_reference.py shard OUT.bin --tokens "1 2 3" | --random N --vocab V [--seed S] [--mask-random]
      write a token shard (format: src/train/train.h)
  train_reference.py grads --config CFG -o GRADS.safetensors
      loss and gradients of the first step's global batch (before clipping);
      prints "loss X"; gradients saved under HF names
  train_reference.py train --config CFG [--steps N]
      runs N steps (default max_steps) of AdamW (torch.optim.AdamW, decay on
      matrices only) with warmup + cosine, global-norm clipping and gradient
      accumulation; prints "step K loss X" per step
  --set key=value overrides config keys (repeatable). The config's `init`
  must be an HF directory (float weights).
"""

import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402

torch.set_num_threads(1)

DEFAULTS = {
    "arch": "llama", "seq_len": "64", "batch_size": "4", "grad_accum": "1", "max_steps": "100",
    "warmup_steps": "0", "lr": "3e-4", "min_lr": "0", "weight_decay": "0.1", "beta1": "0.9",
    "beta2": "0.95", "adam_eps": "1e-8", "grad_clip": "1.0",
}


# -- config and data ------------------------------------------------------------
def read_config(path, sets=()):
    c = dict(DEFAULTS)
    base = os.path.dirname(os.path.abspath(path))
    with open(path) as f:
        for line in f:
            s = line.strip()
            if not s or s.startswith("#"):
                continue
            k, v = s.split("=", 1)
            c[k.strip()] = v.strip()
    for kv in sets:
        k, v = kv.split("=", 1)
        c[k] = v
    c["_base"] = base
    return c


def write_shard(path, tokens, vocab=0, mask=None):
    tokens = np.asarray(tokens, dtype=np.uint32)
    tb = 2 if (vocab and vocab <= 65536) or (not vocab and tokens.max(initial=0) < 65536) else 4
    flags = 0
    if mask is not None:
        mask = np.asarray(mask, dtype=np.uint8)
        flags = 1 | (2 if (mask & 2).any() else 0)  # bit 1 of a mask byte: document start
    head = b"SGTOKENS" + struct.pack("<IIQII", 1, tb, len(tokens), flags, vocab)
    head += b"\0" * (64 - len(head))
    with open(path + ".tmp", "wb") as f:
        f.write(head)
        f.write(tokens.astype("<u2" if tb == 2 else "<u4").tobytes())
        if mask is not None:
            f.write(np.asarray(mask, dtype=np.uint8).tobytes())
    os.replace(path + ".tmp", path)


def read_shard(path):
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"SGTOKENS"
    _, tb, n, flags, _ = struct.unpack("<IIQII", data[8:32])
    toks = np.frombuffer(data[64:64 + n * tb], dtype="<u2" if tb == 2 else "<u4").astype(np.int64)
    # mask byte: bit 0 loss weight as a target, bit 1 document start (flag bit 1)
    raw = np.frombuffer(data[64 + n * tb:64 + n * tb + n], dtype=np.uint8) if flags & 1 else np.ones(n, np.uint8)
    mask = (raw & 1).astype(np.float32)
    starts = ((raw >> 1) & 1).astype(bool) if flags & 2 else np.zeros(n, dtype=bool)
    return toks, mask, starts


def read_stream(path):
    if path.endswith(".json"):
        with open(path) as f:
            man = json.load(f)
        parts = [read_shard(os.path.join(os.path.dirname(path), s["path"])) for s in man["shards"]]
        return tuple(np.concatenate([p[i] for p in parts]) for i in range(3))
    return read_shard(path)


class Loader:
    def __init__(self, path, T):
        self.toks, self.mask, self.starts = read_stream(path)
        self.T = T
        self.nw = (len(self.toks) - 1) // T

    def sequences(self, first, n):
        """inputs, targets (n, T) int64, target weights (n, T) float32, and the
        document segment id of each input token (n, T) int64: the number of
        document starts in the row up to and including it (packed data)."""
        inp, tgt, msk, seg = [], [], [], []
        for g in range(first, first + n):
            w = (g % self.nw) * self.T
            inp.append(self.toks[w:w + self.T])
            tgt.append(self.toks[w + 1:w + self.T + 1])
            msk.append(self.mask[w + 1:w + self.T + 1])
            seg.append(np.cumsum(self.starts[w:w + self.T]))
        return (torch.from_numpy(np.stack(inp)), torch.from_numpy(np.stack(tgt)),
                torch.from_numpy(np.stack(msk)), torch.from_numpy(np.stack(seg).astype(np.int64)))


def seg_positions(seg):
    """Position of each token within its segment: t - (first t of its segment)."""
    B, T = seg.shape
    t = torch.arange(T)[None].expand(B, T)
    first = torch.zeros_like(seg)
    for b in range(B):
        for i in range(T):
            first[b, i] = int((seg[b] == seg[b, i]).nonzero()[0])
    return t - first


# -- model ----------------------------------------------------------------------
def load_model(d):
    with open(os.path.join(d, "config.json")) as f:
        hf = json.load(f)
    w = {k: torch.tensor(v, dtype=torch.float32, requires_grad=True)
         for k, v in safetensors_io.read_model(d).items()}
    return hf, w


def rms(x, w, eps):
    return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * w


def rope_cos_sin(T, D, theta):
    inv = theta ** (-2.0 * np.arange(D // 2, dtype=np.float64) / D)
    ang = np.arange(T, dtype=np.float64)[:, None] * inv[None, :]
    return (torch.from_numpy(np.cos(ang).astype(np.float32)),
            torch.from_numpy(np.sin(ang).astype(np.float32)))


def rotate(x, cos, sin, pos):
    """x (B, T, nh, D), rotate-half pairs (i, i + D/2), token positions pos (B, T)."""
    h = x.shape[-1] // 2
    x0, x1 = x[..., :h], x[..., h:]
    c, s = cos[pos][:, :, None, :], sin[pos][:, :, None, :]
    return torch.cat([x0 * c - x1 * s, x0 * s + x1 * c], dim=-1)


def attention(q, k, v, seg):
    """q (B,T,H,D), k/v (B,T,KV,D) -> (B,T,H*D), causal, GQA, and token t sees
    token u only when both are in the same document (seg (B,T) equal)."""
    B, T, H, D = q.shape
    rep = H // k.shape[2]
    k = k.repeat_interleave(rep, dim=2)
    v = v.repeat_interleave(rep, dim=2)
    q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
    s = (q @ k.transpose(-1, -2)) / math.sqrt(D)
    causal = torch.ones(T, T, dtype=torch.bool).tril()[None] & (seg[:, :, None] == seg[:, None, :])
    s = s.masked_fill(~causal[:, None], float("-inf"))
    y = torch.softmax(s, dim=-1) @ v
    return y.transpose(1, 2).reshape(B, T, H * D)


def llama_logits(hf, w, inp, seg=None):
    if seg is None:
        seg = torch.zeros_like(inp)
    pos = seg_positions(seg)
    C, L, H = hf["hidden_size"], hf["num_hidden_layers"], hf["num_attention_heads"]
    KV = hf.get("num_key_value_heads", H)
    D = hf.get("head_dim", C // H)
    eps = hf["rms_norm_eps"]
    B, T = inp.shape
    cos, sin = rope_cos_sin(T, D, hf.get("rope_theta", 10000.0))
    x = w["model.embed_tokens.weight"][inp]
    for i in range(L):
        p = "model.layers.%d." % i
        h = rms(x, w[p + "input_layernorm.weight"], eps)
        q = (h @ w[p + "self_attn.q_proj.weight"].T).view(B, T, H, D)
        k = (h @ w[p + "self_attn.k_proj.weight"].T).view(B, T, KV, D)
        v = (h @ w[p + "self_attn.v_proj.weight"].T).view(B, T, KV, D)
        a = attention(rotate(q, cos, sin, pos), rotate(k, cos, sin, pos), v, seg)
        x = x + a @ w[p + "self_attn.o_proj.weight"].T
        h = rms(x, w[p + "post_attention_layernorm.weight"], eps)
        g = torch.nn.functional.silu(h @ w[p + "mlp.gate_proj.weight"].T)
        x = x + (g * (h @ w[p + "mlp.up_proj.weight"].T)) @ w[p + "mlp.down_proj.weight"].T
    x = rms(x, w["model.norm.weight"], eps)
    head = w.get("lm_head.weight", w["model.embed_tokens.weight"])
    return x @ head.T


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def gpt2_logits(hf, w, inp, seg=None):
    if seg is None:
        seg = torch.zeros_like(inp)
    pos = seg_positions(seg)
    C, L, H = hf["n_embd"], hf["n_layer"], hf["n_head"]
    eps = hf.get("layer_norm_epsilon", 1e-5)
    B, T = inp.shape
    ln = torch.nn.functional.layer_norm
    x = w["wte.weight"][inp] + w["wpe.weight"][pos]
    for i in range(L):
        p = "h.%d." % i
        h = ln(x, (C,), w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps)
        qkv = h @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]
        q, k, v = qkv.split(C, dim=-1)
        a = attention(q.reshape(B, T, H, C // H), k.reshape(B, T, H, C // H), v.reshape(B, T, H, C // H), seg)
        x = x + a @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        h = ln(x, (C,), w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps)
        f = gelu_new(h @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"])
        x = x + f @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
    x = ln(x, (C,), w["ln_f.weight"], w["ln_f.bias"], eps)
    return x @ w["wte.weight"].T


def loss_sum(hf, w, inp, tgt, msk, seg=None):
    f = gpt2_logits if hf["model_type"] == "gpt2" else llama_logits
    logits = f(hf, w, inp, seg)
    ce = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1),
                                           reduction="none")
    return (ce * msk.reshape(-1)).sum()


# -- commands -------------------------------------------------------------------
def setup(a):
    c = read_config(a.config, a.set)
    init = os.path.join(c["_base"], c["init"])
    hf, w = load_model(init)
    T, B, A = int(c["seq_len"]), int(c["batch_size"]), int(c["grad_accum"])
    data = Loader(os.path.join(c["_base"], c["train_data"]), T)
    return c, hf, w, data, B, A


def cmd_grads(a):
    c, hf, w, data, B, A = setup(a)
    inp, tgt, msk, seg = data.sequences(0, B * A)
    total = float(msk.sum())
    loss = loss_sum(hf, w, inp, tgt, msk, seg) / total
    loss.backward()
    safetensors_io.write_file(a.o, {k: v.grad.detach().numpy() for k, v in w.items()})
    print("loss %.9g" % float(loss))


def lr_at(c, step):
    lr, mn = float(c["lr"]), float(c["min_lr"])
    wu, mx = int(c["warmup_steps"]), int(c["max_steps"])
    if step < wu:
        return lr * (step + 1) / wu
    if step >= mx or mx <= wu:
        return mn
    r = (step - wu) / (mx - wu)
    return mn + 0.5 * (1.0 + math.cos(math.pi * r)) * (lr - mn)


def cmd_train(a):
    c, hf, w, data, B, A = setup(a)
    steps = a.steps if a.steps else int(c["max_steps"])
    decay = [v for k, v in w.items() if v.dim() == 2]
    other = [v for k, v in w.items() if v.dim() != 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": float(c["weight_decay"])},
                             {"params": other, "weight_decay": 0.0}],
                            lr=float(c["lr"]), betas=(float(c["beta1"]), float(c["beta2"])),
                            eps=float(c["adam_eps"]))
    G = B * A
    clip = float(c["grad_clip"])
    for s in range(steps):
        inp, tgt, msk, seg = data.sequences(s * G, G)
        total = float(msk.sum())
        opt.zero_grad()
        acc = 0.0
        for k in range(A):
            sl = slice(k * B, (k + 1) * B)
            l = loss_sum(hf, w, inp[sl], tgt[sl], msk[sl], seg[sl]) / total
            l.backward()
            acc += float(l)
        if clip > 0:
            torch.nn.utils.clip_grad_norm_(list(w.values()), clip)
        for g in opt.param_groups:
            g["lr"] = lr_at(c, s)
        opt.step()
        print("step %d loss %.9g" % (s + 1, acc))
    if a.o:
        safetensors_io.write_file(a.o, {k: v.detach().numpy() for k, v in w.items()})


def cmd_shard(a):
    if a.random:
        rng = np.random.default_rng(a.seed)
        toks = rng.integers(0, a.vocab, a.random)
    else:
        toks = [int(t) for t in a.tokens.split()]
    mask = None
    if a.mask_random:
        mask = np.random.default_rng(a.seed + 1).integers(0, 2, len(toks))
    write_shard(a.out, toks, a.vocab, mask)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("grads")
    t = sub.add_parser("train")
    for q in (g, t):
        q.add_argument("--config", required=True)
        q.add_argument("--set", action="append", default=[])
    g.add_argument("-o", required=True)
    t.add_argument("--steps", type=int, default=0)
    t.add_argument("-o", default="")
    s = sub.add_parser("shard")
    s.add_argument("out")
    s.add_argument("--tokens", default="")
    s.add_argument("--random", type=int, default=0)
    s.add_argument("--vocab", type=int, default=0)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--mask-random", action="store_true")
    a = p.parse_args(argv)
    {"grads": cmd_grads, "train": cmd_train, "shard": cmd_shard}[a.cmd](a)


if __name__ == "__main__":
    main()
