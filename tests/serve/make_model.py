"""make_model.py -- a tiny random Qwen2 model with a usable byte-level vocabulary.

tools/gen_model.py names its tokens "<tN>", so text tokenizes to nothing.
The server tests need chat prompts that become tokens, so this wraps
gen_model: ids 0..255 are the GPT-2 byte-to-unicode characters (every byte
string encodes, one token per byte, no merges), then the ChatML control
tokens <|endoftext|>, <|im_start|>, <|im_end|> (EOS); the rest keep "<tN>".

    make_model.py OUT.gguf [--seed N] [--reasoning]
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))

import gguf_writer  # noqa: E402


def byte_chars():
    # GPT-2's reversible byte -> printable unicode mapping
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\xa1"), ord("\xac") + 1)) + \
        list(range(ord("\xae"), ord("\xff") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    m = dict(zip(bs, cs))
    return [chr(m[b]) for b in range(256)]


def main():
    out = sys.argv[1]
    seed = "1"
    if "--seed" in sys.argv:
        seed = sys.argv[sys.argv.index("--seed") + 1]
    reasoning = "--reasoning" in sys.argv
    vocab = 301
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"]
    toks = byte_chars() + specials
    toks += ["<t%d>" % i for i in range(len(toks), vocab)]
    types = [1] * 256 + [3, 3, 3, 4, 4] + [1] * (vocab - 256 - len(specials))
    orig_add_array = gguf_writer.GGUFWriter.add_array
    orig_add_string = gguf_writer.GGUFWriter.add_string

    def add_array(self, key, values, elem_type):
        if key == "tokenizer.ggml.tokens":
            values = toks
        elif key == "tokenizer.ggml.token_type":
            values = types
            self.add_uint32("tokenizer.ggml.eos_token_id", 258)
            self.add_uint32("tokenizer.ggml.bos_token_id", 256)
            self.add_bool("tokenizer.ggml.add_bos_token", False)
        return orig_add_array(self, key, values, elem_type)

    def add_string(self, key, v):
        if key == "tokenizer.chat_template" and reasoning:
            # a reasoning model's template: the answer opens inside <think>
            v = ("{%- for m in messages %}{{- '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}"
                 "{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n<think>\\n' }}{%- endif %}")
        return orig_add_string(self, key, v)

    gguf_writer.GGUFWriter.add_array = add_array
    gguf_writer.GGUFWriter.add_string = add_string
    import gen_model
    sys.argv = ["gen_model.py", "--quiet", "--arch", "qwen2", "--hidden", "64", "--layers", "2", "--heads", "4",
                "--kv-heads", "2", "--ff", "128", "--vocab", str(vocab), "--ctx", "512", "--seed", seed,
                "--format", "gguf", "--dtype", "f32", "--out", out]
    gen_model.main()


if __name__ == "__main__":
    main()
