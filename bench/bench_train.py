#!/usr/bin/python3
"""bench_train.py -- training throughput: `stargate train` vs PyTorch (CPU).

Both train the same Llama-shaped model (RMSNorm, RoPE, SwiGLU, tied
embeddings, float32) on the same random tokens with the same global batch
(batch x seq_len, default 8 x 256), AdamW + clipping, for --steps steps;
the first --warmup steps are not timed. Reported: tokens/s and achieved
GFLOP/s counted as 6 * N * tokens (N = all parameters; attention's T^2
term not counted), the median over the timed steps.

  bench/bench_train.py --stargate build/stargate [--sizes 10m,50m] [--threads 2]

PyTorch: torch.set_num_threads(threads), the same model written the usual
way (nn.Parameters, F.linear, RoPE from precomputed cos/sin, causal softmax
attention with one precomputed mask, F.cross_entropy), torch.optim.AdamW,
clip_grad_norm_; weights from the same HF directory tools/gen_model.py
writes. Not a test: prints a table.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.normpath(os.path.join(HERE, "..", "tools"))
sys.path.insert(0, TOOLS)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import gen_model  # noqa: E402
import train_reference as ref  # noqa: E402

SIZES = {
    # name: (vocab, hidden, layers, heads, ffn)
    "10m": (4096, 320, 8, 5, 864),
    "50m": (8192, 512, 14, 8, 1376),
}


def n_params(V, C, L, H, F):
    return V * C + L * (4 * C * C + 3 * C * F + 2 * C) + C


def bench_stargate(exe, work, size, B, T, steps, warmup, threads):
    V, C, L, H, F = SIZES[size]
    data = os.path.join(work, "data.bin")
    if not os.path.exists(data):
        ref.write_shard(data, np.random.default_rng(0).integers(0, 4096, 400000), 8192)
    out = os.path.join(work, "sg-" + size)
    shutil.rmtree(out, ignore_errors=True)
    cfg = os.path.join(work, "sg-%s.conf" % size)
    with open(cfg, "w") as f:
        f.write("arch = llama\nvocab_size = %d\nn_embd = %d\nn_layer = %d\nn_head = %d\nn_ff = %d\n"
                "tied_embeddings = true\ntrain_data = %s\nseq_len = %d\nbatch_size = %d\nmax_steps = %d\n"
                "lr = 1e-3\nthreads = %d\nquiet = true\nout_dir = %s\n"
                % (V, C, L, H, F, data, T, B, steps, threads, out))
    subprocess.run([exe, "train", cfg], check=True)
    tok_s = [float(l.split()[9]) for l in open(os.path.join(out, "train.log")) if l.startswith("step ")]
    return statistics.median(tok_s[warmup:])


def bench_torch(work, size, B, T, steps, warmup, threads):
    torch.set_num_threads(threads)
    V, C, L, H, F = SIZES[size]
    d = os.path.join(work, "hf-" + size)
    if not os.path.exists(d):
        gen_model.main(["--arch", "llama", "--hidden", str(C), "--layers", str(L), "--heads", str(H),
                        "--ff", str(F), "--vocab", str(V), "--ctx", str(T), "--tied", "--format", "hf",
                        "--out", d, "--quiet"])
    hf, w = ref.load_model(d)
    params = list(w.values())
    opt = torch.optim.AdamW(params, lr=1e-3, betas=(0.9, 0.95), weight_decay=0.1)
    rng = np.random.default_rng(0)
    D = C // H
    inv = 1.0 / (10000.0 ** (torch.arange(0, D, 2, dtype=torch.float32) / D))
    ang = torch.arange(T, dtype=torch.float32)[:, None] * inv[None]
    cos, sin = torch.cat([ang.cos(), ang.cos()], -1), torch.cat([ang.sin(), ang.sin()], -1)
    mask = torch.full((T, T), float("-inf")).triu(1)
    F_ = torch.nn.functional

    def rms(x, g):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * g

    def rope(x):  # (B, H, T, D), rotate-half
        x1, x2 = x[..., :D // 2], x[..., D // 2:]
        return x * cos + torch.cat([-x2, x1], -1) * sin

    def forward(inp):
        x = F_.embedding(inp, w["model.embed_tokens.weight"])
        for i in range(L):
            p = "model.layers.%d." % i
            h = rms(x, w[p + "input_layernorm.weight"])
            q = F_.linear(h, w[p + "self_attn.q_proj.weight"]).view(B, T, H, D).transpose(1, 2)
            k = F_.linear(h, w[p + "self_attn.k_proj.weight"]).view(B, T, H, D).transpose(1, 2)
            v = F_.linear(h, w[p + "self_attn.v_proj.weight"]).view(B, T, H, D).transpose(1, 2)
            att = torch.softmax(rope(q) @ rope(k).transpose(-1, -2) / D ** 0.5 + mask, -1)
            y = (att @ v).transpose(1, 2).reshape(B, T, C)
            x = x + F_.linear(y, w[p + "self_attn.o_proj.weight"])
            h = rms(x, w[p + "post_attention_layernorm.weight"])
            x = x + F_.linear(F_.silu(F_.linear(h, w[p + "mlp.gate_proj.weight"])) *
                              F_.linear(h, w[p + "mlp.up_proj.weight"]), w[p + "mlp.down_proj.weight"])
        return F_.linear(rms(x, w["model.norm.weight"]), w["model.embed_tokens.weight"])
    times = []
    for s in range(steps):
        toks = torch.from_numpy(rng.integers(0, 4096, (B, T + 1)))
        t0 = time.perf_counter()
        opt.zero_grad()
        logits = forward(toks[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, V), toks[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        times.append(time.perf_counter() - t0)
    return B * T / statistics.median(times[warmup:])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--stargate", required=True)
    p.add_argument("--sizes", default="10m,50m")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--seq", type=int, default=256)
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--only", choices=("stargate", "torch"))
    a = p.parse_args()
    work = tempfile.mkdtemp(prefix="bench_train.")
    rows = []
    try:
        for size in a.sizes.split(","):
            N = n_params(*SIZES[size])
            res = {}
            if a.only != "torch":
                res["stargate"] = bench_stargate(os.path.abspath(a.stargate), work, size, a.batch, a.seq, a.steps,
                                                 a.warmup, a.threads)
            if a.only != "stargate":
                res["torch"] = bench_torch(work, size, a.batch, a.seq, a.steps, a.warmup, a.threads)
            for k, tps in res.items():
                rows.append((size, N, k, tps, 6 * N * tps / 1e9))
                print("%-4s %5.1fM  %-8s %8.0f tok/s  %6.1f GFLOP/s" % (size, N / 1e6, k, tps, 6 * N * tps / 1e9),
                      flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("\n| model | params | batch x seq | implementation | tokens/s | GFLOP/s (6N) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for size, N, k, tps, gf in rows:
        print("| %s | %.1fM | %d x %d | %s | %.0f | %.1f |" % (size, N / 1e6, a.batch, a.seq, k, tps, gf))


if __name__ == "__main__":
    main()
