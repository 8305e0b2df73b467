#!/usr/bin/python3
"""run_reference.py -- stargate's logits against an independent PyTorch reference.

Each case generates small random models with tools/gen_model.py (cached in
WORK/models, keyed by their parameters), runs the stargate CLI on them

    stargate logits -m MODEL --tokens "..." --all [--batch N] -o FILE
    stargate generate -m MODEL --tokens "..." -n N
    stargate tensors MODEL --name NAME -o FILE        (dequant cases)

and compares with tools/reference.py (float64 PyTorch, written from the
architectures' definitions).  Errors are relative L2 over the whole logits
matrix, ||a - b||_2 / ||b||_2, and every measured value is printed.

Bounds: f32 models 1e-5; f16/bf16/quantized models 1e-4 against the
reference run on the same rounded / dequantized weights; incremental
(--batch 1) vs full decoding 1e-5; HF directory vs GGUF of one seed 1e-5;
greedy ids identical; dequantization bit-identical.

Usage: run_reference.py --stargate BIN --work DIR --case NAME
       run_reference.py --list
Exit: 0 pass, 1 fail, 77 skip (numpy or torch not importable).
"""

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.normpath(os.path.join(HERE, "..", "..", "tools"))
sys.path.insert(0, TOOLS)

SKIP = 77

try:
    import numpy as np
except ImportError as e:  # pragma: no cover
    np = None
    IMPORT_ERROR = str(e)

# ------------------------------------------------------------------------------------
# model shapes

ARCHS = ("llama", "qwen2", "qwen3", "mistral", "gpt2")

# Shapes for the dtype sweeps: every row length is a multiple of 256 so that all
# quantized types (K-quants included) apply to every 2-D weight.
DTYPE_SHAPES = {
    "llama":   dict(arch="llama", hidden=256, layers=2, heads=4, kv_heads=2, ff=512, vocab=1001),
    "qwen2":   dict(arch="qwen2", hidden=256, layers=2, heads=4, kv_heads=2, ff=512, vocab=1001,
                    tied=True),
    "qwen3":   dict(arch="qwen3", hidden=256, layers=2, heads=4, kv_heads=2, head_dim=128, ff=512,
                    vocab=1001),
    "mistral": dict(arch="mistral", hidden=256, layers=2, heads=4, kv_heads=1, ff=512, vocab=1001,
                    sliding_window=8),
    "gpt2":    dict(arch="gpt2", hidden=256, layers=2, heads=4, ff=512, vocab=1001, ctx=256),
}

# Odd shapes for the f32 cases (HF and GGUF of the same seed).
F32_SHAPES = {
    # MQA, head_dim 80 (NH*D != hidden), one layer; prompts of length 1 and 7
    "llama":   dict(arch="llama", hidden=160, layers=1, heads=2, kv_heads=1, head_dim=80, ff=300,
                    vocab=1001),
    # GQA 3:1 with biases, tied output
    "qwen2":   dict(arch="qwen2", hidden=96, layers=2, heads=6, kv_heads=2, ff=200, vocab=1001,
                    tied=True),
    # head_dim 48 != hidden/heads = 32, q/k norms
    "qwen3":   dict(arch="qwen3", hidden=128, layers=2, heads=4, kv_heads=2, head_dim=48, ff=256,
                    vocab=1001),
    # plain MHA with a sliding window shorter than the prompt
    "mistral": dict(arch="mistral", hidden=128, layers=2, heads=4, kv_heads=4, ff=256, vocab=1001,
                    sliding_window=5),
    # 3 heads of 32
    "gpt2":    dict(arch="gpt2", hidden=96, layers=2, heads=3, ff=384, vocab=1001, ctx=64),
}
# Quantized sweeps also run this one: attn_output and ffn_down rows of 320 are not
# multiples of 256, so K-quant files mix Q4_K/Q6_K with the F16 fallback.
ODD_QUANT_SHAPE = dict(arch="llama", hidden=256, layers=2, heads=4, kv_heads=1, head_dim=80,
                       ff=320, vocab=1001)

F32_PROMPTS = {"llama": (1, 7), "qwen2": (7,), "qwen3": (7,), "mistral": (13,), "gpt2": (7,)}


