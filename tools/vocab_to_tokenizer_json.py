#!/usr/bin/python3
"""vocab_to_tokenizer_json.py -- a GGUF vocabulary as Hugging Face files.

Writes OUT_DIR/tokenizer.json and OUT_DIR/tokenizer_config.json shaped like
the files the family ships on the Hugging Face hub, so that stargate's
tokenizer.json loader can be checked against the GGUF path on the same ids
(tests/tokenizer/run_json_conformance.py).

    vocab_to_tokenizer_json.py GGUF OUT_DIR [--family NAME]
                               [--spm-style normalizer|metaspace]
                               [--merges strings|pairs]

Families (from tokenizer.ggml.pre / tokenizer.ggml.model, or --family):
  gpt-2         ByteLevel(add_prefix_space false, use_regex true) pre-tokenizer
  mpt           GPT-NeoX-20B's file: NFC normalizer, ByteLevel pre-tokenizer,
                whitespace-run added tokens (normalized, not special)
  deepseek-llm  Sequence of Split regexes (Isolated) + ByteLevel(use_regex false)
  falcon        Sequence[Punctuation(Contiguous), ByteLevel(use_regex true),
                Digits(individual_digits false), Split("[0-9][0-9][0-9]")]
  llama-spm,    SentencePiece BPE as transformers' LlamaConverter writes it:
  phi-3         BPE(byte_fallback, fuse_unk, unk "<unk>"), merges generated
                from the piece scores; normalizer Sequence[Prepend("▁"),
                Replace(" ", "▁")] (Llama 2; --spm-style normalizer) or
                pre-tokenizer Metaspace(prepend_scheme "first", split false)
                (transformers >= 4.38 with legacy=False; --spm-style metaspace);
                decoder Sequence[Replace("▁", " "), ByteFallback, Fuse, Strip].

GGUF token types: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused,
6 byte. Control/unknown tokens become special added tokens, user-defined ones
non-special added tokens. Padding entries ("[PAD<id>]", added by converters
to fill an embedding matrix) are not part of the Hugging Face tokenizer and
are dropped.
"""

import argparse
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gguf_reader import GGUFReader  # noqa: E402

NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6
SPIECE = "\u2581"

# GPT-2's byte <-> unicode alphabet.
_printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))


def bytes_to_unicode():
    cs, n = {}, 0
    for b in range(256):
        if b in _printable:
            cs[b] = chr(b)
        else:
            cs[b] = chr(256 + n)
            n += 1
    return cs


B2U = bytes_to_unicode()


def bytelevel(text):
    return "".join(B2U[b] for b in text.encode("utf-8"))


# DeepSeek LLM's split patterns, as its tokenizer.json lists them (character
# classes with literal code points).
def _cls(ranges):
    out = []
    for r in ranges:
        if isinstance(r, tuple):
            out.append("%s-%s" % (chr(r[0]), chr(r[1])))
        else:
            out.append(chr(r))
    return "".join(out)


