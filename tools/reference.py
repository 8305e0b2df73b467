#!/usr/bin/python3
"""reference.py -- an independent float64 PyTorch forward pass for the test suite.

Written from the architectures' published definitions (no transformers
package): Llama / Mistral / Qwen2 / Qwen3 (pre-norm decoder, RMSNorm, RoPE,
grouped-query attention, SwiGLU MLP) and GPT-2 (learned positions, LayerNorm,
fused QKV Conv1D, GELU-tanh MLP).  It reads either

  * a Hugging Face directory (config.json + safetensors, via safetensors_io), or
  * a GGUF file (via gguf_reader; weights dequantized with quants.py, i.e. the
    exact float32 values a correct C decoder produces).  For llama/mistral GGUFs
    the Q/K rows permuted by llama.cpp's converter are un-permuted back to the
    rotate-half layout and rope_freqs.weight (llama3 scaling) is honoured.

Every weight is upcast to float64 and everything, RoPE angles included
(inv_freq = base^(-2i/d), angle = pos * inv_freq), is computed in float64.

Semantics:
  llama family: x = embed[tok]; per layer h = RMSNorm(x) * w, RMSNorm(x) =
    x / sqrt(mean(x^2) + eps); q,k,v = linear (+bias, qwen2); qwen3: per-head
    RMSNorm of q and k over head_dim (q_norm/k_norm) before RoPE; RoPE
    rotate-half (pairs i, i + d/2) with llama3 frequency scaling if configured;
    causal attention, query head h uses kv head h // (NH/NKV), scale 1/sqrt(d),
    sliding window W: query p sees keys j with p - W < j <= p; o_proj;
    x += attn; x += down(silu(gate(RMSNorm(x))) * up(RMSNorm(x))); final
    RMSNorm; logits = lm_head (or the embedding when tied).
  gpt2: x = wte[tok] + wpe[pos]; LayerNorm; c_attn (Conv1D, x @ W + b); causal
    MHA; c_proj; x += ; LayerNorm; c_fc; gelu_new = 0.5 x (1 + tanh(sqrt(2/pi)
    (x + 0.044715 x^3))); c_proj; x += ; ln_f; logits = x @ wte^T.

CLI:
  reference.py --model PATH --tokens "1 2 3" [--all] -o FILE
      writes little-endian float32 logits: [1, V] for the last token, or [T, V]
  reference.py --model PATH --tokens "1 2 3" --greedy N
      prints N greedy continuation ids (space separated), each computed by a
      full forward over the whole sequence.

Importable: load(path) -> Model; Model.logits(tokens) -> float64 [T, V];
greedy(model, tokens, n) -> (ids, margins).
"""

import argparse
import json
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402

DT = torch.float64


class Model:
    """cfg: plain dict; w: HF-named float64 tensors (GPT-2 Conv1D layout kept)."""

    def __init__(self, cfg, w):
        self.cfg = cfg
        self.w = w

    def logits(self, tokens):
        with torch.no_grad():
            if self.cfg["arch"] == "gpt2":
                return gpt2_forward(self.cfg, self.w, tokens)
            return llama_forward(self.cfg, self.w, tokens)


# -- loading ------------------------------------------------------------------------
def _t(x):
    return torch.from_numpy(np.asarray(x, dtype=np.float64).copy())


def rope_inv_freq_llama3(head_dim, theta, s):
    """HF's llama3 rule, float64."""
    inv = 1.0 / theta ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)
    factor, lo, hi = float(s["factor"]), float(s["low_freq_factor"]), float(s["high_freq_factor"])
    old = float(s["original_max_position_embeddings"])
    low_wl, high_wl = old / lo, old / hi
    wl = 2 * math.pi / inv
    scaled = np.where(wl > low_wl, inv / factor, inv)
    smooth = (old / wl - lo) / (hi - lo)
    smoothed = (1 - smooth) * scaled / factor + smooth * scaled
    medium = ~(wl < high_wl) & ~(wl > low_wl)
    return np.where(medium, smoothed, scaled)


