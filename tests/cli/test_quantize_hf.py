#!/usr/bin/python3
"""test_quantize_hf.py STARGATE WORKDIR -- `stargate quantize HF_DIR OUT TYPE`.

1. Every architecture (llama, qwen2 with biases, qwen3 tied with Q/K norms,
   mistral with a sliding window, gpt2, llama with Llama 3.1 rope scaling
   and tied embeddings, a 2-shard checkpoint): the GGUF quantized to f32
   from tools/gen_model.py's HF directory has the same tensors (names,
   order, types, shapes, bytes: Q/K permuted as llama.cpp's converter does)
   and the same metadata as gen_model's GGUF of the same seed, but for
   general.name, the quantization version and the vocabulary.
2. From an f16 HF directory: f16, q8_0 and q4_K_M outputs have matrices
   byte-identical to quantizing gen_model's f16 GGUF of the same seed (the
   vectors differ only by the HF file's f16 rounding); `stargate logits` of
   the f16 GGUF from HF equals that of the HF directory itself (to float
   rounding), those of q8_0/q4_K_M equal those of the GGUF path's.
3. Tokenizer: a model trained for a step exports an HF directory
   (tokenizer.json from a `stargate tokenizer train` vocabulary) and a GGUF;
   the GGUF quantized from the HF directory has the export's tensor bytes,
   its tokenizer.ggml.* metadata, the chat template of tokenizer_config.json,
   and tokenizes text exactly as the HF directory and the export do.
4. Errors: an unknown type, a directory that is no model, a tokenizer.json
   whose pre-tokenizer regexes match no name llama.cpp knows.
Exits 77 when numpy is missing.
"""
import json
import os
import shutil
import struct
import subprocess
import sys

try:
    import numpy as np
except ImportError:
    sys.exit(77)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import gen_model  # noqa: E402
from gguf_reader import GGUFReader  # noqa: E402

BIN, WORK = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
failures = []


def P(*p):
    return os.path.join(WORK, *p)


def check(cond, msg):
    print(("ok   " if cond else "FAIL ") + msg)
    if not cond:
        failures.append(msg)


def run(*args, inp=None):
    r = subprocess.run([BIN] + list(args), capture_output=True, text=True, input=inp)
    if r.returncode:
        raise SystemExit("FAIL: stargate %s: %s%s" % (" ".join(args), r.stdout, r.stderr))
    return r


def gen(args, fmt, out, dtype="f32", shards=1):
    gen_model.main(args + ["--format", fmt, "--dtype", dtype, "--out", out, "--quiet"] +
                   (["--shards", str(shards)] if shards > 1 else []))
    return out


def tensors_equal(a, b, skip_vectors=False):
    ra, rb = GGUFReader(a), GGUFReader(b)
    if list(ra.tensors) != list(rb.tensors):
        return "tensor lists differ: %s vs %s" % (list(ra.tensors), list(rb.tensors))
    for n, x in ra.tensors.items():
        y = rb.tensors[n]
        if x.ggml_type != y.ggml_type or tuple(x.ne) != tuple(y.ne):
            return "%s: type/shape %s %s vs %s %s" % (n, x.ggml_type, tuple(x.ne), y.ggml_type, tuple(y.ne))
        if len(x.ne) == 1 and skip_vectors:
            xv, yv = ra.to_float32(n), rb.to_float32(n)
            if np.abs(xv - yv).max() > 1e-3 * max(1.0, np.abs(yv).max()):
                return "%s: vector differs beyond f16 rounding" % n
        elif bytes(x.data) != bytes(y.data):
            return "%s: bytes differ" % n
    return None


def meta_diff(a, b, ignore):
    ma, mb = GGUFReader(a).metadata, GGUFReader(b).metadata
    out = []
    for k in sorted(set(ma) | set(mb)):
        if any(k.startswith(i) for i in ignore):
            continue
        if str(ma.get(k)) != str(mb.get(k)):
            out.append(k)
    return out


def logits(model, ids):
    out = P("logits.bin")
    run("logits", "-m", model, "--tokens", ids, "--all", "-t", "2", "-o", out)
    return np.fromfile(out, dtype="<f4")


def rel(a, b):
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