DEEPSEEK_LETTERS = [
    0xB5, (0xC0, 0xD6), (0xD8, 0xF6), (0xF8, 0x1BA), (0x1BC, 0x1BF), (0x1C4, 0x293), (0x295, 0x2AF),
    (0x370, 0x373), (0x376, 0x377), (0x37B, 0x37D), 0x37F, 0x386, (0x388, 0x38A), 0x38C, (0x38E, 0x3A1),
    (0x3A3, 0x3F5), (0x3F7, 0x481), (0x48A, 0x52F), (0x531, 0x556), (0x10A0, 0x10C5), (0x13A0, 0x13F5),
    (0x13F8, 0x13FD), (0x1C90, 0x1CBA), (0x1CBD, 0x1CBF), (0x1D00, 0x1D2B), (0x1D6B, 0x1D77), (0x1D79, 0x1D9A),
    (0x1E00, 0x1F15), (0x1F18, 0x1F1D), (0x1F20, 0x1F45), (0x1F48, 0x1F4D), (0x1F50, 0x1F57), 0x1F59, 0x1F5B,
    0x1F5D, (0x1F5F, 0x1F7D), (0x1F80, 0x1FB4), (0x1FB6, 0x1FBC), 0x1FBE, (0x1FC2, 0x1FC4), (0x1FC6, 0x1FCC),
    (0x1FD0, 0x1FD3), (0x1FD6, 0x1FDB), (0x1FE0, 0x1FEC), (0x1FF2, 0x1FF4), (0x1FF6, 0x1FFC), 0x2102, 0x2107,
    (0x210A, 0x2113), 0x2115, (0x2119, 0x211D), 0x2124, 0x2126, 0x2128, (0x212A, 0x212D), (0x212F, 0x2134),
    0x2139, (0x213C, 0x213F), (0x2145, 0x2149), 0x214E, (0x2183, 0x2184), (0x2C00, 0x2C7B), (0x2C7E, 0x2CE4),
    (0x2CEB, 0x2CEE), (0x2CF2, 0x2CF3), (0xA640, 0xA66D), (0xA680, 0xA69B), (0xA722, 0xA76F), (0xA771, 0xA787),
    (0xA78B, 0xA78E), (0xAB70, 0xABBF), (0xFB00, 0xFB06), (0xFB13, 0xFB17), (0xFF21, 0xFF3A), (0xFF41, 0xFF5A),
    (0x10400, 0x1044F), (0x104B0, 0x104D3), (0x104D8, 0x104FB), (0x10C80, 0x10CB2), (0x10CC0, 0x10CF2),
    (0x118A0, 0x118DF), (0x1E900, 0x1E943),
]

DEEPSEEK_LLM_SPLITS = [
    "[\r\n]",
    "\\s?[A-Za-z" + _cls(DEEPSEEK_LETTERS) + "]+",
    "\\s?[!-/:-~" + _cls([(0xFF01, 0xFF0F), (0xFF1A, 0xFF5E), (0x2018, 0x201F), (0x3000, 0x3002)]) + "]+",
    "\\s+$",
    "[" + _cls([(0x4E00, 0x9FA5), (0x0800, 0x4E00), (0xAC00, 0xD7FF)]) + "]+",
    "\\p{N}+",
]


def split(regex, behavior="Isolated", invert=False):
    return {"type": "Split", "pattern": {"Regex": regex}, "behavior": behavior, "invert": invert}


def bytelevel_node(add_prefix_space=False, trim_offsets=True, use_regex=True):
    return {"type": "ByteLevel", "add_prefix_space": add_prefix_space, "trim_offsets": trim_offsets,
            "use_regex": use_regex}


def added(i, content, special, normalized, lstrip=False, rstrip=False):
    return {"id": i, "content": content, "single_word": False, "lstrip": lstrip, "rstrip": rstrip,
            "normalized": normalized, "special": special}


PAD_RE = re.compile(r"\[PAD(\d+)\]\Z")


def is_pad(i, text, ty):
    m = PAD_RE.match(text)
    return bool(m) and int(m.group(1)) == i and ty in (UNKNOWN, USER_DEFINED, UNUSED, CONTROL)


def spm_merges(pieces, scores):
    """Merges of a SentencePiece BPE model as transformers' generate_merges
    writes them: every split of a piece into two pieces of the vocabulary,
    ordered by the merged piece's score (highest first), then the longer left
    piece, then the longer right piece; ties keep vocabulary order."""
    vocab = {}
    for i, p in enumerate(pieces):
        vocab.setdefault(p, i)
    merges = []
    for merge, score in zip(pieces, scores):
        local = []
        for k in range(1, len(merge)):
            left, right = merge[:k], merge[k:]
            if left in vocab and right in vocab:
                local.append((left, right, score))
        local.sort(key=lambda x: (vocab[x[0]], vocab[x[1]]))
        merges.extend(local)
    merges.sort(key=lambda v: (v[2], len(v[0]), len(v[1])), reverse=True)
    return [(a, b) for a, b, _ in merges]


