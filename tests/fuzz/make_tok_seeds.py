"""make_tok_seeds.py -- seed corpora for the tokenizer fuzzers.

  OUTDIR/tokenizer/  texts for fuzz_tokenizer (first byte: which vocabulary and flags)
  OUTDIR/vocab/      small GGUF vocabularies and tokenizer.json files for fuzz_vocab

usage: make_tok_seeds.py OUTDIR
"""
import json
import os
import struct
import sys

T_I32, T_STR, T_ARR, T_BOOL, T_U32 = 5, 8, 9, 7, 4


def gstr(s):
    b = s.encode("utf-8", "surrogatepass")
    return struct.pack("<Q", len(b)) + b


def gvalue(t, v):
    if t == T_STR:
        return gstr(v)
    if t == T_ARR:
        et, items = v
        return struct.pack("<IQ", et, len(items)) + b"".join(gvalue(et, x) for x in items)
    return struct.pack({T_I32: "<i", T_U32: "<I", T_BOOL: "<B"}[t], v)


def gguf(kvs):
    out = b"GGUF" + struct.pack("<IQQ", 3, 0, len(kvs))
    for k, t, v in kvs:
        out += gstr(k) + struct.pack("<I", t) + gvalue(t, v)
    return out + b"\0" * ((-len(out)) % 32)


def bytelevel():
    bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def vocab_seeds():
    enc = bytelevel()
    toks = [enc[b] for b in range(256)] + ["Ġt", "he", "Ġthe", "in", "<|endoftext|>"]
    types = [1] * 260 + [3]
    merges = ["Ġ t", "h e", "Ġt he", "i n"]
    for pre in ("gpt-2", "llama-bpe", "qwen2", "deepseek-llm", "falcon", "starcoder", "nonexistent"):
        yield "bpe-%s.gguf" % pre, gguf([("tokenizer.ggml.model", T_STR, "gpt2"), ("tokenizer.ggml.pre", T_STR, pre),
                                         ("tokenizer.ggml.tokens", T_ARR, (T_STR, toks)),
                                         ("tokenizer.ggml.token_type", T_ARR, (T_I32, types)),
                                         ("tokenizer.ggml.merges", T_ARR, (T_STR, merges)),
                                         ("tokenizer.ggml.eos_token_id", T_U32, 260)])
    stoks = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % b for b in range(256)] + ["▁", "▁t", "he", "▁the"]
    yield "spm.gguf", gguf([("tokenizer.ggml.model", T_STR, "llama"), ("tokenizer.ggml.tokens", T_ARR, (T_STR, stoks)),
                            ("tokenizer.ggml.token_type", T_ARR, (T_I32, [2, 3, 3] + [6] * 256 + [1] * 4)),
                            ("tokenizer.ggml.add_bos_token", T_BOOL, 1)])
    hf = {"model": {"type": "BPE", "vocab": {t: i for i, t in enumerate(toks[:260])}, "merges": merges},
          "added_tokens": [{"id": 260, "content": "<|endoftext|>", "special": True}],
          "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
              {"type": "Split", "pattern": {"Regex": "\\p{N}{1,3}"}, "behavior": "Isolated"},
              {"type": "ByteLevel", "add_prefix_space": False, "use_regex": True}]},
          "decoder": {"type": "ByteLevel"}}
    yield "tokenizer.json", json.dumps(hf).encode()
    hf2 = {"model": {"type": "BPE", "byte_fallback": True, "vocab": {t: i for i, t in enumerate(stoks)},
                     "merges": [["▁", "t"], ["h", "e"], ["▁t", "he"]]},
           "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"},
                                                              {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]}}
    yield "spm-tokenizer.json", json.dumps(hf2).encode()


def text_seeds():
    texts = ["Hello world", " this is 🦙.cpp", "нещо на Български", "<|endoftext|>hi<|endoftext|",
             "   \n\n\t 3333 3.3 'll 'S", "\xff\xfe\x00", "我想在apple工作1314151天～"]
    for i, t in enumerate(texts):
        for sel in range(3):
            yield "t%d-%d" % (i, sel), bytes([sel * 4 + (i & 3)]) + t.encode("utf-8", "surrogateescape")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_tok_seeds.py OUTDIR")
    for sub, seeds in (("tokenizer", text_seeds()), ("vocab", vocab_seeds())):
        d = os.path.join(sys.argv[1], sub)
        os.makedirs(d, exist_ok=True)
        for name, data in seeds:
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