def load_hf(path):
    with open(os.path.join(path, "config.json")) as f:
        hc = json.load(f)
    raw = safetensors_io.read_model(path)
    w = {k: _t(v) for k, v in raw.items()}
    mt = hc["model_type"]
    if mt == "gpt2":
        cfg = {"arch": "gpt2", "hidden": hc["n_embd"], "layers": hc["n_layer"],
               "heads": hc["n_head"], "vocab": hc["vocab_size"],
               "eps": hc.get("layer_norm_epsilon", 1e-5)}
        cfg["head_dim"] = cfg["hidden"] // cfg["heads"]
        return Model(cfg, w)
    H, NH = hc["hidden_size"], hc["num_attention_heads"]
    D = hc.get("head_dim") or H // NH
    cfg = {"arch": mt, "hidden": H, "layers": hc["num_hidden_layers"], "heads": NH,
           "kv_heads": hc.get("num_key_value_heads", NH), "head_dim": D,
           "vocab": hc["vocab_size"], "eps": hc["rms_norm_eps"],
           "tied": hc.get("tie_word_embeddings", False), "window": None}
    theta = float(hc.get("rope_theta", 10000.0))
    rs = hc.get("rope_scaling")
    if rs and rs.get("rope_type", rs.get("type")) == "llama3":
        cfg["inv_freq"] = rope_inv_freq_llama3(D, theta, rs)
    elif rs and rs.get("rope_type", rs.get("type")) not in (None, "default"):
        raise ValueError("reference: unsupported rope_scaling %r" % rs)
    else:
        cfg["inv_freq"] = 1.0 / theta ** (np.arange(0, D, 2, dtype=np.float64) / D)
    if mt == "mistral" and hc.get("sliding_window"):
        cfg["window"] = int(hc["sliding_window"])
    if mt in ("qwen2", "qwen3") and hc.get("use_sliding_window"):
        raise ValueError("reference: qwen use_sliding_window is not modelled")
    if "lm_head.weight" not in w:
        cfg["tied"] = True
    return Model(cfg, w)


