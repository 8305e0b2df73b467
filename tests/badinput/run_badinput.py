#!/usr/bin/env python3
"""run_badinput.py -- malformed models must fail with one clear line.

Usage: run_badinput.py --stargate PATH/TO/stargate --work DIR [-k SUBSTRING] [-v]

The script writes a tiny valid llama model twice -- a GGUF file and a Hugging
Face directory (config.json + model.safetensors), both F32, hidden 32, one
layer, two heads, vocabulary 64 -- then derives one broken model per case:
truncations, bad magic and version, out-of-bounds and overlapping tensors,
absurd dimensions, unsupported architecture and dtype, missing and misshapen
tensors, malformed config.json, bad safetensors headers, broken shards.

For every case it runs
    stargate info MODEL
    stargate logits -m MODEL --tokens "1 2" -o /dev/null
and requires: exit status 1 (not 0, not a signal, not a sanitizer abort), a
stderr of exactly one line starting "stargate: error:" that names the file
and contains the case's keyword, and nothing on stdout for `logits`. The
valid models are positive controls: exit 0, and `info` prints the
architecture. The environment is passed through untouched (ASAN_OPTIONS and
friends reach the binary).

Standard library only (struct, json, os, subprocess, tempfile).
"""
import argparse
import json
import os
import shutil
import struct
import subprocess
import sys

# Tiny llama: hidden, layers, heads, vocab, feed-forward (256 so that a
# q5_K tensor -- super-blocks of 256 -- can stand in for ffn_down).
H, NL, NH, V, FF, CTX = 32, 1, 2, 64, 256, 128

# ----------------------------------------------------------------- GGUF

T_U32, T_F32, T_STR = 4, 6, 8
GGML_F32, GGML_Q4_1, GGML_Q5_K = 0, 3, 13
GGML_SIZE = {GGML_F32: (1, 4), GGML_Q4_1: (32, 20), GGML_Q5_K: (256, 176)}