# ------------------------------------------------------------------------------------
# helpers

class Ctx:
    def __init__(self, stargate, work):
        self.stargate = stargate
        self.work = work
        self.failures = []
        self.refs = {}
        os.makedirs(os.path.join(work, "models"), exist_ok=True)
        os.makedirs(os.path.join(work, "tmp"), exist_ok=True)

    # -- models --------------------------------------------------------------------
    def model(self, shape, fmt, dtype="f32", seed=1, shards=1):
        """Path of a generated model (cached by its parameters)."""
        import gen_model
        spec = dict(shape, format=fmt, dtype=dtype, seed=seed, shards=shards)
        argv = []
        for k in sorted(spec):
            v = spec[k]
            if k == "tied":
                if v:
                    argv.append("--tied")
                continue
            argv += ["--" + k.replace("_", "-"), str(v)]
        digest = hashlib.sha1(" ".join(argv).encode()).hexdigest()[:10]
        name = "%s-%s-%s-%s" % (spec["arch"], fmt, dtype, digest)
        path = os.path.join(self.work, "models", name + (".gguf" if fmt == "gguf" else ""))
        if os.path.exists(path):
            return path
        tmp = os.path.join(self.work, "tmp", "%s.%d%s" % (name, os.getpid(), ".gguf" if fmt == "gguf" else ""))
        gen_model.main(argv + ["--out", tmp, "--quiet"])
        try:
            os.rename(tmp, path)       # atomic; a concurrent identical model may have won
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True) if os.path.isdir(tmp) else os.remove(tmp)
        return path

    # -- runs ----------------------------------------------------------------------
    def ref(self, path, tokens):
        import reference
        if path not in self.refs:
            self.refs[path] = reference.load(path)
        return self.refs[path].logits(tokens).numpy()

    def ref_model(self, path):
        import reference
        if path not in self.refs:
            self.refs[path] = reference.load(path)
        return self.refs[path]

    def run(self, args, label):
        t0 = time.time()
        p = subprocess.run([self.stargate] + args, capture_output=True, text=True, timeout=600)
        dt = time.time() - t0
        if p.returncode != 0:
            raise RuntimeError("%s: stargate %s exited %d: %s"
                               % (label, " ".join(args[:1]), p.returncode, p.stderr.strip()[-1000:]))
        return p, dt

    def logits(self, path, tokens, vocab, batch=None, label=""):
        out = os.path.join(self.work, "tmp", "logits.%d.f32" % os.getpid())
        if os.path.exists(out):
            os.remove(out)
        args = ["logits", "-m", path, "--tokens", " ".join(map(str, tokens)), "--all", "-o", out]
        if batch is not None:
            args += ["--batch", str(batch)]
        self.run(args, label)
        a = np.fromfile(out, dtype="<f4")
        os.remove(out)
        if a.size != len(tokens) * vocab:
            raise RuntimeError("%s: stargate wrote %d floats, expected %d x %d"
                               % (label, a.size, len(tokens), vocab))
        return a.reshape(len(tokens), vocab).astype(np.float64)

    def generate(self, path, tokens, n, label=""):
        p, _ = self.run(["generate", "-m", path, "--tokens", " ".join(map(str, tokens)),
                         "-n", str(n)], label)
        lines = [ln for ln in p.stdout.strip().splitlines() if ln.strip()]
        if not lines:
            raise RuntimeError("%s: stargate generate printed nothing" % label)
        return [int(t) for t in lines[-1].split()]

    # -- checks --------------------------------------------------------------------
    def compare(self, label, got, want, bound):
        err = float(np.linalg.norm(got - want) / np.linalg.norm(want))
        ok = err <= bound and np.isfinite(got).all()
        am_got, am_want = got.argmax(-1), want.argmax(-1)
        print("%-4s %-58s rel_l2 %.3e (bound %.0e)  argmax agree %d/%d"
              % ("ok" if ok else "FAIL", label, err, bound, int((am_got == am_want).sum()), am_got.size))
        sys.stdout.flush()
        if not ok:
            self.failures.append("%s: rel_l2 %.3e > %.0e" % (label, err, bound))
        return err

    def fail(self, msg):
        print("FAIL " + msg)
        self.failures.append(msg)