# ---- 1: every architecture, f32
CASES = {
    "llama": ["--arch", "llama", "--hidden", "64", "--layers", "2", "--heads", "4", "--kv-heads", "2", "--ff", "96"],
    "qwen2": ["--arch", "qwen2", "--hidden", "64", "--layers", "2", "--heads", "4", "--kv-heads", "2", "--ff", "96"],
    "qwen3": ["--arch", "qwen3", "--hidden", "64", "--layers", "2", "--heads", "4", "--kv-heads", "1",
              "--head-dim", "32", "--ff", "96", "--tied"],
    "mistral": ["--arch", "mistral", "--hidden", "64", "--layers", "2", "--heads", "4", "--kv-heads", "2",
                "--ff", "96", "--sliding-window", "8"],
    "gpt2": ["--arch", "gpt2", "--hidden", "64", "--layers", "2", "--heads", "4", "--ff", "96"],
    "llama3": ["--arch", "llama", "--hidden", "64", "--layers", "2", "--heads", "4", "--kv-heads", "2", "--ff", "96",
               "--rope-scaling", "llama3", "--ctx", "256", "--tied"],
}
for i, (name, args) in enumerate(CASES.items()):
    args = args + ["--vocab", "97", "--seed", str(20 + i)]
    hf = gen(args, "hf", P("hf_" + name), shards=2 if name == "llama" else 1)
    ref = gen(args, "gguf", P("ref_" + name + ".gguf"))
    out = P("x_" + name + ".gguf")
    run("quantize", hf, out, "f32")
    d = tensors_equal(out, ref)
    check(d is None, "%s: HF -> f32 GGUF tensors = gen_model's GGUF%s" % (name, "" if d is None else " (%s)" % d))
    md = meta_diff(out, ref, ["general.name", "general.quantization_version", "tokenizer."])
    check(not md, "%s: HF -> GGUF metadata = gen_model's GGUF%s" % (name, "" if not md else " (differ: %s)" % md))
    ids = " ".join(str((7 * k + 3) % 97) for k in range(12))
    e = rel(logits(out, ids), logits(hf, ids))
    check(e < 1e-5, "%s: logits of the GGUF from HF = the HF directory's (rel %.1e)" % (name, e))

# ---- 2: f16 HF directory, quantized types
args = ["--arch", "llama", "--hidden", "256", "--layers", "2", "--heads", "4", "--kv-heads", "2", "--ff", "512",
        "--vocab", "300", "--seed", "31"]
hf16 = gen(args, "hf", P("hf16"), "f16", shards=2)
g16 = gen(args, "gguf", P("g16.gguf"), "f16")
ids = " ".join(str((13 * k + 5) % 300) for k in range(16))
want = logits(hf16, ids)
for t in ("f16", "q8_0", "q4_K_M"):
    a, b = P("h_%s.gguf" % t), P("g_%s.gguf" % t)
    run("quantize", hf16, a, t)
    run("quantize", g16, b, t)
    d = tensors_equal(a, b, skip_vectors=True)
    check(d is None, "f16 HF -> %s: matrices = quantizing gen_model's f16 GGUF%s" % (t, "" if d is None else
                                                                                     " (%s)" % d))
    got = logits(a, ids)
    if t == "f16":
        e = rel(got, want)
        check(e < 1e-5, "f16 HF -> f16: logits = the HF directory's (rel %.1e)" % e)
    else:  # same matrices; the norms differ by the HF file's f16 rounding
        e, q = rel(got, logits(b, ids)), rel(got, want)
        check(e < 2e-3 and q < 0.5, "f16 HF -> %s: logits = those of gen_model's GGUF quantized alike (rel %.1e); "
              "vs the HF directory rel %.1e (quantization error)" % (t, e, q))

# ---- 3: tokenizer and chat template, through a trained model's exports
text = "".join("%s %s %s.\n" % (w, w[::-1], "et" if k % 3 else "ou") for k, w in
               enumerate(("le la les un une de du des il elle nous vous ils sont avec pour dans sur mais " * 20).split()))
with open(P("corpus.txt"), "w") as f:
    f.write(text)
run("tokenizer", "train", "--input", P("corpus.txt"), "--vocab-size", "280", "--special", "<|im_start|>",
    "--special", "<|im_end|>", "-o", P("vocab.gguf"), "-q")