def gstr(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def kv_bytes(key, t, v):
    out = gstr(key) + struct.pack("<I", t)
    if t == T_STR:
        return out + gstr(v)
    if t == T_F32:
        return out + struct.pack("<f", v)
    return out + struct.pack("<I", v)


def floats(n, seed):
    """n deterministic small floats (a linear congruential sequence)."""
    x = seed * 2654435761 % 4294967296
    out = []
    for _ in range(n):
        x = (1103515245 * x + 12345) % 2147483648
        out.append((x / 2147483648.0 - 0.5) * 0.2)
    return out


def llama_kvs(**override):
    kvs = [
        ("general.architecture", T_STR, "llama"),
        ("general.name", T_STR, "badinput-tiny"),
        ("llama.context_length", T_U32, CTX),
        ("llama.embedding_length", T_U32, H),
        ("llama.block_count", T_U32, NL),
        ("llama.feed_forward_length", T_U32, FF),
        ("llama.attention.head_count", T_U32, NH),
        ("llama.attention.head_count_kv", T_U32, NH),
        ("llama.attention.layer_norm_rms_epsilon", T_F32, 1e-5),
        ("llama.rope.freq_base", T_F32, 10000.0),
    ]
    return [(k, t, override.get(k, v)) for k, t, v in kvs if override.get(k, v) is not None]


def llama_tensors():
    """[name, ne (ggml order: ne[0] contiguous), ggml type] of the tiny model."""
    t = [["token_embd.weight", [H, V]], ["output_norm.weight", [H]], ["output.weight", [H, V]]]
    for l in range(NL):
        p = "blk.%d." % l
        t += [[p + "attn_norm.weight", [H]], [p + "attn_q.weight", [H, H]], [p + "attn_k.weight", [H, H]],
              [p + "attn_v.weight", [H, H]], [p + "attn_output.weight", [H, H]], [p + "ffn_norm.weight", [H]],
              [p + "ffn_gate.weight", [H, FF]], [p + "ffn_up.weight", [H, FF]], [p + "ffn_down.weight", [FF, H]]]
    return [{"name": n, "ne": ne, "type": GGML_F32} for n, ne in t]


def gguf(kvs, tensors, version=3, alignment=32):
    """Lay out a GGUF file. A tensor dict may carry "offset" (forced data
    offset) and "nbytes" (forced size). Returns (bytes, layout) where layout
    gives the offsets of the parts, for truncation cases."""
    head = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kvs))
    kv = b"".join(kv_bytes(*x) for x in kvs)
    infos, blobs, offset = b"", [], 0
    for i, t in enumerate(tensors):
        bs, bb = GGML_SIZE.get(t["type"], (1, 4))
        n = 1
        for d in t["ne"]:
            n *= d
        nbytes = t.get("nbytes", n // bs * bb if n < (1 << 30) else 0)
        off = t.get("offset", offset)
        infos += gstr(t["name"]) + struct.pack("<I", len(t["ne"]))
        infos += b"".join(struct.pack("<Q", d) for d in t["ne"]) + struct.pack("<IQ", t["type"], off)
        if t["type"] == GGML_F32 and nbytes == n * 4:
            vals = [1.0] * n if "norm" in t["name"] else floats(n, i + 1)
            blob = struct.pack("<%df" % n, *vals)
        else:
            blob = bytes((k * 7 + 1) & 255 for k in range(nbytes))
        if "offset" not in t:
            blobs.append(blob + b"\0" * ((-len(blob)) % alignment))
            offset += len(blobs[-1])
    pre = head + kv + infos
    pad = b"\0" * ((-len(pre)) % alignment)
    data = b"".join(blobs)
    layout = {"kv": len(head), "infos": len(head) + len(kv), "infos_end": len(pre), "data": len(pre) + len(pad)}
    return pre + pad + data, layout


# ---------------------------------------------------------- safetensors

def hf_tensors():
    """[name, shape (row-major: [out, in])] of the tiny model in HF naming."""
    t = [["model.embed_tokens.weight", [V, H]], ["model.norm.weight", [H]], ["lm_head.weight", [V, H]]]
    for l in range(NL):
        p = "model.layers.%d." % l
        t += [[p + "input_layernorm.weight", [H]], [p + "self_attn.q_proj.weight", [H, H]],
              [p + "self_attn.k_proj.weight", [H, H]], [p + "self_attn.v_proj.weight", [H, H]],
              [p + "self_attn.o_proj.weight", [H, H]], [p + "post_attention_layernorm.weight", [H]],
              [p + "mlp.gate_proj.weight", [FF, H]], [p + "mlp.up_proj.weight", [FF, H]],
              [p + "mlp.down_proj.weight", [H, FF]]]
    return t


def safetensors(tensors):
    header, data = {"__metadata__": {"format": "pt"}}, b""
    for i, (name, shape) in enumerate(tensors):
        n = 1
        for d in shape:
            n *= d
        vals = [1.0] * n if "norm" in name else floats(n, i + 1)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [len(data), len(data) + 4 * n]}
        data += struct.pack("<%df" % n, *vals)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((-len(h)) % 8)
    return struct.pack("<Q", len(h)) + h + data


def hf_config(**override):
    c = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": H,
         "intermediate_size": FF, "num_attention_heads": NH, "num_key_value_heads": NH,
         "num_hidden_layers": NL, "vocab_size": V, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
         "max_position_embeddings": CTX, "tie_word_embeddings": False, "torch_dtype": "float32"}
    for k, v in override.items():
        if v is None:
            c.pop(k, None)
        else:
            c[k] = v
    return json.dumps(c, indent=2)


# ----------------------------------------------------------- the cases