def prompt(n, vocab, seed=0):
    rng = np.random.default_rng(1000 + seed)
    return [int(t) for t in rng.integers(0, vocab, n)]


def vs_reference(ctx, path, tokens, vocab, bound, label, batch=None):
    """stargate logits of `path` vs the reference on the same file."""
    try:
        got = ctx.logits(path, tokens, vocab, batch=batch, label=label)
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        ctx.fail(str(e))
        return None
    ctx.compare(label, got, ctx.ref(path, tokens), bound)
    return got


# ------------------------------------------------------------------------------------
# cases

def case_f32(arch):
    def run(ctx):
        shape = F32_SHAPES[arch]
        V = shape["vocab"]
        for fmt in ("hf", "gguf"):
            path = ctx.model(shape, fmt, "f32", seed=11)
            for n in F32_PROMPTS[arch]:
                vs_reference(ctx, path, prompt(n, V), V, 1e-5, "%s %s f32 T=%d" % (arch, fmt, n))
    return run


def case_dtype(fmt, dtype, bound=1e-4):
    def run(ctx):
        for arch in ARCHS:
            shape = DTYPE_SHAPES[arch]
            path = ctx.model(shape, fmt, dtype, seed=21)
            vs_reference(ctx, path, prompt(20, shape["vocab"], 1), shape["vocab"], bound,
                         "%s %s %s T=20" % (arch, fmt, dtype))
        if dtype.startswith("q"):
            path = ctx.model(ODD_QUANT_SHAPE, fmt, dtype, seed=22)
            vs_reference(ctx, path, prompt(9, 1001, 1), 1001, bound,
                         "llama hd80 ff320 (F16 fallback) %s %s T=9" % (fmt, dtype))
    return run


def case_deep_sharded(ctx):
    # 6 layers, head_dim 48 (192/4), GQA, HF split over 3 safetensors shards + GGUF.
    shape = dict(arch="llama", hidden=192, layers=6, heads=4, kv_heads=2, ff=384, vocab=1001)
    toks = prompt(7, 1001, 2)
    hf = ctx.model(shape, "hf", "f32", seed=31, shards=3)
    a = vs_reference(ctx, hf, toks, 1001, 1e-5, "llama 6 layers hd48 hf f32 3 shards T=7")
    gg = ctx.model(shape, "gguf", "f32", seed=31)
    b = vs_reference(ctx, gg, toks, 1001, 1e-5, "llama 6 layers hd48 gguf f32 T=7")
    if a is not None and b is not None:
        ctx.compare("stargate hf(3 shards) vs stargate gguf", a, b, 1e-5)
    # qwen2 sharded too (biases, tied)
    shape = dict(arch="qwen2", hidden=128, layers=1, heads=2, kv_heads=1, ff=256, vocab=1001, tied=True)
    hf = ctx.model(shape, "hf", "f32", seed=32, shards=2)
    vs_reference(ctx, hf, toks, 1001, 1e-5, "qwen2 1 layer MQA hd64 hf f32 2 shards T=7")


def case_mistral_swa(ctx):
    # sliding window 32 with a 300-token prompt.
    shape = dict(arch="mistral", hidden=128, layers=2, heads=4, kv_heads=2, ff=256, vocab=1001,
                 sliding_window=32)
    toks = prompt(300, 1001, 3)
    for fmt in ("hf", "gguf"):
        path = ctx.model(shape, fmt, "f32", seed=41)
        vs_reference(ctx, path, toks, 1001, 1e-5, "mistral window 32 %s f32 T=300" % fmt)
    # the window must matter: the reference without it differs
    m = ctx.ref_model(ctx.model(shape, "hf", "f32", seed=41))
    full = dict(m.cfg, window=None)
    import reference
    nowin = reference.Model(full, m.w).logits(toks).numpy()
    d = float(np.linalg.norm(nowin - ctx.ref(ctx.model(shape, "hf", "f32", seed=41), toks))
              / np.linalg.norm(nowin))
    print("info window vs no window in the reference: rel_l2 %.3e (must be large)" % d)
    if d < 1e-3:
        ctx.fail("sliding window has no effect on the reference logits (%.3e)" % d)