def _unpermute(x, n_heads):
    rows = x.shape[0]
    return x.reshape(n_heads, rows // n_heads // 2, 2, *x.shape[1:]).swapaxes(1, 2).reshape(x.shape)


def load_gguf(path):
    import gguf_reader
    r = gguf_reader.GGUFReader(path)
    md = r.metadata
    arch = md["general.architecture"]
    get = lambda k, d=None: md.get(arch + "." + k, d)  # noqa: E731
    t = {name: r.to_float32(name) for name in r.tensors}
    H, L, NH = int(get("embedding_length")), int(get("block_count")), int(get("attention.head_count"))
    V = t["token_embd.weight"].shape[0]
    w = {}
    if arch == "gpt2":
        cfg = {"arch": "gpt2", "hidden": H, "layers": L, "heads": NH, "head_dim": H // NH,
               "vocab": V, "eps": float(get("attention.layer_norm_epsilon", 1e-5))}
        w["wte.weight"] = t["token_embd.weight"]
        w["wpe.weight"] = t["position_embd.weight"]
        for i in range(L):
            b, p = "blk.%d." % i, "h.%d." % i
            w[p + "ln_1.weight"] = t[b + "attn_norm.weight"]
            w[p + "ln_1.bias"] = t[b + "attn_norm.bias"]
            w[p + "attn.c_attn.weight"] = t[b + "attn_qkv.weight"].T
            w[p + "attn.c_attn.bias"] = t[b + "attn_qkv.bias"]
            w[p + "attn.c_proj.weight"] = t[b + "attn_output.weight"].T
            w[p + "attn.c_proj.bias"] = t[b + "attn_output.bias"]
            w[p + "ln_2.weight"] = t[b + "ffn_norm.weight"]
            w[p + "ln_2.bias"] = t[b + "ffn_norm.bias"]
            w[p + "mlp.c_fc.weight"] = t[b + "ffn_up.weight"].T
            w[p + "mlp.c_fc.bias"] = t[b + "ffn_up.bias"]
            w[p + "mlp.c_proj.weight"] = t[b + "ffn_down.weight"].T
            w[p + "mlp.c_proj.bias"] = t[b + "ffn_down.bias"]
        w["ln_f.weight"] = t["output_norm.weight"]
        w["ln_f.bias"] = t["output_norm.bias"]
        if "output.weight" in t:
            w["lm_head.weight"] = t["output.weight"]
        return Model(cfg, {k: _t(v) for k, v in w.items()})

    NKV = int(get("attention.head_count_kv", NH))
    D = int(get("attention.key_length", H // NH))
    rope_dim = int(get("rope.dimension_count", D))
    if rope_dim != D:
        raise ValueError("reference: partial rotary (rope dim %d != head dim %d) not modelled" % (rope_dim, D))
    theta = float(get("rope.freq_base", 10000.0))
    inv = 1.0 / theta ** (np.arange(0, D, 2, dtype=np.float64) / D)
    if "rope_freqs.weight" in t:
        inv = inv / t["rope_freqs.weight"].astype(np.float64)
    window = get("attention.sliding_window")
    cfg = {"arch": {"llama": "llama", "qwen2": "qwen2", "qwen3": "qwen3"}[arch],
           "hidden": H, "layers": L, "heads": NH, "kv_heads": NKV, "head_dim": D, "vocab": V,
           "eps": float(get("attention.layer_norm_rms_epsilon")), "inv_freq": inv,
           "window": int(window) if window else None,
           "tied": "output.weight" not in t}
    permuted = arch == "llama"
    w["model.embed_tokens.weight"] = t["token_embd.weight"]
    for i in range(L):
        b, p = "blk.%d." % i, "model.layers.%d." % i
        q, k = t[b + "attn_q.weight"], t[b + "attn_k.weight"]
        if permuted:
            q, k = _unpermute(q, NH), _unpermute(k, NKV)
        w[p + "input_layernorm.weight"] = t[b + "attn_norm.weight"]
        w[p + "self_attn.q_proj.weight"] = q
        w[p + "self_attn.k_proj.weight"] = k
        w[p + "self_attn.v_proj.weight"] = t[b + "attn_v.weight"]
        for s, hs in (("q", NH), ("k", NKV), ("v", NKV)):
            if b + "attn_%s.bias" % s in t:
                bias = t[b + "attn_%s.bias" % s]
                if permuted and s != "v":
                    bias = _unpermute(bias, hs)
                w[p + "self_attn.%s_proj.bias" % s] = bias
        if b + "attn_q_norm.weight" in t:
            w[p + "self_attn.q_norm.weight"] = t[b + "attn_q_norm.weight"]
            w[p + "self_attn.k_norm.weight"] = t[b + "attn_k_norm.weight"]
        w[p + "self_attn.o_proj.weight"] = t[b + "attn_output.weight"]
        w[p + "post_attention_layernorm.weight"] = t[b + "ffn_norm.weight"]
        w[p + "mlp.gate_proj.weight"] = t[b + "ffn_gate.weight"]
        w[p + "mlp.up_proj.weight"] = t[b + "ffn_up.weight"]
        w[p + "mlp.down_proj.weight"] = t[b + "ffn_down.weight"]
    w["model.norm.weight"] = t["output_norm.weight"]
    if "output.weight" in t:
        w["lm_head.weight"] = t["output.weight"]
    return Model(cfg, {k: _t(v) for k, v in w.items()})


def load(path):
    if os.path.isdir(path):
        return load_hf(path)
    return load_gguf(path)


# -- blocks -------------------------------------------------------------------------
def rmsnorm(x, w, eps):
    # x (..., C) -> (..., C)
    return x / torch.sqrt((x * x).mean(dim=-1, keepdim=True) + eps) * w


def layernorm(x, w, b, eps):
    mu = x.mean(dim=-1, keepdim=True)
    var = ((x - mu) ** 2).mean(dim=-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * w + b


def rope(x, cos, sin):
    # x (T, nh, D), cos/sin (T, 1, D/2) -> rotate-half RoPE
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


def attention(q, k, v, window=None):
    # q (T, NH, D), k/v (T, NKV, D) -> (T, NH*D); causal, GQA, optional sliding window
    T, NH, D = q.shape
    rep = NH // k.shape[1]
    k = k.repeat_interleave(rep, dim=1)
    v = v.repeat_interleave(rep, dim=1)
    s = torch.einsum("thd,shd->hts", q, k) / math.sqrt(D)
    p = torch.arange(T).view(T, 1)
    j = torch.arange(T).view(1, T)
    allowed = j <= p
    if window:
        allowed = allowed & (j > p - window)
    s = s.masked_fill(~allowed, float("-inf"))
    a = torch.softmax(s, dim=-1)
    return torch.einsum("hts,shd->thd", a, v).reshape(T, NH * D)


def llama_forward(c, w, tokens):
    T = len(tokens)
    NH, NKV, D, eps = c["heads"], c["kv_heads"], c["head_dim"], c["eps"]
    x = w["model.embed_tokens.weight"][torch.tensor(tokens)]
    inv = torch.from_numpy(np.asarray(c["inv_freq"], dtype=np.float64))
    ang = torch.arange(T, dtype=DT).view(T, 1) * inv.view(1, -1)
    cos, sin = torch.cos(ang).unsqueeze(1), torch.sin(ang).unsqueeze(1)
    for i in range(c["layers"]):
        p = "model.layers.%d." % i
        h = rmsnorm(x, w[p + "input_layernorm.weight"], eps)

        def proj(name):
            y = h @ w[p + "self_attn.%s_proj.weight" % name].T
            bias = w.get(p + "self_attn.%s_proj.bias" % name)
            return y + bias if bias is not None else y

        q = proj("q").view(T, NH, D)
        k = proj("k").view(T, NKV, D)
        v = proj("v").view(T, NKV, D)
        if p + "self_attn.q_norm.weight" in w:
            q = rmsnorm(q, w[p + "self_attn.q_norm.weight"], eps)
            k = rmsnorm(k, w[p + "self_attn.k_norm.weight"], eps)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        a = attention(q, k, v, c.get("window"))
        x = x + a @ w[p + "self_attn.o_proj.weight"].T
        h = rmsnorm(x, w[p + "post_attention_layernorm.weight"], eps)
        g = h @ w[p + "mlp.gate_proj.weight"].T
        u = h @ w[p + "mlp.up_proj.weight"].T
        x = x + (torch.nn.functional.silu(g) * u) @ w[p + "mlp.down_proj.weight"].T
    x = rmsnorm(x, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if c["tied"] else w["lm_head.weight"]
    return x @ head.T


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def gpt2_forward(c, w, tokens):
    T = len(tokens)
    H, NH, eps = c["hidden"], c["heads"], c["eps"]
    D = H // NH
    x = w["wte.weight"][torch.tensor(tokens)] + w["wpe.weight"][:T]
    for i in range(c["layers"]):
        p = "h.%d." % i
        h = layernorm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps)
        qkv = h @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]
        q, k, v = qkv.split(H, dim=-1)
        a = attention(q.reshape(T, NH, D), k.reshape(T, NH, D), v.reshape(T, NH, D))
        x = x + a @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        h = layernorm(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps)
        m = gelu_new(h @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"])
        x = x + m @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
    x = layernorm(x, w["ln_f.weight"], w["ln_f.bias"], eps)
    head = w.get("lm_head.weight", w["wte.weight"])
    return x @ head.T


def greedy(model, tokens, n):
    """n greedy ids by full recomputation; margins = top1 - top2 logit at each step."""
    seq = list(tokens)
    ids, margins = [], []
    for _ in range(n):
        last = model.logits(seq)[-1]
        top = torch.topk(last, 2)
        ids.append(int(top.indices[0]))
        margins.append(float(top.values[0] - top.values[1]))
        seq.append(ids[-1])
    return ids, margins


def parse_tokens(s):
    return [int(t) for t in s.replace(",", " ").split()]


def main(argv=None):
    ap = argparse.ArgumentParser(description="float64 PyTorch reference forward")
    ap.add_argument("--model", required=True)
    ap.add_argument("--tokens", required=True)
    ap.add_argument("--all", action="store_true")
    ap.add_argument("-o", "--output")
    ap.add_argument("--greedy", type=int, default=0)
    a = ap.parse_args(argv)
    m = load(a.model)
    toks = parse_tokens(a.tokens)
    if a.greedy:
        ids, margins = greedy(m, toks, a.greedy)
        print(" ".join(str(i) for i in ids))
        print("reference: smallest top1-top2 margin %.3g" % min(margins), file=sys.stderr)
    if a.output:
        lg = m.logits(toks)
        if not a.all:
            lg = lg[-1:]
        lg.numpy().astype("<f4").tofile(a.output)
    elif not a.greedy:
        ap.error("nothing to do: give -o FILE or --greedy N")


if __name__ == "__main__":
    main()