class Suite:
    def __init__(self, stargate, work, verbose, only):
        self.stargate, self.work, self.verbose, self.only = stargate, work, verbose, only
        self.passed, self.failed = 0, []

    def path(self, name):
        return os.path.join(self.work, name)

    def write(self, name, data):
        p = self.path(name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb" if isinstance(data, bytes) else "w") as f:
            f.write(data)
        return p

    def hf_dir(self, name, config=None, tensors=None, st_bytes=None):
        d = self.path(name)
        os.makedirs(d, exist_ok=True)
        if config is not None:
            self.write(os.path.join(name, "config.json"), config)
        if st_bytes is None and tensors is not None:
            st_bytes = safetensors(tensors)
        if st_bytes is not None:
            self.write(os.path.join(name, "model.safetensors"), st_bytes)
        return d

    def run(self, args):
        try:
            p = subprocess.run([self.stargate] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=120)
        except subprocess.TimeoutExpired:
            return None, b"", b"(timed out after 120 s)"
        return p.returncode, p.stdout, p.stderr

    def commands(self, model):
        return [("info", ["info", model]), ("logits", ["logits", "-m", model, "--tokens", "1 2", "-o", os.devnull])]

    def record(self, label, problems):
        if problems:
            self.failed.append(label)
            print("FAIL %s" % label)
            for p in problems:
                print("     %s" % p)
        else:
            self.passed += 1
            if self.verbose:
                print("ok   %s" % label)

    def bad(self, case, model, name, *keywords):
        """The model must be rejected by both commands: exit 1, one stderr line
        'stargate: error: ...' containing `name` and every keyword (a tuple
        keyword means any one of its alternatives; matching ignores case)."""
        if self.only not in case:
            return
        for cmd, args in self.commands(model):
            rc, out, err = self.run(args)
            text = err.decode("utf-8", "replace")
            lines = text.splitlines()
            problems = []
            if rc is None:
                problems.append("hung: %s" % text)
            elif rc < 0:
                problems.append("killed by signal %d" % -rc)
            elif rc != 1:
                problems.append("exit status %d, want 1" % rc)
            if len(lines) != 1 or not text.endswith("\n"):
                problems.append("stderr is %d lines, want exactly one" % len(lines))
            elif not lines[0].startswith("stargate: error: "):
                problems.append("stderr does not start with 'stargate: error: '")
            else:
                low = lines[0].lower()
                for kw in (name,) + keywords:
                    alts = kw if isinstance(kw, tuple) else (kw,)
                    if not any(a.lower() in low for a in alts):
                        problems.append("message lacks %s" % " or ".join(repr(a) for a in alts))
            if cmd == "logits" and out:
                problems.append("stdout not empty: %r" % out[:200])
            if problems:
                problems.append("stderr: %s" % text.strip()[:600])
            elif self.verbose:
                print("     %s: %s" % (cmd, lines[0]))
            self.record("%s [%s]" % (case, cmd), problems)

    def good(self, case, model):
        """Positive control: both commands succeed; info names the architecture."""
        if self.only not in case:
            return
        for cmd, args in self.commands(model):
            rc, out, err = self.run(args)
            problems = []
            if rc != 0:
                problems.append("exit status %s, want 0; stderr: %s" % (rc, err.decode("utf-8", "replace").strip()[:600]))
            if cmd == "info" and b"llama" not in out:
                problems.append("info does not print the architecture 'llama': %r" % out[:300])
            self.record("%s [%s]" % (case, cmd), problems)


def gguf_cases(s):
    kvs, tensors = llama_kvs(), llama_tensors()
    valid, layout = gguf(kvs, tensors)
    good = s.write("valid.gguf", valid)
    s.good("valid gguf", good)

    def variant(fname, data):
        return s.write(fname, data)

    s.bad("missing file", s.path("does-not-exist.gguf"), "does-not-exist.gguf",
          ("no such file", "cannot open", "not found"))

    # Truncations: in the magic, in the header counts, inside a kv, inside the
    # tensor infos, inside the data section, one byte short.
    trunc_kw = ("truncated", "past end", "not a gguf", "too small", "exceeds")
    cuts = [("in magic", 2), ("in header", 14), ("in first kv", layout["kv"] + 30),
            ("in last kv", layout["infos"] - 3), ("in tensor infos", layout["infos_end"] - 5),
            ("in data", layout["data"] + 1000), ("one byte short", len(valid) - 1)]
    for what, n in cuts:
        f = "trunc-%s.gguf" % what.replace(" ", "-")
        s.bad("truncated gguf %s (%d of %d bytes)" % (what, n, len(valid)), variant(f, valid[:n]), f, trunc_kw)
    s.bad("empty gguf", variant("empty.gguf", b""), "empty.gguf", trunc_kw)

    s.bad("wrong magic", variant("magic.gguf", b"GGML" + valid[4:]), "magic.gguf", "magic")
    s.bad("unknown version", variant("version.gguf", valid[:4] + struct.pack("<I", 7) + valid[8:]),
          "version.gguf", "version 7")
    s.bad("gguf version 1", variant("version1.gguf", valid[:4] + struct.pack("<I", 1) + valid[8:]),
          "version1.gguf", "version 1")

    t = llama_tensors()
    t[4]["offset"] = 1 << 24
    s.bad("tensor offset out of bounds", variant("oob.gguf", gguf(kvs, t)[0]), "oob.gguf", "blk.0.attn_q.weight",
          ("past end", "out of bounds", "beyond"))
    t = llama_tensors()
    t[5]["offset"] = 0  # attn_k on top of token_embd
    s.bad("overlapping tensors", variant("overlap.gguf", gguf(kvs, t)[0]), "overlap.gguf", "overlap")
    t = llama_tensors()
    t[4]["offset"] = 4  # not a multiple of 32
    s.bad("misaligned tensor", variant("misaligned.gguf", gguf(kvs, t)[0]), "misaligned.gguf", "align")

    t = llama_tensors()
    t[4]["ne"] = [1 << 32, 1 << 32]
    s.bad("dims overflow", variant("overflow.gguf", gguf(kvs, t)[0]), "overflow.gguf", "blk.0.attn_q.weight",
          "overflow")
    t = llama_tensors()
    t[4]["ne"] = [1 << 20, 1 << 20]
    s.bad("dims huge", variant("huge.gguf", gguf(kvs, t)[0]), "huge.gguf", "blk.0.attn_q.weight",
          ("past end", "shape"))
    t = llama_tensors()
    t[4]["ne"] = [H, H, 1, 1, 1]
    s.bad("five dims", variant("dims5.gguf", gguf(kvs, t)[0]), "dims5.gguf", "dimensions")
    t = llama_tensors()
    t[0]["ne"] = [H, 0]
    s.bad("vocab 0 (empty token_embd)", variant("vocab0.gguf", gguf(kvs, t)[0]), "vocab0.gguf",
          "token_embd.weight", ("empty", "vocab"))
    s.bad("n_head 0", variant("nhead0.gguf", gguf(llama_kvs(**{"llama.attention.head_count": 0}), tensors)[0]),
          "nhead0.gguf", "head")
    odd = llama_kvs(**{"llama.attention.head_count": 3, "llama.attention.head_count_kv": 3})
    s.bad("hidden not divisible by heads", variant("heads3.gguf", gguf(odd, tensors)[0]), "heads3.gguf",
          "divisible")
    s.bad("missing hyper-parameter",
          variant("noembd.gguf", gguf(llama_kvs(**{"llama.embedding_length": None}), tensors)[0]),
          "noembd.gguf", "embedding_length")
    s.bad("bad alignment", variant("align.gguf", gguf(kvs + [("general.alignment", T_U32, 48)], tensors)[0]),
          "align.gguf", "alignment")

    s.bad("unsupported architecture", variant("mamba.gguf",
          gguf(llama_kvs(**{"general.architecture": "mamba"}), tensors)[0]), "mamba.gguf", "mamba")
    t = llama_tensors()
    t[11]["type"] = GGML_Q5_K  # blk.0.ffn_down.weight, ne[0] = 256
    s.bad("unsupported dtype q5_K", variant("q5k.gguf", gguf(kvs, t)[0]), "q5k.gguf", "q5_K",
          "blk.0.ffn_down.weight")
    t = llama_tensors()
    t[4]["type"] = GGML_Q4_1
    s.bad("unsupported dtype q4_1", variant("q41.gguf", gguf(kvs, t)[0]), "q41.gguf", "q4_1",
          "blk.0.attn_q.weight")
    t = llama_tensors()
    t[4]["type"] = 200
    s.bad("unknown ggml type", variant("type200.gguf", gguf(kvs, t)[0]), "type200.gguf", "200")

    t = [x for x in llama_tensors() if x["name"] != "blk.0.ffn_up.weight"]
    s.bad("missing tensor", variant("noffnup.gguf", gguf(kvs, t)[0]), "noffnup.gguf", "blk.0.ffn_up.weight",
          "missing")
    t = llama_tensors()
    t[4]["ne"] = [H, H // 2]
    s.bad("wrong tensor shape", variant("shape.gguf", gguf(kvs, t)[0]), "shape.gguf", "blk.0.attn_q.weight",
          "shape")
    t = llama_tensors()
    t.append(dict(t[4]))
    s.bad("duplicate tensor", variant("dup.gguf", gguf(kvs, t)[0]), "dup.gguf", "duplicate")


def hf_cases(s):
    tensors = hf_tensors()
    good = s.hf_dir("hf-valid", hf_config(), tensors)
    s.good("valid hf dir", good)

    s.bad("dir without config.json", s.hf_dir("hf-noconfig", None, tensors), "config.json")
    s.bad("config.json not JSON", s.hf_dir("hf-notjson", "{\"model_type\": \"llama\",", tensors),
          "config.json", "json")
    s.bad("config.json missing hidden_size", s.hf_dir("hf-nohidden", hf_config(hidden_size=None), tensors),
          "config.json", "hidden_size")
    s.bad("config.json hidden_size wrong type", s.hf_dir("hf-bigstr", hf_config(hidden_size="big"), tensors),
          "config.json", "hidden_size")
    s.bad("config.json unknown model_type", s.hf_dir("hf-mamba", hf_config(model_type="mamba"), tensors),
          "config.json", "mamba")
    s.bad("config.json n_head 0", s.hf_dir("hf-nhead0", hf_config(num_attention_heads=0), tensors),
          "config.json", "head")
    s.bad("config.json hidden not divisible", s.hf_dir("hf-heads3", hf_config(num_attention_heads=3,
          num_key_value_heads=3), tensors), "config.json", "divisible")
    s.bad("config.json vocab 0", s.hf_dir("hf-vocab0", hf_config(vocab_size=0), tensors), "config.json", "vocab")

    s.bad("no safetensors file", s.hf_dir("hf-noweights", hf_config()), "hf-noweights", "model.safetensors")
    valid = safetensors(tensors)
    hl = struct.unpack("<Q", valid[:8])[0]
    s.bad("safetensors header length beyond the file",
          s.hf_dir("hf-hlen", hf_config(), st_bytes=struct.pack("<Q", len(valid)) + valid[8:]),
          "model.safetensors", "header length")
    s.bad("safetensors header not JSON",
          s.hf_dir("hf-hjson", hf_config(), st_bytes=valid[:8] + b"[" + valid[9:]),
          "model.safetensors", "json")
    s.bad("safetensors truncated data", s.hf_dir("hf-trunc", hf_config(), st_bytes=valid[:8 + hl + 100]),
          "model.safetensors", ("outside", "past end", "truncated"))
    s.bad("safetensors 7-byte file", s.hf_dir("hf-tiny", hf_config(), st_bytes=valid[:7]),
          "model.safetensors", "truncated")
    missing = [x for x in tensors if x[0] != "model.layers.0.mlp.up_proj.weight"]
    s.bad("safetensors missing weight", s.hf_dir("hf-noup", hf_config(), missing), "hf-noup",
          "model.layers.0.mlp.up_proj.weight", "missing")
    wrong = [[n, [H, H // 2] if n.endswith("q_proj.weight") else sh] for n, sh in tensors]
    s.bad("safetensors wrong shape", s.hf_dir("hf-shape", hf_config(), wrong), "hf-shape",
          "model.layers.0.self_attn.q_proj.weight", "shape")

    # Sharded: an index naming a shard that is not there.
    d = s.hf_dir("hf-sharded", hf_config())
    half = len(tensors) // 2
    s.write("hf-sharded/model-00001-of-00002.safetensors", safetensors(tensors[:half]))
    wmap = {n: "model-00001-of-00002.safetensors" if i < half else "model-00002-of-00002.safetensors"
            for i, (n, _) in enumerate(tensors)}
    s.write("hf-sharded/model.safetensors.index.json", json.dumps({"weight_map": wmap}))
    s.bad("sharded: missing shard", d, "model-00002-of-00002.safetensors", "missing")
    s.write("hf-sharded/model-00002-of-00002.safetensors", safetensors(tensors[half:-1]))
    s.bad("sharded: tensor missing from its shard", d, tensors[-1][0], "missing")
    s.write("hf-sharded/model-00002-of-00002.safetensors", safetensors(tensors[half:]))
    s.good("valid sharded hf dir", d)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stargate", required=True, help="the stargate binary")
    ap.add_argument("--work", required=True, help="scratch folder (emptied first)")
    ap.add_argument("-k", dest="only", default="", help="run only cases whose name contains this")
    ap.add_argument("-v", dest="verbose", action="store_true", help="print every check and message")
    a = ap.parse_args()
    if not os.access(a.stargate, os.X_OK):
        sys.exit("run_badinput.py: %s is not an executable" % a.stargate)
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    s = Suite(os.path.abspath(a.stargate), os.path.abspath(a.work), a.verbose, a.only)
    gguf_cases(s)
    hf_cases(s)
    print("badinput: %d passed, %d failed" % (s.passed, len(s.failed)))
    return 1 if s.failed else 0


if __name__ == "__main__":
    sys.exit(main())
