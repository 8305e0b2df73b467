#!/usr/bin/python3
"""dequant_check.py -- check stargate's dequantization bit for bit against numpy.

For every tensor of a GGUF file stored as F16, BF16, Q8_0, Q4_0, Q4_K or Q6_K
(also F32 with --all), runs

    STARGATE tensors MODEL.gguf --name NAME -o FILE

which must write the tensor dequantized to raw little-endian float32 in stored
order, and requires FILE to be byte-identical to quants.dequantize() of the
same bytes (read independently with gguf_reader).  The decoders in quants.py
follow the published ggml block layouts with float32 arithmetic in ggml's
operation order, so any difference is a bug.  The first mismatch of each
tensor is reported (index, row/column, both values and bit patterns).

Usage: dequant_check.py MODEL.gguf --stargate BIN [--all] [--work DIR]
Exit status 0 when every tensor matches, 1 otherwise.
"""

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_reader  # noqa: E402
import quants  # noqa: E402
from gguf_writer import GGML_F32, GGML_TYPE_NAMES  # noqa: E402


def check(model, stargate, include_f32=False, work=None, log=print):
    """Returns a list of failure messages (empty when all tensors match)."""
    r = gguf_reader.GGUFReader(model)
    failures = []
    checked = 0
    with tempfile.TemporaryDirectory(dir=work) as tmp:
        out = os.path.join(tmp, "t.f32")
        for name, t in r.tensors.items():
            if t.ggml_type == GGML_F32 and not include_f32:
                continue
            tname = GGML_TYPE_NAMES[t.ggml_type]
            want = quants.dequantize(t.data, t.ggml_type, t.shape).astype("<f4").reshape(-1)
            if os.path.exists(out):
                os.remove(out)
            p = subprocess.run([stargate, "tensors", model, "--name", name, "-o", out],
                               capture_output=True, text=True, timeout=300)
            if p.returncode != 0:
                failures.append("%s (%s): stargate exited %d: %s"
                                % (name, tname, p.returncode, p.stderr.strip()[-500:]))
                continue
            got_b = open(out, "rb").read()
            want_b = want.tobytes()
            checked += 1
            if got_b == want_b:
                continue
            if len(got_b) != len(want_b):
                failures.append("%s (%s): %d bytes written, %d expected (shape %s)"
                                % (name, tname, len(got_b), len(want_b), list(t.shape)))
                continue
            got = np.frombuffer(got_b, dtype="<f4")
            bad = np.flatnonzero(got.view("<u4") != want.view("<u4"))
            i = int(bad[0])
            cols = t.shape[-1]
            failures.append("%s (%s): %d of %d values differ; first at index %d (row %d, col %d): "
                            "stargate %r (0x%08x) numpy %r (0x%08x)"
                            % (name, tname, bad.size, got.size, i, i // cols, i % cols,
                               float(got[i]), int(got.view("<u4")[i]),
                               float(want[i]), int(want.view("<u4")[i])))
    log("dequant_check: %s: %d tensors compared, %d failures"
        % (os.path.basename(model), checked, len(failures)))
    for f in failures:
        log("  MISMATCH " + f)
    return failures


def main(argv=None):
    ap = argparse.ArgumentParser(description="bit-exact dequantization check")
    ap.add_argument("model")
    ap.add_argument("--stargate", required=True)
    ap.add_argument("--all", action="store_true", help="also check F32 tensors")
    ap.add_argument("--work", default=None, help="directory for temporary files")
    a = ap.parse_args(argv)
    return 1 if check(a.model, a.stargate, a.all, a.work) else 0


if __name__ == "__main__":
    sys.exit(main())