# a token shard (the trainer's format: 64-byte header, u16 tokens)
head = b"SGTOKENS" + struct.pack("<IIQII", 1, 2, 2000, 0, 280)
with open(P("data.bin"), "wb") as f:
    f.write(head + b"\0" * (64 - len(head)))
    f.write(np.random.default_rng(4).integers(0, 280, 2000).astype("<u2").tobytes())
with open(P("train.conf"), "w") as f:
    f.write("arch = llama\nvocab_size = 280\nn_embd = 32\nn_layer = 1\nn_head = 4\nn_head_kv = 2\nseq_len = 16\n"
            "batch_size = 2\nmax_steps = 1\nlr = 1e-2\nthreads = 1\nquiet = true\n"
            "train_data = %s\ntokenizer = %s\nexport_gguf = %s\nexport_hf = %s\n"
            % (P("data.bin"), P("vocab.gguf"), P("exp.gguf"), P("exp_hf")))
run("train", P("train.conf"))
cfg_path = P("exp_hf", "tokenizer_config.json")
cfg = json.load(open(cfg_path))
TEMPLATE = "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
cfg["chat_template"] = TEMPLATE
json.dump(cfg, open(cfg_path, "w"))
run("quantize", P("exp_hf"), P("tok.gguf"), "f32")
d = tensors_equal(P("tok.gguf"), P("exp.gguf"))
check(d is None, "trained HF export -> GGUF tensors = the trainer's GGUF export%s" % ("" if d is None else d))
mt, me = GGUFReader(P("tok.gguf")).metadata, GGUFReader(P("exp.gguf")).metadata
keys = [k for k in me if k.startswith("tokenizer.")]
same = [k for k in keys if str(mt.get(k)) == str(me[k])]
check(len(keys) >= 6 and same == keys, "tokenizer.* keys = the export's: %s" % ", ".join(k[10:] for k in keys))
check(mt.get("tokenizer.ggml.pre") == "llama-bpe", "pre-tokenizer named llama-bpe (%s)" % mt.get("tokenizer.ggml.pre"))
check(mt.get("tokenizer.chat_template") == TEMPLATE, "chat template from tokenizer_config.json")
sample = "Nous sommes dans le jardin, avec elle et lui: 123 vous?\n<|im_start|>user\nsur<|im_end|>"
toks = [run("tokenize", "-m", m, "--ids", inp=sample).stdout.split() for m in (P("exp_hf"), P("tok.gguf"),
                                                                             P("exp.gguf"))]
check(len(toks[0]) > 10 and toks[0] == toks[1] == toks[2], "tokenize: HF directory = GGUF from HF = export (%d ids)"
      % len(toks[0]))

# ---- 4: errors
r = subprocess.run([BIN, "quantize", P("hf_llama"), P("bad.gguf"), "q3_k"], capture_output=True, text=True)
check(r.returncode != 0 and "unknown quantization type" in r.stderr and not os.path.exists(P("bad.gguf")),
      "unknown type refused: %s" % r.stderr.strip())
os.makedirs(P("empty"))
r = subprocess.run([BIN, "quantize", P("empty"), P("bad.gguf"), "q8_0"], capture_output=True, text=True)
check(r.returncode != 0 and "config.json" in r.stderr and not os.path.exists(P("bad.gguf")),
      "a directory without config.json refused: %s" % r.stderr.strip())
shutil.copytree(P("exp_hf"), P("odd_hf"))  # a pre-tokenizer regex no llama.cpp name stands for
tj = json.load(open(P("odd_hf", "tokenizer.json")))
tj["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "\\s+|\\S+"
json.dump(tj, open(P("odd_hf", "tokenizer.json"), "w"))
r = subprocess.run([BIN, "quantize", P("odd_hf"), P("bad.gguf"), "f16"], capture_output=True, text=True)
check(r.returncode != 0 and "pre-tokenizer" in r.stderr and not os.path.exists(P("bad.gguf")),
      "an unnamed pre-tokenizer refused: %s" % r.stderr.strip())
left = [f for f in os.listdir(WORK) if ".tmp" in f]
check(not left, "no temporary files left (%s)" % left)

if failures:
    raise SystemExit("FAIL: %d check(s)" % len(failures))
print("all checks passed")
