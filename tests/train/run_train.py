#!/usr/bin/python3
"""run_train.py -- `stargate train` against a PyTorch autograd reference, and
the trainer's own guarantees (resume bit-exactness, exports, MPI, errors).

Cases (one ctest each; `--list` prints them):
  grads_*       gradients of every parameter after one step's forward/backward
                vs tools/train_reference.py (torch autograd, float32), relative
                L2 error per tensor <= 1e-4 (printed per parameter group);
                *_mask with a loss mask, *_docs with packed documents (loss
                mask + document starts: attention and positions restart)
  steps20_*     losses of 20 AdamW steps (warmup + cosine, clipping, weight
                decay, accumulation) vs torch.optim.AdamW, relative <= 1e-4
  resume_exact  N steps straight vs N/2, stop, resume, N/2: identical losses
                and byte-identical final checkpoints (weights + AdamW state)
  export_*      the exported GGUF / HF model's logits from `stargate logits`
                vs the training forward's logits, relative L2 <= 1e-5
  mpi_equiv     mpirun -np 2 vs one process with grad_accum 2 over the same
                global batch: losses within 1e-6 relative (77 without mpirun)
  e2e_pattern   a small llama learns a repeating token stream: final loss far
                below ln(V)
  bad_config    malformed configs and data give one-line errors, exit 1

Usage: run_train.py --stargate BIN --work DIR --case NAME | --list
Exit: 0 pass, 1 fail, 77 skip (numpy/torch missing, or no mpirun for mpi_equiv).
"""
import argparse
import math
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
    import safetensors_io
    import train_reference as ref
    import gen_model
except ImportError as e:  # pragma: no cover
    print("skip: %s" % e)
    sys.exit(SKIP)

PY = sys.executable
CASES = ["grads_llama_gqa", "grads_llama_tied", "grads_llama_gguf", "grads_gpt2", "grads_llama_mask",
         "grads_llama_docs", "grads_gpt2_docs",
         "steps20_llama", "steps20_gpt2", "resume_exact", "export_llama", "export_gpt2",
         "mpi_equiv", "e2e_pattern", "bad_config"]

LLAMA = ["--arch", "llama", "--hidden", "32", "--layers", "2", "--heads", "4", "--kv-heads", "2",
         "--ff", "48", "--vocab", "61", "--ctx", "64", "--seed", "3"]
LLAMA_TIED = ["--arch", "llama", "--hidden", "32", "--layers", "2", "--heads", "4", "--kv-heads", "1",
              "--ff", "40", "--vocab", "61", "--ctx", "64", "--tied", "--seed", "4"]
GPT2 = ["--arch", "gpt2", "--hidden", "32", "--layers", "2", "--heads", "4", "--ff", "64",
        "--vocab", "61", "--ctx", "32", "--seed", "5"]


