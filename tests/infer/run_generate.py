#!/usr/bin/python3
"""run_generate.py -- sg_generate (src/infer/generate.c) against `stargate generate`.

Makes a tiny random model with tools/gen_model.py, asks `stargate generate`
for the greedy continuation of a prompt, and runs gen_check, which drives
the library's generation loop on the same model and compares (and checks its
stop reasons, continuation and seeded sampling).

Usage: run_generate.py --stargate BIN --check BIN --work DIR
Exit: 0 pass, 1 fail, 77 skip (numpy not importable).
"""
import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.normpath(os.path.join(HERE, "..", "..", "tools"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stargate", required=True)
    ap.add_argument("--check", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    try:
        import numpy  # noqa: F401
    except ImportError as e:
        print("skip: numpy not importable (%s)" % e)
        return 77
    os.makedirs(a.work, exist_ok=True)
    ok = True
    for arch, fmt, dtype in (("qwen2", "gguf", "q8_0"), ("llama", "hf", "f32")):
        model = os.path.join(a.work, "gen-%s.%s" % (arch, "gguf" if fmt == "gguf" else "hf"))
        args = [sys.executable, os.path.join(TOOLS, "gen_model.py"), "--arch", arch, "--hidden", "64",
                "--layers", "2", "--heads", "4", "--kv-heads", "2", "--ff", "128", "--vocab", "512",
                "--seed", "3", "--format", fmt, "--dtype", dtype, "--out", model, "--quiet"]
        if arch == "qwen2":
            args.append("--tied")
        subprocess.run(args, check=True)
        prompt = "5 17 301 42 7 99 3"
        out = subprocess.run([a.stargate, "generate", "-m", model, "--tokens", prompt, "-n", "24"],
                             check=True, capture_output=True, text=True).stdout.strip()
        print("== %s %s: stargate generate -> %s" % (arch, dtype, out))
        r = subprocess.run([a.check, model, prompt, out], capture_output=True, text=True)
        sys.stdout.write(r.stdout)
        sys.stderr.write(r.stderr)
        ok &= r.returncode == 0
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
