#!/usr/bin/env python3
"""make_train_seeds.py -- seed corpus for fuzz_train_config.

Usage: make_train_seeds.py OUTDIR CONFIGS_DIR
Writes OUTDIR/train_config/: every configs/*.conf example plus a few edge
cases (overrides, comments, CRLF, empty values, every value type).
Standard library only.
"""
import os
import sys

EDGE = [
    b"",
    b"# only a comment\n",
    b"arch = gpt2\r\nn_layer = 2\r\n",
    b"lr=1e-3\nmin_lr = 0\nwarmup_steps=10\nmax_steps = 100\n",
    b"train_data = data/train.json\nval_data =\nresume = auto\nout_dir = runs/x\n",
    b"tied_embeddings = true\nquiet = no\nexport_dtype = f16\nseed = 18446744073709551615\n",
    b"n_head = 8\nn_head_kv = 2\nhead_dim = 64\nn_ff = 1536\nrope_theta = 500000\n",
]


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: make_train_seeds.py OUTDIR CONFIGS_DIR")
    d = os.path.join(sys.argv[1], "train_config")
    os.makedirs(d, exist_ok=True)
    for i, b in enumerate(EDGE):
        with open(os.path.join(d, "edge%d.conf" % i), "wb") as f:
            f.write(b)
    for name in sorted(os.listdir(sys.argv[2])):
        if name.endswith(".conf"):
            with open(os.path.join(sys.argv[2], name), "rb") as src, open(os.path.join(d, name), "wb") as f:
                f.write(src.read())


if __name__ == "__main__":
    main()
