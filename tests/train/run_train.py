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
  bad_input     truncated / corrupt shards, a NaN loss (on_nan = stop | skip), a full
                disk while checkpointing (RLIMIT_FSIZE): errors, nothing lost
  finetune_chatml  stargate finetune on JSONL conversations with Qwen2.5's template
                (ChatML without the shared fixtures): renders equal Python Jinja2's,
                exactly the answers + <|im_end|> are trained, packing with document
                starts, first-step gradients vs torch on the packed shard
  data_prepare  stargate data prepare: text + JSONL, per-document tokenization + EOS,
                thread/chunk invariance, validation split, manifest; the GGUF export
                carries the tokenizer; vocabulary mismatches are refused
  mpi_rank_death  mpirun -np 2, rank 1 killed / stopped mid-run: the job ends non-zero
                with a message within a bounded time (77 without mpirun)

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
         "mpi_equiv", "e2e_pattern", "bad_config", "finetune_chatml", "data_prepare", "bad_input", "mpi_rank_death"]

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


def case_mpi_rank_death(c):
    """mpirun -np 2; rank 1 is killed (SIGKILL) mid-run, or stopped (SIGSTOP:
    it hangs without dying): the job must end non-zero within a bounded time
    with a message, never hang. Killed: mpirun notices; stopped: rank 0's
    watchdog (dist_timeout = 3 s) ends it."""
    import signal
    if not shutil.which("mpirun"):
        print("skip: mpirun not found")
        sys.exit(SKIP)
    data = c.shard("data.bin", 20000, 97, seed=5)
    cfg = c.config("c.txt", arch="llama", vocab_size=97, n_embd=32, n_layer=1, n_head=2, seq_len=16, batch_size=2,
                   max_steps=10000000, train_data=data, threads=1, log_every=100000, dist_timeout=3)
    bad = 0
    for sig, bound in ((signal.SIGKILL, 20), (signal.SIGSTOP, 25)):
        cmd = ["mpirun", "--allow-run-as-root", "--oversubscribe", "-np", "2", "--mca", "btl", "self,tcp",
               "--mca", "btl_tcp_if_include", "lo", "--mca", "oob_tcp_if_include", "lo", c.bin, "train", cfg]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        victim = None
        t0 = time.time()
        while victim is None and time.time() - t0 < 20 and p.poll() is None:
            time.sleep(0.3)
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    env = open("/proc/%s/environ" % pid, "rb").read().split(b"\0")
                    cl = open("/proc/%s/cmdline" % pid, "rb").read()
                except OSError:
                    continue
                if b"OMPI_COMM_WORLD_RANK=1" in env and cfg.encode() in cl and b"mpirun" not in cl:
                    victim = int(pid)
        if victim is None:
            p.kill()
            out, err = p.communicate()
            if "built without MPI" in err:
                print("skip: stargate built without MPI")
                sys.exit(SKIP)
            raise SystemExit("FAIL: rank 1 not found:\n%s" % err)
        time.sleep(1.0)  # mid-run
        t1 = time.time()
        os.kill(victim, sig)
        try:
            out, err = p.communicate(timeout=bound)
        except subprocess.TimeoutExpired:
            p.kill()
            os.kill(victim, signal.SIGKILL)
            out, err = p.communicate()
            print("BAD  %s: still running after %d s" % (sig.name, bound))
            bad += 1
            continue
        dt = time.time() - t1
        if sig == signal.SIGSTOP:
            try:
                os.kill(victim, signal.SIGKILL)
            except OSError:
                pass
        lines = [l for l in err.splitlines() if "stargate: error" in l or "exited on signal" in l]
        ok = p.returncode != 0 and lines and (sig != signal.SIGSTOP or "dist_timeout" in err)
        bad += not ok
        print("%-4s rank 1 %s: mpirun exit %d after %.1f s: %s" % ("ok" if ok else "BAD", sig.name, p.returncode, dt,
                                                                   lines[0].strip() if lines else err[-300:]))
    if bad:
        raise SystemExit("FAIL: a rank's death or hang was not handled")


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


