#!/usr/bin/python3
"""gen_model.py -- generate tiny random transformer checkpoints for tests and demos.

Writes the same random model either as a Hugging Face directory (config.json +
safetensors, tensor names and config keys as transformers uses them) or as a
single GGUF file laid out the way llama.cpp's convert_hf_to_gguf.py writes it.
The same --seed gives the same float weights whatever --format/--dtype, so an
HF directory and a GGUF file of one seed are the same model up to the storage
dtype's rounding.

Usage (CLI is stable; scripts/demo.sh relies on it):

  gen_model.py --arch {llama,qwen2,qwen3,mistral,gpt2}
               --hidden H --layers L --heads NH [--kv-heads NKV] [--head-dim D]
               --ff F --vocab V [--ctx 512] [--rope-theta 10000]
               [--rope-scaling llama3] [--sliding-window W] [--tied] [--seed S]
               --format {hf,gguf}
               [--dtype {f32,f16,bf16,q8_0,q4_0,q4_k,q6_k,q4_k_m}] [--shards N]
               --out PATH

  --format hf   PATH is a directory: config.json + model.safetensors, or with
                --shards N > 1, model-0000i-of-0000N.safetensors +
                model.safetensors.index.json.  dtypes f32/f16/bf16 only.
  --format gguf PATH is a .gguf file.  1-D tensors (norms, biases, rope_freqs)
                are always F32; 2-D weights use --dtype when their row length
                is a multiple of the type's block size (32 for q8_0/q4_0, 256
                for the K-quants), else F16 (a note is printed).  q4_k_m mixes
                Q6_K (output, and attn_v/ffn_down of some layers, llama.cpp's
                use_more_bits rule) with Q4_K elsewhere.

Conventions (as in llama.cpp's converter):
  * general.architecture is "llama" for both llama and mistral; Q and K
    weights of llama/mistral are permuted for interleaved-pair RoPE:
        w.reshape(n_heads, 2, rows // n_heads // 2, *rest).swapaxes(1, 2).reshape(w.shape)
    (n_heads = NH for Q, NKV for K).  qwen2/qwen3 keep HF's layout (NEOX RoPE).
  * --rope-scaling llama3 writes HF's rope_scaling {"rope_type": "llama3",
    "factor": 8, "low_freq_factor": 1, "high_freq_factor": 4,
    "original_max_position_embeddings": 64} and, in GGUF, a rope_freqs.weight
    F32 tensor of head_dim/2 factors inv_freq_orig / inv_freq_scaled.
  * gpt2 GGUF stores the HF Conv1D weights transposed to [out, in] and an
    output.weight copy of the token embedding.
  * Weights ~ normal (std ~ 1/sqrt(fan_in)), norm weights ~ 1 + 0.1*N(0,1),
    biases ~ 0.05*N(0,1): logits are non-trivial but not saturated.

Also importable: main(argv) generates from an argument list; weights(cfg) and
config(args) expose the pieces.
"""

import argparse
import json
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import quants  # noqa: E402
import safetensors_io  # noqa: E402
from gguf_writer import (GGML_BF16, GGML_F16, GGML_F32, GGML_Q4_0, GGML_Q4_K,  # noqa: E402
                         GGML_Q6_K, GGML_Q8_0, GGUF_INT32, GGUF_STRING, GGUFWriter)

ARCHS = ("llama", "qwen2", "qwen3", "mistral", "gpt2")
DTYPES = ("f32", "f16", "bf16", "q8_0", "q4_0", "q4_k", "q6_k", "q4_k_m")
GGML_OF = {"f32": GGML_F32, "f16": GGML_F16, "bf16": GGML_BF16, "q8_0": GGML_Q8_0,
           "q4_0": GGML_Q4_0, "q4_k": GGML_Q4_K, "q6_k": GGML_Q6_K, "q4_k_m": GGML_Q4_K}
# llama.cpp's general.file_type values (LLAMA_FTYPE_*).
FILE_TYPE = {"f32": 0, "f16": 1, "q4_0": 2, "q8_0": 7, "q4_k": 14, "q4_k_m": 15,
             "q6_k": 18, "bf16": 32}

CHATML = ("{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + "
          "message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}"
          "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")