def case_llama3_rope(ctx):
    shape = dict(arch="llama", hidden=128, layers=2, heads=2, kv_heads=1, ff=256, vocab=1001,
                 rope_scaling="llama3", tied=True)
    toks = prompt(300, 1001, 4)
    res = {}
    for fmt in ("hf", "gguf"):
        path = ctx.model(shape, fmt, "f32", seed=51)
        res[fmt] = vs_reference(ctx, path, toks, 1001, 1e-5, "llama3 rope scaling %s f32 T=300" % fmt)
    if res["hf"] is not None and res["gguf"] is not None:
        ctx.compare("llama3 rope: stargate hf vs stargate gguf", res["hf"], res["gguf"], 1e-5)
    # the scaling must matter at this length
    import reference
    m = ctx.ref_model(ctx.model(shape, "hf", "f32", seed=51))
    D = m.cfg["head_dim"]
    plain = dict(m.cfg, inv_freq=1.0 / 10000.0 ** (np.arange(0, D, 2, dtype=np.float64) / D))
    a = reference.Model(plain, m.w).logits(toks).numpy()
    b = ctx.ref(ctx.model(shape, "hf", "f32", seed=51), toks)
    d = float(np.linalg.norm(a - b) / np.linalg.norm(b))
    print("info llama3 scaling vs none in the reference: rel_l2 %.3e (must be large)" % d)
    if d < 1e-3:
        ctx.fail("llama3 rope scaling has no effect on the reference logits (%.3e)" % d)


def case_hf_vs_gguf(ctx):
    # Same seed as HF directory and GGUF: proves that the Q/K permutation + interleaved
    # RoPE (llama) and the unpermuted NEOX layout (qwen2) match HF's rotate-half.
    for arch in ("llama", "qwen2", "mistral"):
        shape = DTYPE_SHAPES[arch]
        toks = prompt(20, 1001, 5)
        hf = ctx.model(shape, "hf", "f32", seed=61)
        gg = ctx.model(shape, "gguf", "f32", seed=61)
        try:
            a = ctx.logits(hf, toks, 1001, label="%s hf" % arch)
            b = ctx.logits(gg, toks, 1001, label="%s gguf" % arch)
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            ctx.fail(str(e))
            continue
        ctx.compare("%s: stargate hf vs stargate gguf (same seed)" % arch, a, b, 1e-5)
        ctx.compare("%s: stargate gguf vs reference(hf)" % arch, b, ctx.ref(hf, toks), 1e-5)


def case_batch(ctx):
    # Incremental decoding through the KV cache (--batch 1), chunked prefill (--batch 7)
    # and one full forward (--batch 512) must agree with each other and the reference.
    runs = [("llama", "gguf"), ("mistral", "gguf"), ("qwen3", "hf"), ("gpt2", "gguf")]
    for arch, fmt in runs:
        shape = DTYPE_SHAPES[arch]
        path = ctx.model(shape, fmt, "f32", seed=71)
        toks = prompt(40, 1001, 6)
        try:
            full = ctx.logits(path, toks, 1001, batch=512, label="%s batch 512" % arch)
            one = ctx.logits(path, toks, 1001, batch=1, label="%s batch 1" % arch)
            seven = ctx.logits(path, toks, 1001, batch=7, label="%s batch 7" % arch)
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            ctx.fail(str(e))
            continue
        ref = ctx.ref(path, toks)
        ctx.compare("%s %s: --batch 1 vs --batch 512" % (arch, fmt), one, full, 1e-5)
        ctx.compare("%s %s: --batch 7 vs --batch 512" % (arch, fmt), seven, full, 1e-5)
        ctx.compare("%s %s: --batch 1 vs reference" % (arch, fmt), one, ref, 1e-5)
        ctx.compare("%s %s: --batch 512 vs reference" % (arch, fmt), full, ref, 1e-5)