SFT_CONVS = [
    {"messages": [{"role": "user", "content": "Bonjour, qui es-tu ?"},
                  {"role": "assistant", "content": "Je suis Sganarelle, valet de Don Juan."}]},
    {"messages": [{"role": "system", "content": "Tu parles comme Molière."},
                  {"role": "user", "content": "Que penses-tu du tabac ?"},
                  {"role": "assistant", "content": "Il n'est rien d'égal au tabac."},
                  {"role": "user", "content": "Et encore ?"},
                  {"role": "assistant", "content": "C'est la passion des honnêtes gens."}]},
    {"messages": [{"role": "user", "content": "Un mot ?"}, {"role": "assistant", "content": "Tartuffe !"}]},
    {"messages": [{"role": "user", "content": "Qui est Harpagon ?"},
                  {"role": "assistant", "content": "Un avare, qui aime sa cassette."}]},
    [{"role": "user", "content": "Liste nue ?"}, {"role": "assistant", "content": "Oui, une liste de messages."}],
]

SFT_CORPUS = ("Bonjour, qui es-tu ? Je suis Sganarelle, valet de Don Juan. Que penses-tu du tabac ? "
              "Il n'est rien d'égal au tabac. C'est la passion des honnêtes gens. Tartuffe ! Harpagon avare "
              "cassette. Tu parles comme Molière. You are Qwen, created by Alibaba Cloud. You are a helpful "
              "assistant. user system assistant\n") * 20