class Ctx:
    def __init__(self, a):
        self.bin = os.path.abspath(a.stargate)
        self.work = os.path.abspath(os.path.join(a.work, a.case))
        shutil.rmtree(self.work, ignore_errors=True)
        os.makedirs(self.work)

    def path(self, *p):
        return os.path.join(self.work, *p)

    def model(self, name, args, fmt="hf"):
        out = self.path(name + (".gguf" if fmt == "gguf" else ""))
        gen_model.main(args + ["--format", fmt, "--out", out, "--quiet"])
        return out

    def shard(self, name, n, vocab, seed=0, mask=False, docs=False):
        rng = np.random.default_rng(seed)
        toks = rng.integers(0, vocab, n)
        m = np.random.default_rng(seed + 1).integers(0, 2, n) if mask else None
        if docs:  # packed documents of 1..12 tokens: bit 1 marks each start, its own target weight 0
            r = np.random.default_rng(seed + 2)
            starts = np.zeros(n, dtype=bool)
            i = 0
            while i < n:
                starts[i] = True
                i += int(r.integers(1, 13))
            m = np.where(starts, 2, m)
        p = self.path(name)
        ref.write_shard(p, toks, vocab, m)
        return p

    def config(self, name, **kv):
        p = self.path(name)
        with open(p, "w") as f:
            f.write("# written by run_train.py\n")
            for k, v in kv.items():
                f.write("%s = %s\n" % (k, v))
        return p

    def train(self, cfg, *over, check=True, mpi=0):
        cmd = [self.bin, "train", cfg] + list(over)
        if mpi:
            cmd = ["mpirun", "--allow-run-as-root", "--oversubscribe", "-np", str(mpi),
                   "--mca", "btl", "self,tcp", "--mca", "btl_tcp_if_include", "lo",
                   "--mca", "oob_tcp_if_include", "lo"] + cmd
        t = time.time()
        r = subprocess.run(cmd, capture_output=True, text=True)
        if check and r.returncode != 0:
            raise SystemExit("FAIL: %s exited %d:\n%s%s" % (" ".join(cmd), r.returncode, r.stdout, r.stderr))
        return r, time.time() - t

    def reference(self, *args):
        r = subprocess.run([PY, os.path.join(TOOLS, "train_reference.py")] + list(args),
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit("FAIL: train_reference.py %s:\n%s" % (" ".join(args), r.stderr))
        return r.stdout


def rel(a, b):
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


def log_losses(path):
    out = {}
    with open(path) as f:
        for line in f:
            w = line.split()
            if w[0] == "step":
                out[int(w[1])] = w[3]
    return out


# ---------------------------------------------------------------------------- cases
def grads_case(c, model_args, fmt="hf", mask=False, accum=2, docs=False):
    model = c.model("model", model_args, fmt)
    hf = c.model("model_hf", model_args) if fmt != "hf" else model
    data = c.shard("data.bin", 4000, 61, seed=7, mask=mask, docs=docs)
    common = dict(train_data=data, seq_len=16, batch_size=2, grad_accum=accum, max_steps=1, threads=2,
                  quiet="true")
    cfg = c.config("c.txt", init=model, dump_grads=c.path("grads_c.safetensors"), **common)
    c.train(cfg)
    rcfg = c.config("r.txt", init=hf, **common)
    out = c.reference("grads", "--config", rcfg, "-o", c.path("grads_t.safetensors"))
    gc = safetensors_io.read_file(c.path("grads_c.safetensors"))
    gt = safetensors_io.read_file(c.path("grads_t.safetensors"))
    print(out.strip())
    if set(gc) != set(gt):
        raise SystemExit("FAIL: tensor names differ: %s" % sorted(set(gc) ^ set(gt)))
    worst = 0.0
    groups = {}
    for k in gt:
        e = rel(gc[k], gt[k])
        g = ".".join(p for p in k.split(".") if not p.isdigit() and p not in ("model", "layers", "h"))
        groups[g] = max(groups.get(g, 0.0), e)
        worst = max(worst, e)
    for g, e in sorted(groups.items()):
        print("  %-32s rel err %.2e" % (g, e))
    print("max gradient rel err %.2e (bound 1e-4)" % worst)
    if not worst <= 1e-4:
        raise SystemExit("FAIL: gradient error %.2e > 1e-4" % worst)


def steps20_case(c, model_args, clip):
    model = c.model("model", model_args)
    data = c.shard("data.bin", 6000, 61, seed=11)
    common = dict(init=model, train_data=data, seq_len=16, batch_size=2, grad_accum=2, max_steps=20,
                  warmup_steps=5, lr="3e-3", min_lr="3e-4", weight_decay="0.1", grad_clip=clip,
                  beta2="0.99", threads=2, quiet="true")
    cfg = c.config("c.txt", out_dir=c.path("out"), **common)
    c.train(cfg)
    got = log_losses(c.path("out", "train.log"))
    norms = [float(l.split()[7]) for l in open(c.path("out", "train.log")) if l.startswith("step ")]
    clipped = sum(n > clip for n in norms)
    print("gradient norms %.3f .. %.3f; clipped at %g in %d of 20 steps" % (min(norms), max(norms), clip, clipped))
    if not 0 < clipped < 20:
        raise SystemExit("FAIL: clipping must engage in some steps and not others for the test to cover it")
    rcfg = c.config("r.txt", **common)
    want = {}
    for line in c.reference("train", "--config", rcfg).splitlines():
        w = line.split()
        want[int(w[1])] = float(w[3])
    worst = 0.0
    for s in range(1, 21):
        e = abs(float(got[s]) - want[s]) / abs(want[s])
        worst = max(worst, e)
        print("step %2d  stargate %.7f  torch %.7f  rel %.1e" % (s, float(got[s]), want[s], e))
    print("max loss rel diff %.2e (bound 1e-4)" % worst)
    if not worst <= 1e-4:
        raise SystemExit("FAIL: loss difference %.2e > 1e-4" % worst)


def case_resume_exact(c):
    data = c.shard("data.bin", 5000, 97, seed=2)
    base = dict(arch="llama", vocab_size=97, n_embd=32, n_layer=2, n_head=4, n_head_kv=2, seq_len=16,
                batch_size=2, grad_accum=2, max_steps=12, warmup_steps=3, lr="2e-3", train_data=data,
                threads=2, quiet="true", seed=99)
    a = c.config("a.txt", out_dir=c.path("a"), **base)
    c.train(a)
    b = c.config("b.txt", out_dir=c.path("b"), **base)
    c.train(b, "--halt_after", "6")
    if not os.path.exists(c.path("b", "ckpt-00000006.bin")):
        raise SystemExit("FAIL: no checkpoint after halting at step 6")
    c.train(b, "--resume", "auto")
    la, lb = log_losses(c.path("a", "train.log")), log_losses(c.path("b", "train.log"))
    print("straight:", " ".join(la[s] for s in range(1, 13)))
    print("resumed: ", " ".join(lb[s] for s in range(1, 13)))
    if la != lb:
        raise SystemExit("FAIL: losses differ after resume")
    fa = open(c.path("a", "ckpt-00000012.bin"), "rb").read()
    fb = open(c.path("b", "ckpt-00000012.bin"), "rb").read()
    print("final checkpoints: %d bytes each, identical: %s" % (len(fa), fa == fb))
    if fa != fb:
        raise SystemExit("FAIL: final checkpoints differ")
    # a corrupted checkpoint is refused, not resumed from
    bad = bytearray(fb)
    bad[len(bad) // 2] ^= 1
    with open(c.path("b", "ckpt-00000013.bin"), "wb") as f:
        f.write(bad)
    r, _ = c.train(b, "--resume", "auto", "--max_steps", "14", check=False)
    print("corrupted checkpoint: exit %d: %s" % (r.returncode, r.stderr.strip()))
    if r.returncode == 0 or "checksum" not in r.stderr:
        raise SystemExit("FAIL: corrupted checkpoint accepted")


def export_case(c, arch):
    data = c.shard("data.bin", 3000, 83, seed=4)
    kv = dict(arch=arch, vocab_size=83, n_embd=32, n_layer=2, n_head=4, seq_len=24, batch_size=2,
              max_steps=5, lr="1e-2", train_data=data, threads=2, quiet="true", init_std="0.2",
              export_gguf=c.path("m.gguf"), export_hf=c.path("hf"), dump_logits=c.path("train_logits.bin"))
    if arch == "llama":
        kv.update(n_head_kv=2, head_dim=16)
    else:
        kv.update(n_ctx=40)
    c.train(c.config("c.txt", **kv))
    toks = ref.read_shard(data)[0]
    ids = " ".join(str(int(t)) for t in toks[:24])
    want = np.fromfile(c.path("train_logits.bin"), dtype="<f4").reshape(24, 83)
    worst = 0.0
    for m in (c.path("m.gguf"), c.path("hf")):
        out = c.path("logits.bin")
        r = subprocess.run([c.bin, "logits", "-m", m, "--tokens", ids, "--all", "-o", out], capture_output=True,
                           text=True)
        if r.returncode:
            raise SystemExit("FAIL: stargate logits on %s: %s" % (m, r.stderr))
        got = np.fromfile(out, dtype="<f4").reshape(24, 83)
        e = rel(got, want)
        worst = max(worst, e)
        print("%-4s export: logits rel L2 %.2e, max abs %.2e" % ("gguf" if m.endswith("gguf") else "hf", e,
                                                                  float(np.abs(got - want).max())))
    if not worst <= 1e-5:
        raise SystemExit("FAIL: exported logits differ by %.2e > 1e-5" % worst)
    # the HF export reads back in the reference too (names and layout)
    hf, w = ref.load_model(c.path("hf"))
    import torch
    inp = torch.tensor(toks[:24].astype(np.int64))[None]
    f = ref.gpt2_logits if arch == "gpt2" else ref.llama_logits
    tl = f(hf, w, inp).detach().numpy()[0]
    e = rel(tl, want)
    print("torch on the HF export: rel L2 %.2e" % e)
    if not e <= 1e-5:
        raise SystemExit("FAIL: torch logits on the HF export differ by %.2e" % e)


def case_mpi_equiv(c):
    if not shutil.which("mpirun"):
        print("skip: mpirun not found")
        sys.exit(SKIP)
    data = c.shard("data.bin", 5000, 97, seed=5)
    base = dict(arch="llama", vocab_size=97, n_embd=32, n_layer=2, n_head=4, n_head_kv=2, seq_len=16,
                batch_size=2, max_steps=8, warmup_steps=2, lr="3e-3", train_data=data, threads=1,
                quiet="true", seed=5)
    one = c.config("one.txt", grad_accum=2, out_dir=c.path("one"), **base)
    two = c.config("two.txt", grad_accum=1, out_dir=c.path("two"), **base)
    c.train(one)
    r, _ = c.train(two, mpi=2, check=False)
    if r.returncode:
        if "built without MPI" in r.stderr:
            print("skip: stargate built without MPI")
            sys.exit(SKIP)
        raise SystemExit("FAIL: mpirun exited %d:\n%s%s" % (r.returncode, r.stdout, r.stderr))
    l1, l2 = log_losses(c.path("one", "train.log")), log_losses(c.path("two", "train.log"))
    worst = 0.0
    for s in range(1, 9):
        e = abs(float(l1[s]) - float(l2[s])) / abs(float(l1[s]))
        worst = max(worst, e)
        print("step %d  1 process x accum 2: %s   2 processes: %s   rel %.1e" % (s, l1[s], l2[s], e))
    print("max rel diff %.2e (bound 1e-6)" % worst)
    if not worst <= 1e-6:
        raise SystemExit("FAIL: MPI losses differ by %.2e" % worst)


def case_e2e_pattern(c):
    V = 64
    pat = [int(x) for x in "3 14 15 9 26 53 58 9 7 9 32 38 46 26 43 38 32 7 9 50 28 8 41 9 7 16 9 39".split()]
    toks = (pat * (20000 // len(pat) + 1))[:20000]
    ref.write_shard(c.path("train.bin"), toks, V)
    ref.write_shard(c.path("val.bin"), toks[5:3000], V)
    cfg = c.config("c.txt", arch="llama", vocab_size=V, n_embd=48, n_layer=2, n_head=4, n_head_kv=2,
                   seq_len=32, batch_size=4, max_steps=300, warmup_steps=20, lr="3e-3", min_lr="3e-4",
                   train_data=c.path("train.bin"), val_data=c.path("val.bin"), val_every=100, val_batches=2,
                   sample_every=300, sample_tokens=8, log_every=50, threads=2, out_dir=c.path("out"))
    r, dt = c.train(cfg)
    print(r.stdout.strip())
    losses = log_losses(c.path("out", "train.log"))
    val = [float(l.split()[3]) for l in open(c.path("out", "train.log")) if l.startswith("val ")]
    first, last = float(losses[1]), float(losses[300])
    print("loss %.4f -> %.4f, val %.4f, ln(V) %.4f, %.1f s" % (first, last, val[-1], math.log(V), dt))
    if not (last < 0.05 * math.log(V) and val[-1] < 0.1 * math.log(V)):
        raise SystemExit("FAIL: the pattern was not learned")
    if "sample step 300" not in r.stdout:
        raise SystemExit("FAIL: no sample line")


def case_bad_config(c):
    data = c.shard("data.bin", 100, 50)
    bad_shard = c.path("bad.bin")
    with open(bad_shard, "wb") as f:
        f.write(b"SGTOKENS" + bytes(8))
    short = c.shard("short.bin", 10, 50)
    cases = [
        ("lr = fast\n", "'lr' must be a number"),
        ("n_layer = -1\n", "'n_layer' must be an integer"),
        ("bogus = 1\n", "unknown key 'bogus'"),
        ("just words\n", "expected 'key = value'"),
        ("arch = bert\n", "'arch' must be llama or gpt2"),
        ("tied_embeddings = maybe\n", "must be true or false"),
        ("seq_len = 8\n", "'train_data' is required"),
        ("train_data = %s\nn_head = 3\n" % data, "not divisible"),
        ("train_data = %s\nn_head_kv = 3\n" % data, "not a multiple"),
        ("train_data = %s\nvocab_size = 50\nseq_len = 16\n" % bad_shard, "bad.bin"),
        ("train_data = %s\nvocab_size = 50\nseq_len = 16\n" % short, "need at least"),
        ("train_data = %s\nvocab_size = 20\nseq_len = 8\n" % data, "outside the model's vocabulary"),
        ("train_data = %s\nvocab_size = 50\nresume = auto\n" % data, "resume = auto needs out_dir"),
        ("train_data = %s\nvocab_size = 50\nseq_len = 8\ninit = %s\n" % (data, c.path("nope")), "nope"),
    ]
    bad = 0
    for i, (text, want) in enumerate(cases):
        p = c.path("bad%d.txt" % i)
        with open(p, "w") as f:
            f.write(text)
        r, _ = c.train(p, check=False)
        err = r.stderr.strip()
        ok = r.returncode == 1 and want in err and "\n" not in err and err.startswith("stargate: error:")
        print("%-4s %-55r -> %s" % ("ok" if ok else "BAD", text.strip().split("\n")[-1], err))
        bad += not ok
    r, _ = c.train(c.config("o.txt", train_data=data), "--lr", "x", check=False)
    ok = r.returncode == 1 and "option --lr" in r.stderr
    print("%-4s override --lr x -> %s" % ("ok" if ok else "BAD", r.stderr.strip()))
    bad += not ok
    if bad:
        raise SystemExit("FAIL: %d bad-input cases" % bad)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--stargate")
    p.add_argument("--work")
    p.add_argument("--case")
    p.add_argument("--list", action="store_true")
    a = p.parse_args()
    if a.list:
        print("\n".join(CASES))
        return 0
    c = Ctx(a)
    t = time.time()
    n = a.case
    if n == "grads_llama_gqa":
        grads_case(c, LLAMA)
    elif n == "grads_llama_tied":
        grads_case(c, LLAMA_TIED, accum=1)
    elif n == "grads_llama_gguf":
        grads_case(c, LLAMA, fmt="gguf")
    elif n == "grads_gpt2":
        grads_case(c, GPT2)
    elif n == "grads_llama_mask":
        grads_case(c, LLAMA, mask=True)
    elif n == "grads_llama_docs":
        grads_case(c, LLAMA, mask=True, docs=True)
    elif n == "grads_gpt2_docs":
        grads_case(c, GPT2, mask=True, docs=True)
    elif n == "steps20_llama":
        steps20_case(c, LLAMA, 8.0)
    elif n == "steps20_gpt2":
        steps20_case(c, GPT2, 1.5)
    elif n in ("export_llama", "export_gpt2"):
        export_case(c, n.split("_")[1])
    elif n in ("resume_exact", "mpi_equiv", "e2e_pattern", "bad_config"):
        globals()["case_" + n](c)
    else:
        print("unknown case %s" % n)
        return 1
    print("PASS %s (%.1f s)" % (n, time.time() - t))
    return 0


if __name__ == "__main__":
    sys.exit(main())