def family_of(md):
    model = md.get("tokenizer.ggml.model")
    pre = md.get("tokenizer.ggml.pre", "default")
    if model == "llama":
        return "phi-3" if md.get("general.architecture") == "phi3" else "llama-spm"
    if model == "gpt2":
        return {"gpt2": "gpt-2", "default": "gpt-2", "gpt-neox": "mpt", "olmo": "mpt"}.get(pre, pre)
    raise SystemExit("unsupported tokenizer model %r" % model)


def convert(path, family=None, spm_style="normalizer", merges_format="strings"):
    md = GGUFReader(path).metadata
    fam = family or family_of(md)
    tokens = list(md["tokenizer.ggml.tokens"])
    n = len(tokens)
    types = [int(x) for x in md.get("tokenizer.ggml.token_type", [NORMAL] * n)]
    scores = [float(x) for x in md.get("tokenizer.ggml.scores", [0.0] * n)]
    keep = [not is_pad(i, tokens[i], types[i]) for i in range(n)]
    spm = md["tokenizer.ggml.model"] == "llama"

    def tok(key):
        i = md.get(key)
        return tokens[int(i)] if i is not None and 0 <= int(i) < n and keep[int(i)] else None

    bos, eos = tok("tokenizer.ggml.bos_token_id"), tok("tokenizer.ggml.eos_token_id")
    unk, pad = tok("tokenizer.ggml.unknown_token_id"), tok("tokenizer.ggml.padding_token_id")
    add_bos = bool(md.get("tokenizer.ggml.add_bos_token", spm))
    add_eos = bool(md.get("tokenizer.ggml.add_eos_token", False))

    vocab, added_tokens = {}, []
    if spm:
        unk = unk or "<unk>"
        for i in range(n):
            if keep[i]:
                vocab.setdefault(tokens[i], i)
        # transformers' LlamaConverter: the sentencepiece model's first three
        # pieces with score 0, the rest with their scores
        sp_scores = [0.0 if i < 3 else scores[i] for i in range(n)]
        merge_ids = [i for i in range(n) if keep[i] and types[i] in (NORMAL, UNKNOWN, CONTROL, BYTE, USER_DEFINED)]
        merges = spm_merges([tokens[i] for i in merge_ids], [sp_scores[i] for i in merge_ids])
        phi3 = fam == "phi-3"
        for i in range(n):
            if not keep[i] or types[i] not in (UNKNOWN, CONTROL, USER_DEFINED):
                continue
            special = types[i] != USER_DEFINED
            # Phi-3's file: chat markers and </s> swallow the whitespace after them
            rstrip = phi3 and tokens[i] not in ("<unk>", "<s>", "<|endoftext|>")
            added_tokens.append(added(i, tokens[i], special, False, rstrip=rstrip))
        model = {"type": "BPE", "dropout": None, "unk_token": unk, "continuing_subword_prefix": None,
                 "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
                 "vocab": vocab, "merges": merges}
        decoder = {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": SPIECE}, "content": " "},
            {"type": "ByteFallback"},
            {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0},
        ]}
        if spm_style == "metaspace":
            normalizer = None
            pre_tokenizer = {"type": "Metaspace", "replacement": SPIECE, "prepend_scheme": "first", "split": False}
        else:
            normalizer = {"type": "Sequence", "normalizers": [
                {"type": "Prepend", "prepend": SPIECE},
                {"type": "Replace", "pattern": {"String": " "}, "content": SPIECE},
            ]}
            pre_tokenizer = None
        bos_tok = bos or "<s>"
        post = {"type": "TemplateProcessing",
                "single": ([{"SpecialToken": {"id": bos_tok, "type_id": 0}}] if add_bos else []) +
                          [{"Sequence": {"id": "A", "type_id": 0}}],
                "pair": ([{"SpecialToken": {"id": bos_tok, "type_id": 0}}] if add_bos else []) +
                        [{"Sequence": {"id": "A", "type_id": 0}}] +
                        ([{"SpecialToken": {"id": bos_tok, "type_id": 1}}] if add_bos else []) +
                        [{"Sequence": {"id": "B", "type_id": 1}}],
                "special_tokens": ({bos_tok: {"id": bos_tok, "ids": [tokens.index(bos_tok)], "tokens": [bos_tok]}}
                                   if add_bos else {})}
    else:
        merges = []
        for m in md.get("tokenizer.ggml.merges", []):
            a, b = m.split(" ", 1)
            merges.append((a, b))
        for i in range(n):
            if not keep[i]:
                continue
            if types[i] == USER_DEFINED:
                # GGUF keeps added tokens as text (older converters) or with
                # spaces pre-mapped to "Ġ"; the hub file has the text
                content = tokens[i].replace("\u0120", " ")
                added_tokens.append(added(i, content, False, True))
                continue
            vocab.setdefault(tokens[i], i)
            if types[i] in (CONTROL, UNKNOWN):
                added_tokens.append(added(i, tokens[i], True, fam == "gpt-2"))
        model = {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                 "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                 "vocab": vocab, "merges": merges}
        decoder = bytelevel_node(add_prefix_space=True, trim_offsets=True, use_regex=True)
        normalizer = None
        post = bytelevel_node(add_prefix_space=True, trim_offsets=False, use_regex=True)
        if fam == "gpt-2":
            pre_tokenizer = bytelevel_node(False, True, True)
        elif fam == "mpt":
            normalizer = {"type": "NFC"}
            pre_tokenizer = bytelevel_node(False, True, True)
            post = bytelevel_node(False, True, True)
            decoder = bytelevel_node(False, True, True)
        elif fam == "deepseek-llm":
            normalizer = {"type": "Sequence", "normalizers": []}
            pre_tokenizer = {"type": "Sequence",
                             "pretokenizers": [split(r) for r in DEEPSEEK_LLM_SPLITS] +
                                              [bytelevel_node(False, True, False)]}
            post = {"type": "TemplateProcessing",
                    "single": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                    "pair": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                             {"SpecialToken": {"id": bos, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
                    "special_tokens": {bos: {"id": bos, "ids": [tokens.index(bos)], "tokens": [bos]}}}
        elif fam == "falcon":
            pre_tokenizer = {"type": "Sequence", "pretokenizers": [
                {"type": "Punctuation", "behavior": "Contiguous"},
                bytelevel_node(False, True, True),
                {"type": "Digits", "individual_digits": False},
                split("[0-9][0-9][0-9]"),
            ]}
            post = None
        else:
            raise SystemExit("no tokenizer.json layout known for family %r" % fam)
    if merges_format == "pairs":
        merges_out = [[a, b] for a, b in merges]
    else:
        merges_out = ["%s %s" % (a, b) for a, b in merges]
    model["merges"] = merges_out
    added_tokens.sort(key=lambda a: a["id"])
    tj = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added_tokens,
          "normalizer": normalizer, "pre_tokenizer": pre_tokenizer, "post_processor": post,
          "decoder": decoder, "model": model}
    cfg = {"add_bos_token": add_bos, "add_eos_token": add_eos, "clean_up_tokenization_spaces": False,
           "model_max_length": 1000000000000000019884624838656,
           "tokenizer_class": "LlamaTokenizer" if spm else "PreTrainedTokenizerFast"}
    for k, v in (("bos_token", bos), ("eos_token", eos), ("unk_token", unk), ("pad_token", pad)):
        if v is not None:
            cfg[k] = v
    if spm:
        cfg["legacy"] = spm_style != "metaspace"
    return tj, cfg


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("gguf")
    ap.add_argument("out_dir")
    ap.add_argument("--family")
    ap.add_argument("--spm-style", choices=("normalizer", "metaspace"), default="normalizer")
    ap.add_argument("--merges", choices=("strings", "pairs"), default="strings")
    a = ap.parse_args()
    tj, cfg = convert(a.gguf, a.family, a.spm_style, a.merges)
    os.makedirs(a.out_dir, exist_ok=True)
    with open(os.path.join(a.out_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tj, f, ensure_ascii=False, indent=2)
    with open(os.path.join(a.out_dir, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, ensure_ascii=False, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