def case_finetune_chatml(c):
    """stargate finetune on JSONL conversations: the rendered text (Qwen2.5's
    template when the shared fixtures are present, else ChatML) is exactly
    Python Jinja2's, exactly the assistant answers + <|im_end|> are trained,
    conversations are packed with document starts, and the first step's
    masked, document-masked gradients match torch on the packed shard."""
    import json
    try:
        import jinja2
    except ImportError:
        print("skip: jinja2 missing")
        sys.exit(SKIP)
    with open(c.path("corpus.txt"), "w") as f:
        f.write(SFT_CORPUS)
    vocab = c.path("vocab.gguf")
    r = subprocess.run([c.bin, "tokenizer", "train", "--input", c.path("corpus.txt"), "--vocab-size", "400",
                        "--special", "<|endoftext|>", "--special", "<|im_start|>", "--special", "<|im_end|>",
                        "-o", vocab], capture_output=True, text=True)
    if r.returncode:
        raise SystemExit("FAIL: tokenizer train: %s" % r.stderr)
    margs = ["--arch", "llama", "--hidden", "32", "--layers", "2", "--heads", "4", "--kv-heads", "2",
             "--ff", "48", "--ctx", "256", "--seed", "9", "--tokenizer", vocab]
    model = c.model("model", margs, "gguf")
    hf = c.model("model_hf", margs)
    qwen = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "fixtures", "templates",
                                         "Qwen-Qwen2.5-7B-Instruct.jinja"))
    if os.path.exists(qwen):
        tmpl_src = open(qwen).read()
        extra = dict(sft_template=qwen)
        print("template: Qwen2.5 (%s)" % qwen)
    else:
        tmpl_src = gen_model.CHATML
        extra = {}
        print("template: the model's ChatML (no shared fixtures)")
    with open(c.path("conv.jsonl"), "w") as f:
        for conv in SFT_CONVS:
            f.write(json.dumps(conv, ensure_ascii=False) + "\n")
        f.write("\n")  # blank lines are skipped
    common = dict(seq_len=192, batch_size=2, grad_accum=1, max_steps=1, threads=2)
    cfg = c.config("c.txt", init=model, sft_data=c.path("conv.jsonl"), out_dir=c.path("out"),
                   dump_grads=c.path("grads_c.safetensors"), **common, **extra)
    r = subprocess.run([c.bin, "finetune", cfg, "--show", str(len(SFT_CONVS))], capture_output=True, text=True)
    if r.returncode:
        raise SystemExit("FAIL: finetune exited %d:\n%s%s" % (r.returncode, r.stdout, r.stderr))
    print("\n".join(l for l in r.stdout.splitlines() if l.startswith("finetune")))
    # the shown renders: markers removed = Jinja2's text; marked spans = the answers + <|im_end|>
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = lambda m: (_ for _ in ()).throw(Exception(m))
    t = env.from_string(tmpl_src)
    shown_all = [blk.split("\n", 1)[1][:-1] for blk in r.stdout.split("--- conversation ")[1:]]
    shown_all[-1] = shown_all[-1][:shown_all[-1].rfind("\nfinetune: ") + 1 or None].rstrip("\n") + "\n"
    bad = 0
    for conv, shown in zip(SFT_CONVS, shown_all):
        msgs = conv["messages"] if isinstance(conv, dict) else conv
        want = t.render(messages=msgs, add_generation_prompt=False, bos_token="<|endoftext|>",
                        eos_token="<|endoftext|>")
        answers = [m["content"] + "<|im_end|>" for m in msgs if m["role"] == "assistant"]
        plain = shown.replace("\u00ab", "").replace("\u00bb", "")
        spans, i = [], 0
        while "\u00ab" in shown[i:]:
            a = shown.index("\u00ab", i)
            b = shown.index("\u00bb", a)
            spans.append(shown[a + 1:b])
            i = b + 1
        ok = plain == want and spans == answers
        bad += not ok
        print("%-4s %d answers trained: %s" % ("ok" if ok else "BAD", len(spans), spans))
        if not ok:
            print("  shown:    %r\n  expected: %r" % (shown, want))
    if bad:
        raise SystemExit("FAIL: %d conversations rendered or masked wrongly" % bad)
    toks, mask, starts = ref.read_shard(c.path("out", "sft-train.bin"))
    T = 192
    if (len(toks) - 1) % T or not starts[::T].all():
        raise SystemExit("FAIL: the packed stream is not bins of seq_len tokens each starting a document")
    print("packed: %d tokens, %d sequences, %d document starts (5 conversations + padding), %d trained" %
          (len(toks), (len(toks) - 1) // T, int(starts.sum()), int(mask.sum())))
    if (len(toks) - 1) // T >= len(SFT_CONVS):
        raise SystemExit("FAIL: nothing was packed together")
    rcfg = c.config("r.txt", init=hf, train_data=c.path("out", "sft-train.bin"), **common)
    res = c.reference("grads", "--config", rcfg, "-o", c.path("grads_t.safetensors"))
    gc = safetensors_io.read_file(c.path("grads_c.safetensors"))
    gt = safetensors_io.read_file(c.path("grads_t.safetensors"))
    worst = max(rel(gc[k], gt[k]) for k in gt)
    print(res.strip())
    print("max gradient rel err vs torch on the packed SFT batch %.2e (bound 1e-4)" % worst)
    if not worst <= 1e-4:
        raise SystemExit("FAIL: gradient error %.2e > 1e-4" % worst)


def case_data_prepare(c):
    """stargate data prepare: text and JSONL to shards + manifests; the
    tokens are each document's tokenization (stargate tokenize) followed by
    EOS; identical for 1 and 2 threads and tiny chunks; validation split;
    a bad JSONL line names its line; then train on the manifest, and the GGUF
    export carries the tokenizer (tokenize and generate work on it alone)."""
    import json
    rng = np.random.default_rng(3)
    words = "le la les un une de du des et est il elle nous vous ils sont avec pour dans sur mais ou donc".split()
    lines = []
    for i in range(1500):
        lines.append(" ".join(rng.choice(words, int(rng.integers(3, 15)))) + (".\n\n" if i % 7 == 0 else ".\n"))
    text = "".join(lines)
    with open(c.path("a.txt"), "w") as f:
        f.write(text)
    docs = ["Bonjour %d, %s." % (i, " ".join(rng.choice(words, 5))) for i in range(200)]
    with open(c.path("b.jsonl"), "w") as f:
        for d in docs:
            f.write(json.dumps({"id": 1, "text": d}) + "\n")
    vocab = c.path("vocab.gguf")
    r = subprocess.run([c.bin, "tokenizer", "train", "--input", c.path("a.txt"), "--vocab-size", "300", "-o", vocab],
                       capture_output=True, text=True)
    if r.returncode:
        raise SystemExit("FAIL: tokenizer train: %s" % r.stderr)

    def prep(out, *extra, check=True):
        cmd = [c.bin, "data", "prepare", "--tokenizer", vocab, "--input", c.path("a.txt"), "--input",
               c.path("b.jsonl"), "--out", c.path(out)] + list(extra)
        r = subprocess.run(cmd, capture_output=True, text=True)
        if check and r.returncode:
            raise SystemExit("FAIL: %s: %s" % (" ".join(cmd), r.stderr))
        return r

    r = prep("d1", "--threads", "1", "--chunk-kb", "1")
    print(r.stdout.strip())
    prep("d2", "--threads", "2", "--chunk-kb", "1")
    prep("d3", "--threads", "2")
    toks = ref.read_stream(c.path("d1", "train.json"))[0]
    for d in ("d2", "d3"):
        if not np.array_equal(ref.read_stream(c.path(d, "train.json"))[0], toks):
            raise SystemExit("FAIL: %s differs from 1 thread / 1 KiB chunks" % d)

    def tokenize(s):
        r = subprocess.run([c.bin, "tokenize", "-m", vocab, "--ids", "--no-bos"], input=s, capture_output=True,
                           text=True)
        return [int(x) for x in r.stdout.split()]
    eos = 299
    want = tokenize(text) + [eos]
    for d in docs:
        want += tokenize(d) + [eos]
    print("%d tokens; 1 thread = 2 threads = 2 threads x 1 MiB chunks; stargate tokenize per document + EOS: %s"
          % (len(toks), list(toks) == want))
    if list(toks) != want:
        raise SystemExit("FAIL: prepared tokens differ from per-document tokenization")
    man = json.load(open(c.path("d1", "train.json")))
    if man["vocab_size"] != 300 or not man["tokenizer"].endswith("vocab.gguf"):
        raise SystemExit("FAIL: manifest %r" % man)
    # validation split: the last 10% of the bytes (from a line start), nothing lost
    prep("dv", "--val-fraction", "0.1", "--shard-tokens", "5000")
    tv = ref.read_stream(c.path("dv", "train.json"))[0]
    vv = ref.read_stream(c.path("dv", "val.json"))[0]
    n_shards = len(json.load(open(c.path("dv", "train.json")))["shards"])
    print("val split: %d train tokens in %d shards + %d val tokens" % (len(tv), n_shards, len(vv)))
    if not (n_shards > 1 and 0.05 < len(vv) / len(toks) < 0.2 and list(tv) + list(vv) == want):
        raise SystemExit("FAIL: validation split")
    # errors
    with open(c.path("bad.jsonl"), "w") as f:
        f.write('{"text": "ok"}\n{"text": 3}\n')
    r = subprocess.run([c.bin, "data", "prepare", "--tokenizer", vocab, "--input", c.path("bad.jsonl"), "--out",
                        c.path("dbad")], capture_output=True, text=True)
    print("bad JSONL: exit %d: %s" % (r.returncode, r.stderr.strip()))
    if r.returncode != 1 or "bad.jsonl:2" not in r.stderr:
        raise SystemExit("FAIL: bad JSONL line not reported")
    # train on the manifest; the export carries the tokenizer
    cfg = c.config("c.txt", arch="llama", n_embd=32, n_layer=1, n_head=2, seq_len=32, batch_size=2, max_steps=3,
                   train_data=c.path("dv", "train.json"), val_data=c.path("dv", "val.json"), threads=2,
                   quiet="true", export_gguf=c.path("m.gguf"))
    c.train(cfg)
    got = subprocess.run([c.bin, "tokenize", "-m", c.path("m.gguf"), "--ids", "--no-bos"], input=docs[0],
                         capture_output=True, text=True)
    g = subprocess.run([c.bin, "generate", "-m", c.path("m.gguf"), "-p", "le", "-n", "4"], capture_output=True,
                       text=True)
    print("export: tokenize %s, generate exit %d" % (got.stdout.split()[:8], g.returncode))
    if got.returncode or [int(x) for x in got.stdout.split()] != tokenize(docs[0]) or g.returncode:
        raise SystemExit("FAIL: the export does not carry the tokenizer: %s%s" % (got.stderr, g.stderr))
    # a vocabulary larger than the model's is refused
    r, _ = c.train(cfg, "--vocab_size", "200", check=False)
    print("data/model mismatch: %s" % r.stderr.strip())
    if r.returncode != 1 or "outside the model's vocabulary" not in r.stderr:
        raise SystemExit("FAIL: data/model vocabulary mismatch accepted")
    big = c.path("big.gguf")
    subprocess.run([c.bin, "tokenizer", "train", "--input", c.path("a.txt"), "--vocab-size", "320", "-o", big],
                   capture_output=True, check=True)
    r, _ = c.train(cfg, "--tokenizer", big, check=False)
    print("tokenizer/model mismatch: %s" % r.stderr.strip())
    if r.returncode != 1 or "has 320 tokens but the model's vocabulary is 300" not in r.stderr:
        raise SystemExit("FAIL: tokenizer/model vocabulary mismatch accepted")


def case_bad_input(c):
    """Truncated/corrupt shards, a NaN loss (on_nan = stop | skip) and a full
    disk while checkpointing (RLIMIT_FSIZE): clear errors, nothing lost."""
    import resource
    import signal
    bad = 0
    # truncated and corrupted shards
    data = c.shard("data.bin", 600, 61, seed=1)
    raw = open(data, "rb").read()
    with open(c.path("trunc.bin"), "wb") as f:
        f.write(raw[:-7])
    c.shard("m.bin", 600, 61, seed=1, mask=True)
    m = bytearray(open(c.path("m.bin"), "rb").read())
    m[-3] = 9
    with open(c.path("maskbad.bin"), "wb") as f:
        f.write(m)
    for name, want in (("trunc.bin", "header says 600 tokens"), ("maskbad.bin", "mask byte 597 is 9")):
        r, _ = c.train(c.config("t.txt", train_data=c.path(name), vocab_size=61, seq_len=8), check=False)
        ok = r.returncode == 1 and want in r.stderr
        bad += not ok
        print("%-4s %s -> %s" % ("ok" if ok else "BAD", name, r.stderr.strip()))
    # NaN: one embedding row is NaN and its token appears only in step 3's batch
    model = c.model("model", LLAMA)
    w = safetensors_io.read_model(model)
    w["model.embed_tokens.weight"][60, 5] = float("nan")
    safetensors_io.write_file(os.path.join(model, "model.safetensors"), w)
    toks = np.random.default_rng(5).integers(0, 60, 600)
    toks[70] = 60  # window 4 = step 3's first sequence (batch 2, seq_len 16)
    ref.write_shard(c.path("nan.bin"), toks, 61)
    base = dict(init=model, train_data=c.path("nan.bin"), seq_len=16, batch_size=2, max_steps=5, threads=2,
                quiet="true")
    r, _ = c.train(c.config("n1.txt", out_dir=c.path("n1"), **base), check=False)
    ok = r.returncode == 1 and "loss is nan at step 3" in r.stderr
    bad += not ok
    print("%-4s on_nan = stop -> exit %d: %s" % ("ok" if ok else "BAD", r.returncode, r.stderr.strip()))
    r, _ = c.train(c.config("n2.txt", out_dir=c.path("n2"), on_nan="skip", **base), check=False)
    losses = log_losses(c.path("n2", "train.log"))
    ok = r.returncode == 0 and "batch skipped" in r.stderr and sorted(losses) == [1, 2, 4, 5] and \
        all(math.isfinite(float(v)) for v in losses.values())
    bad += not ok
    print("%-4s on_nan = skip -> exit %d, steps logged %s: %s" % ("ok" if ok else "BAD", r.returncode,
                                                                  sorted(losses), r.stderr.strip()))
    # full disk while checkpointing: the write fails, the previous checkpoint survives
    d2 = c.shard("d2.bin", 3000, 61, seed=2)
    cfg = c.config("f.txt", arch="llama", vocab_size=61, n_embd=32, n_layer=2, n_head=4, seq_len=16,
                   batch_size=2, max_steps=4, checkpoint_every=2, train_data=d2, out_dir=c.path("f"),
                   resume="auto", threads=2, quiet="true")
    c.train(cfg, "--halt_after", "2")
    ck2 = c.path("f", "ckpt-00000002.bin")
    before = open(ck2, "rb").read()

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (len(before) // 2, len(before) // 2))
    r = subprocess.run([c.bin, "train", cfg], capture_output=True, text=True, preexec_fn=limit)
    left = sorted(os.listdir(c.path("f")))
    ok = r.returncode == 1 and "ckpt-00000004.bin: write failed" in r.stderr and \
        open(ck2, "rb").read() == before and left == ["ckpt-00000002.bin", "train.log"]
    bad += not ok
    print("%-4s full disk at the step-4 checkpoint -> exit %d: %s; files left %s" %
          ("ok" if ok else "BAD", r.returncode, r.stderr.strip(), left))
    r, _ = c.train(cfg, check=False)
    ok = r.returncode == 0 and os.path.exists(c.path("f", "ckpt-00000004.bin"))
    bad += not ok
    print("%-4s resume from the surviving checkpoint -> exit %d" % ("ok" if ok else "BAD", r.returncode))
    if bad:
        raise SystemExit("FAIL: %d bad-input cases" % bad)


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
        ("train_data = %s\nvocab_size = 50\nn_embd = 32\nn_head = 4\nhead_dim = 7\n" % data, "must be even"),
        ("train_data = %s\nvocab_size = 50\non_nan = ignore\n" % data, "'on_nan' must be stop or skip"),
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
    elif n in ("resume_exact", "mpi_equiv", "e2e_pattern", "bad_config", "finetune_chatml", "data_prepare", "bad_input",
               "mpi_rank_death"):
        globals()["case_" + n](c)
    else:
        print("unknown case %s" % n)
        return 1
    print("PASS %s (%.1f s)" % (n, time.time() - t))
    return 0


if __name__ == "__main__":
    sys.exit(main())