def case_generate(ctx):
    import reference
    for arch, fmt, n in (("llama", "gguf", 12), ("mistral", "hf", 12)):
        shape = DTYPE_SHAPES[arch]
        path = ctx.model(shape, fmt, "f32", seed=81)
        toks = prompt(5, 1001, 7)
        want, margins = reference.greedy(ctx.ref_model(path), toks, n)
        label = "%s %s greedy %d tokens" % (arch, fmt, n)
        try:
            got = ctx.generate(path, toks, n, label)
        except (RuntimeError, subprocess.TimeoutExpired, ValueError) as e:
            ctx.fail(str(e))
            continue
        ok = got == want
        print("%-4s %-58s stargate %s reference %s (min top-2 margin %.3g)"
              % ("ok" if ok else "FAIL", label, " ".join(map(str, got)), " ".join(map(str, want)),
                 min(margins)))
        if not ok:
            ctx.failures.append("%s: ids differ" % label)


def case_dequant(dtype):
    def run(ctx):
        import dequant_check
        for arch in ("llama", "qwen2"):
            path = ctx.model(DTYPE_SHAPES[arch], "gguf", dtype, seed=91)
            fails = dequant_check.check(path, ctx.stargate, work=os.path.join(ctx.work, "tmp"))
            ctx.failures.extend(fails)
    return run


def case_tools_selfcheck(ctx):
    # The numpy tools' own round-trip checks (writer/reader, codecs, safetensors).
    for script in ("gguf_writer.py", "quants.py", "safetensors_io.py"):
        p = subprocess.run([sys.executable, os.path.join(TOOLS, script)], capture_output=True,
                           text=True, timeout=300)
        print("%-4s tools/%s self-check" % ("ok" if p.returncode == 0 else "FAIL", script))
        if p.returncode != 0:
            ctx.fail("tools/%s self-check: %s" % (script, (p.stdout + p.stderr).strip()[-1000:]))


CASES = {}
for _a in ARCHS:
    CASES["f32_" + _a] = (case_f32(_a), True)
for _f, _d in (("hf", "f16"), ("hf", "bf16"), ("gguf", "f16"), ("gguf", "bf16"),
               ("gguf", "q8_0"), ("gguf", "q4_0"), ("gguf", "q4_k"), ("gguf", "q6_k"),
               ("gguf", "q4_k_m")):
    CASES["%s_%s" % (_f, _d)] = (case_dtype(_f, _d), True)
CASES["deep_sharded"] = (case_deep_sharded, True)
CASES["mistral_swa_300"] = (case_mistral_swa, True)
CASES["llama3_rope_300"] = (case_llama3_rope, True)
CASES["hf_vs_gguf"] = (case_hf_vs_gguf, True)
CASES["batch_kv_cache"] = (case_batch, True)
CASES["generate_greedy"] = (case_generate, True)
for _d in ("q8_0", "q4_0", "q4_k", "q6_k", "f16", "bf16"):
    CASES["dequant_" + _d] = (case_dequant(_d), False)   # numpy only, no torch
CASES["tools_selfcheck"] = (case_tools_selfcheck, False)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--stargate")
    ap.add_argument("--work")
    ap.add_argument("--case", action="append", help="case name (repeatable; default all)")
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args()
    if a.list:
        print("\n".join(CASES))
        return 0
    if np is None:
        print("skip: numpy not importable (%s)" % IMPORT_ERROR)
        return SKIP
    names = a.case or list(CASES)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        print("unknown case(s): %s" % ", ".join(unknown))
        return 1
    if any(CASES[n][1] for n in names):
        try:
            import torch
            torch.set_num_threads(min(2, os.cpu_count() or 1))
        except ImportError as e:
            print("skip: torch not importable (%s)" % e)
            return SKIP
    if not a.stargate or not a.work:
        ap.error("--stargate and --work are required")
    if not os.access(a.stargate, os.X_OK):
        print("FAIL stargate binary %s is missing" % a.stargate)
        return 1
    ctx = Ctx(os.path.abspath(a.stargate), os.path.abspath(a.work))
    t0 = time.time()
    for n in names:
        print("== %s" % n)
        try:
            CASES[n][0](ctx)
        except Exception as e:  # a crash in the harness or the model is a failure, reported
            import traceback
            traceback.print_exc()
            ctx.fail("%s: %s: %s" % (n, type(e).__name__, e))
    print("%d failure(s) in %.1fs" % (len(ctx.failures), time.time() - t0))
    for f in ctx.failures:
        print("  " + f)
    return 1 if ctx.failures else 0


if __name__ == "__main__":
    sys.exit(main())