LLAMA3_SCALING = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                  "high_freq_factor": 4.0, "original_max_position_embeddings": 64}


def parse_args(argv):
    p = argparse.ArgumentParser(prog="gen_model.py", description=__doc__.split("\n")[0],
                                epilog="\n".join(__doc__.split("\n")[2:]),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arch", required=True, choices=ARCHS)
    p.add_argument("--hidden", type=int, required=True)
    p.add_argument("--layers", type=int, required=True)
    p.add_argument("--heads", type=int, required=True)
    p.add_argument("--kv-heads", type=int, default=None)
    p.add_argument("--head-dim", type=int, default=None)
    p.add_argument("--ff", type=int, required=True)
    p.add_argument("--vocab", type=int, default=None,
                   help="vocabulary size (default: that of --tokenizer)")
    p.add_argument("--tokenizer", default=None,
                   help="GGUF vocabulary (e.g. from `stargate tokenizer train`) whose tokenizer.* "
                        "metadata the GGUF model carries instead of the dummy <tN> vocabulary")
    p.add_argument("--ctx", type=int, default=512)
    p.add_argument("--rope-theta", type=float, default=10000.0)
    p.add_argument("--rope-scaling", choices=("none", "llama3"), default="none")
    p.add_argument("--sliding-window", type=int, default=None)
    p.add_argument("--tied", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--format", choices=("hf", "gguf"), required=True)
    p.add_argument("--dtype", choices=DTYPES, default="f32")
    p.add_argument("--shards", type=int, default=1)
    p.add_argument("--out", required=True)
    p.add_argument("--quiet", action="store_true", help="do not print notes")
    return p.parse_args(argv)


def tokenizer_metadata(path):
    """The tokenizer.* keys of a GGUF vocabulary, as (key, kind, value) with
    kind 'str', 'u32', 'i32', 'f32', 'bool' or ('arr', elem_type)."""
    from gguf_reader import GGUFReader
    from gguf_writer import GGUF_FLOAT32, GGUF_INT32, GGUF_STRING, GGUF_UINT32
    r = GGUFReader(path)
    out = []
    for k, v in r.metadata.items():
        if not k.startswith("tokenizer."):
            continue
        t = r.types[k]
        if isinstance(v, list):
            out.append((k, ("arr", GGUF_STRING), v))
        elif isinstance(v, np.ndarray):
            et = {np.dtype("<i4"): GGUF_INT32, np.dtype("<u4"): GGUF_UINT32,
                  np.dtype("<f4"): GGUF_FLOAT32}.get(v.dtype)
            if et is None:
                raise SystemExit("gen_model: %s: unsupported array type %s in %s" % (path, v.dtype, k))
            out.append((k, ("arr", et), v.tolist()))
        else:
            out.append((k, t, v))
    if not any(k == "tokenizer.ggml.tokens" for k, _, _ in out):
        raise SystemExit("gen_model: %s has no tokenizer.ggml.tokens" % path)
    return out


def config(a):
    """Normalized model description (a plain dict) from parsed arguments."""
    if a.tokenizer:
        a.tok_meta = tokenizer_metadata(a.tokenizer)
        n = len(dict((k, v) for k, _, v in a.tok_meta)["tokenizer.ggml.tokens"])
        if a.vocab is not None and a.vocab != n:
            raise SystemExit("gen_model: --vocab %d but %s has %d tokens" % (a.vocab, a.tokenizer, n))
        a.vocab = n
    else:
        a.tok_meta = None
    if a.vocab is None:
        raise SystemExit("gen_model: give --vocab or --tokenizer")
    nkv = a.kv_heads if a.kv_heads is not None else a.heads
    if a.arch == "gpt2":
        if a.head_dim not in (None, a.hidden // a.heads) or nkv != a.heads:
            raise SystemExit("gen_model: gpt2 has head_dim = hidden/heads and no GQA")
        if a.hidden % a.heads:
            raise SystemExit("gen_model: hidden must be a multiple of heads")
    hd = a.head_dim if a.head_dim is not None else a.hidden // a.heads
    if a.heads % nkv:
        raise SystemExit("gen_model: heads must be a multiple of kv-heads")
    if hd % 2:
        raise SystemExit("gen_model: head_dim must be even")
    if a.rope_scaling == "llama3" and a.arch not in ("llama", "mistral"):
        raise SystemExit("gen_model: --rope-scaling llama3 is for llama/mistral")
    if a.sliding_window is not None and a.arch != "mistral":
        raise SystemExit("gen_model: --sliding-window is for mistral")
    return {
        "arch": a.arch, "hidden": a.hidden, "layers": a.layers, "heads": a.heads,
        "kv_heads": nkv, "head_dim": hd, "head_dim_given": a.head_dim is not None,
        "ff": a.ff, "vocab": a.vocab, "ctx": a.ctx, "rope_theta": a.rope_theta,
        "rope_scaling": a.rope_scaling if a.rope_scaling != "none" else None,
        "sliding_window": a.sliding_window, "tied": a.tied or a.arch == "gpt2",
        "seed": a.seed, "tok_meta": a.tok_meta,
        "eps": 1e-6 if a.arch in ("qwen2", "qwen3") else 1e-5,
    }


def weights(c):
    """HF-named float32 weights, generated in a fixed order from the seed."""
    rng = np.random.default_rng(c["seed"])
    H, F, V, L = c["hidden"], c["ff"], c["vocab"], c["layers"]
    NH, NKV, D = c["heads"], c["kv_heads"], c["head_dim"]
    w = {}

    def normal(shape, std):
        return (rng.standard_normal(shape, dtype=np.float32) * np.float32(std)).astype(np.float32)

    def norm(n):
        return (1.0 + 0.1 * rng.standard_normal(n, dtype=np.float32)).astype(np.float32)

    if c["arch"] == "gpt2":
        w["wte.weight"] = normal((V, H), 0.1)
        w["wpe.weight"] = normal((c["ctx"], H), 0.05)
        for i in range(L):
            p = "h.%d." % i
            w[p + "ln_1.weight"] = norm(H)
            w[p + "ln_1.bias"] = normal(H, 0.05)
            w[p + "attn.c_attn.weight"] = normal((H, 3 * H), 1 / math.sqrt(H))
            w[p + "attn.c_attn.bias"] = normal(3 * H, 0.05)
            w[p + "attn.c_proj.weight"] = normal((H, H), 0.5 / math.sqrt(H))
            w[p + "attn.c_proj.bias"] = normal(H, 0.05)
            w[p + "ln_2.weight"] = norm(H)
            w[p + "ln_2.bias"] = normal(H, 0.05)
            w[p + "mlp.c_fc.weight"] = normal((H, F), 1 / math.sqrt(H))
            w[p + "mlp.c_fc.bias"] = normal(F, 0.05)
            w[p + "mlp.c_proj.weight"] = normal((F, H), 0.5 / math.sqrt(F))
            w[p + "mlp.c_proj.bias"] = normal(H, 0.05)
        w["ln_f.weight"] = norm(H)
        w["ln_f.bias"] = normal(H, 0.05)
        return w

    w["model.embed_tokens.weight"] = normal((V, H), 0.1)
    for i in range(L):
        p = "model.layers.%d." % i
        w[p + "input_layernorm.weight"] = norm(H)
        w[p + "self_attn.q_proj.weight"] = normal((NH * D, H), 1 / math.sqrt(H))
        w[p + "self_attn.k_proj.weight"] = normal((NKV * D, H), 1 / math.sqrt(H))
        w[p + "self_attn.v_proj.weight"] = normal((NKV * D, H), 1 / math.sqrt(H))
        if c["arch"] == "qwen2":
            w[p + "self_attn.q_proj.bias"] = normal(NH * D, 0.05)
            w[p + "self_attn.k_proj.bias"] = normal(NKV * D, 0.05)
            w[p + "self_attn.v_proj.bias"] = normal(NKV * D, 0.05)
        if c["arch"] == "qwen3":
            w[p + "self_attn.q_norm.weight"] = norm(D)
            w[p + "self_attn.k_norm.weight"] = norm(D)
        w[p + "self_attn.o_proj.weight"] = normal((H, NH * D), 0.5 / math.sqrt(NH * D))
        w[p + "post_attention_layernorm.weight"] = norm(H)
        w[p + "mlp.gate_proj.weight"] = normal((F, H), 1 / math.sqrt(H))
        w[p + "mlp.up_proj.weight"] = normal((F, H), 1 / math.sqrt(H))
        w[p + "mlp.down_proj.weight"] = normal((H, F), 0.5 / math.sqrt(F))
    w["model.norm.weight"] = norm(H)
    lm_head = normal((V, H), 2 / math.sqrt(H))   # drawn last: tying changes nothing else
    if not c["tied"]:
        w["lm_head.weight"] = lm_head
    return w


# -- Hugging Face directory ------------------------------------------------------
def hf_config(c, dtype):
    torch_dtype = {"f32": "float32", "f16": "float16", "bf16": "bfloat16"}[dtype]
    if c["arch"] == "gpt2":
        return {
            "architectures": ["GPT2LMHeadModel"], "model_type": "gpt2",
            "vocab_size": c["vocab"], "n_embd": c["hidden"], "n_layer": c["layers"],
            "n_head": c["heads"], "n_positions": c["ctx"], "n_ctx": c["ctx"],
            "n_inner": c["ff"], "layer_norm_epsilon": c["eps"],
            "activation_function": "gelu_new", "tie_word_embeddings": True,
            "torch_dtype": torch_dtype,
        }
    names = {"llama": "LlamaForCausalLM", "qwen2": "Qwen2ForCausalLM",
             "qwen3": "Qwen3ForCausalLM", "mistral": "MistralForCausalLM"}
    cfg = {
        "architectures": [names[c["arch"]]], "model_type": c["arch"],
        "vocab_size": c["vocab"], "hidden_size": c["hidden"],
        "intermediate_size": c["ff"], "num_hidden_layers": c["layers"],
        "num_attention_heads": c["heads"], "num_key_value_heads": c["kv_heads"],
        "hidden_act": "silu", "max_position_embeddings": c["ctx"],
        "rms_norm_eps": c["eps"], "rope_theta": c["rope_theta"],
        "rope_scaling": dict(LLAMA3_SCALING) if c["rope_scaling"] == "llama3" else None,
        "attention_bias": False,
        "tie_word_embeddings": c["tied"], "torch_dtype": torch_dtype,
    }
    if c["arch"] == "qwen2":
        del cfg["attention_bias"]
    if c["head_dim_given"] or c["arch"] == "qwen3":
        cfg["head_dim"] = c["head_dim"]
    if c["arch"] == "mistral":
        cfg["sliding_window"] = c["sliding_window"]
    if c["arch"] in ("qwen2", "qwen3"):
        cfg["use_sliding_window"] = False
        cfg["sliding_window"] = c["ctx"]
        cfg["max_window_layers"] = c["layers"]
    return cfg


def write_hf(c, w, out, dtype, shards):
    if dtype not in ("f32", "f16", "bf16"):
        raise SystemExit("gen_model: --format hf supports f32, f16, bf16")
    os.makedirs(out, exist_ok=True)
    safetensors_io.write_model(out, w, dtype.upper(), shards)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(hf_config(c, dtype), f, indent=2)
        f.write("\n")


# -- GGUF -------------------------------------------------------------------------
def permute_qk(x, n_heads):
    """llama.cpp's permutation of Q/K rows from rotate-half to interleaved pairs."""
    rows = x.shape[0]
    return x.reshape(n_heads, 2, rows // n_heads // 2, *x.shape[1:]).swapaxes(1, 2).reshape(x.shape)


def unpermute_qk(x, n_heads):
    """Inverse of permute_qk."""
    rows = x.shape[0]
    return x.reshape(n_heads, rows // n_heads // 2, 2, *x.shape[1:]).swapaxes(1, 2).reshape(x.shape)


def llama3_rope_factors(head_dim, theta, s=LLAMA3_SCALING):
    """Per-frequency factors inv_freq_orig / inv_freq_scaled of HF's llama3 rule."""
    inv = 1.0 / theta ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)
    factor, lo, hi = s["factor"], s["low_freq_factor"], s["high_freq_factor"]
    old = s["original_max_position_embeddings"]
    low_wl, high_wl = old / lo, old / hi
    out = []
    for f in inv:
        wl = 2 * math.pi / f
        if wl < high_wl:
            scaled = f
        elif wl > low_wl:
            scaled = f / factor
        else:
            smooth = (old / wl - lo) / (hi - lo)
            scaled = (1 - smooth) * f / factor + smooth * f
        out.append(f / scaled)
    return np.array(out, dtype=np.float64)


def gguf_tensors(c, w):
    """(gguf name, float32 array in GGUF/torch order, role) in llama.cpp's order."""
    t = []
    L = c["layers"]
    if c["arch"] == "gpt2":
        t.append(("token_embd.weight", w["wte.weight"]))
        t.append(("position_embd.weight", w["wpe.weight"]))
        for i in range(L):
            p, b = "h.%d." % i, "blk.%d." % i
            t += [(b + "attn_norm.weight", w[p + "ln_1.weight"]),
                  (b + "attn_norm.bias", w[p + "ln_1.bias"]),
                  (b + "attn_qkv.weight", w[p + "attn.c_attn.weight"].T),
                  (b + "attn_qkv.bias", w[p + "attn.c_attn.bias"]),
                  (b + "attn_output.weight", w[p + "attn.c_proj.weight"].T),
                  (b + "attn_output.bias", w[p + "attn.c_proj.bias"]),
                  (b + "ffn_norm.weight", w[p + "ln_2.weight"]),
                  (b + "ffn_norm.bias", w[p + "ln_2.bias"]),
                  (b + "ffn_up.weight", w[p + "mlp.c_fc.weight"].T),
                  (b + "ffn_up.bias", w[p + "mlp.c_fc.bias"]),
                  (b + "ffn_down.weight", w[p + "mlp.c_proj.weight"].T),
                  (b + "ffn_down.bias", w[p + "mlp.c_proj.bias"])]
        t.append(("output_norm.weight", w["ln_f.weight"]))
        t.append(("output_norm.bias", w["ln_f.bias"]))
        t.append(("output.weight", w["wte.weight"].copy()))
        return [(n, np.ascontiguousarray(x, dtype=np.float32)) for n, x in t]

    permute = c["arch"] in ("llama", "mistral")
    NH, NKV = c["heads"], c["kv_heads"]
    t.append(("token_embd.weight", w["model.embed_tokens.weight"]))
    if c["rope_scaling"] == "llama3":
        t.append(("rope_freqs.weight",
                  llama3_rope_factors(c["head_dim"], c["rope_theta"]).astype(np.float32)))
    for i in range(L):
        p, b = "model.layers.%d." % i, "blk.%d." % i
        q, k = w[p + "self_attn.q_proj.weight"], w[p + "self_attn.k_proj.weight"]
        if permute:
            q, k = permute_qk(q, NH), permute_qk(k, NKV)
        t.append((b + "attn_norm.weight", w[p + "input_layernorm.weight"]))
        t.append((b + "attn_q.weight", q))
        t.append((b + "attn_k.weight", k))
        t.append((b + "attn_v.weight", w[p + "self_attn.v_proj.weight"]))
        if c["arch"] == "qwen2":
            t.append((b + "attn_q.bias", w[p + "self_attn.q_proj.bias"]))
            t.append((b + "attn_k.bias", w[p + "self_attn.k_proj.bias"]))
            t.append((b + "attn_v.bias", w[p + "self_attn.v_proj.bias"]))
        if c["arch"] == "qwen3":
            t.append((b + "attn_q_norm.weight", w[p + "self_attn.q_norm.weight"]))
            t.append((b + "attn_k_norm.weight", w[p + "self_attn.k_norm.weight"]))
        t.append((b + "attn_output.weight", w[p + "self_attn.o_proj.weight"]))
        t.append((b + "ffn_norm.weight", w[p + "post_attention_layernorm.weight"]))
        t.append((b + "ffn_gate.weight", w[p + "mlp.gate_proj.weight"]))
        t.append((b + "ffn_up.weight", w[p + "mlp.up_proj.weight"]))
        t.append((b + "ffn_down.weight", w[p + "mlp.down_proj.weight"]))
    t.append(("output_norm.weight", w["model.norm.weight"]))
    if not c["tied"]:
        t.append(("output.weight", w["lm_head.weight"]))
    return [(n, np.ascontiguousarray(x, dtype=np.float32)) for n, x in t]


def use_more_bits(i, n):
    """llama.cpp's rule for which layers get more bits in the _M mixes."""
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


def gguf_type_for(name, x, dtype, c, notes):
    if x.ndim == 1:
        return GGML_F32
    t = GGML_OF[dtype]
    if dtype == "q4_k_m":
        head = "token_embd.weight" if c["tied"] and c["arch"] != "gpt2" else "output.weight"
        if name == head:
            t = GGML_Q6_K
        elif name.startswith("blk."):
            layer = int(name.split(".")[1])
            kind = name.split(".")[2]
            if kind in ("attn_v", "ffn_down", "attn_qkv") and use_more_bits(layer, c["layers"]):
                t = GGML_Q6_K
    blk = quants.BLOCK[t][0]
    if x.shape[-1] % blk:
        notes.append("note: %s row length %d is not a multiple of %d, stored as F16"
                     % (name, x.shape[-1], blk))
        t = GGML_F16
    return t


def write_gguf(c, w, out, dtype, quiet=False):
    arch = {"llama": "llama", "mistral": "llama", "qwen2": "qwen2", "qwen3": "qwen3",
            "gpt2": "gpt2"}[c["arch"]]
    g = GGUFWriter()
    g.add_string("general.architecture", arch)
    g.add_string("general.name", "stargate-test-%s-%d" % (c["arch"], c["seed"]))
    g.add_uint32("general.alignment", 32)
    g.add_uint32("general.file_type", FILE_TYPE[dtype])
    if dtype.startswith("q"):
        g.add_uint32("general.quantization_version", 2)
    g.add_uint32(arch + ".context_length", c["ctx"])
    g.add_uint32(arch + ".embedding_length", c["hidden"])
    g.add_uint32(arch + ".block_count", c["layers"])
    g.add_uint32(arch + ".feed_forward_length", c["ff"])
    g.add_uint32(arch + ".attention.head_count", c["heads"])
    if arch == "gpt2":
        g.add_float32(arch + ".attention.layer_norm_epsilon", c["eps"])
    else:
        g.add_uint32(arch + ".attention.head_count_kv", c["kv_heads"])
        g.add_float32(arch + ".attention.layer_norm_rms_epsilon", c["eps"])
        g.add_float32(arch + ".rope.freq_base", c["rope_theta"])
        g.add_uint32(arch + ".rope.dimension_count", c["head_dim"])
        g.add_uint32(arch + ".attention.key_length", c["head_dim"])
        g.add_uint32(arch + ".attention.value_length", c["head_dim"])
        if c["sliding_window"]:
            g.add_uint32(arch + ".attention.sliding_window", c["sliding_window"])
    g.add_uint32(arch + ".vocab_size", c["vocab"])
    if c["tok_meta"]:  # a real vocabulary, e.g. from `stargate tokenizer train`
        for k, kind, v in c["tok_meta"]:
            if isinstance(kind, tuple):
                g.add_array(k, v, kind[1])
            else:
                g.add_kv(k, kind, v)
        if not any(k == "tokenizer.chat_template" for k, _, _ in c["tok_meta"]):
            g.add_string("tokenizer.chat_template", CHATML)
    else:
        g.add_string("tokenizer.ggml.model", "gpt2")
        g.add_array("tokenizer.ggml.tokens", ["<t%d>" % i for i in range(c["vocab"])], GGUF_STRING)
        g.add_array("tokenizer.ggml.token_type", [1] * c["vocab"], GGUF_INT32)
        g.add_string("tokenizer.chat_template", CHATML)
    notes = []
    for name, x in gguf_tensors(c, w):
        t = gguf_type_for(name, x, dtype, c, notes)
        g.add_tensor(name, quants.quantize(x, t), x.shape, t)
    if notes and not quiet:
        for n in notes:
            print("gen_model: " + n, file=sys.stderr)
    tmp = out + ".tmp"
    g.write(tmp)
    os.replace(tmp, out)


def main(argv=None):
    a = parse_args(argv)
    c = config(a)
    w = weights(c)
    if a.format == "hf":
        write_hf(c, w, a.out, a.dtype, a.shards)
    else:
        write_gguf(c, w, a.out, a.dtype, a.quiet)
    return a.out


if __name__ == "__main__":
    main()
