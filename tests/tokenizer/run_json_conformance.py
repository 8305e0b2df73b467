#!/usr/bin/python3
"""run_json_conformance.py -- the conformance strings through tokenizer.json.

Converts every real GGUF vocabulary in FIXTURES (ggml-vocab-NAME.gguf) into
the Hugging Face files its family ships (tools/vocab_to_tokenizer_json.py)
and runs test_conformance on them: each string must give the ids of NAME.out
and the same ids as the GGUF. The SentencePiece families are checked twice,
Llama 2 style (Prepend/Replace normalizer, merges as strings) and with a
Metaspace pre-tokenizer (prepend_scheme "first", merges as pairs).
Exit 77 (ctest SKIP) when the fixtures or numpy are absent.

usage: run_json_conformance.py TEST_CONFORMANCE FIXTURES WORK_DIR
"""
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOOL = os.path.join(HERE, "..", "..", "tools", "vocab_to_tokenizer_json.py")
NAMES = ["gpt-2", "llama-spm", "deepseek-llm", "phi-3", "falcon", "mpt"]
SPM = ["llama-spm", "phi-3"]


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        return 2
    exe, fixtures, work = sys.argv[1:]
    if not os.path.exists(os.path.join(fixtures, "ggml-vocab-gpt-2.gguf")):
        print("SKIP: no vocabularies in %s" % fixtures)
        return 77
    try:
        import numpy  # noqa: F401  (gguf_reader needs it)
    except ImportError:
        print("SKIP: numpy is not installed")
        return 77
    shutil.rmtree(work, ignore_errors=True)
    plain, meta = os.path.join(work, "hf"), os.path.join(work, "hf-metaspace")
    for name in NAMES:
        gguf = os.path.join(fixtures, "ggml-vocab-%s.gguf" % name)
        subprocess.run([sys.executable, TOOL, gguf, os.path.join(plain, name)], check=True)
        if name in SPM:
            subprocess.run([sys.executable, TOOL, gguf, os.path.join(meta, name), "--spm-style", "metaspace",
                            "--merges", "pairs"], check=True)
    rc1 = subprocess.run([exe, fixtures, "--hf", plain] + NAMES).returncode
    rc2 = subprocess.run([exe, fixtures, "--hf", meta, "--metaspace"] + SPM).returncode
    if rc1 == 0 and rc2 == 0:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if rc1 or rc2 else 0


if __name__ == "__main__":
    sys.exit(main())
