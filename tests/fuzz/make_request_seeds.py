#!/usr/bin/env python3
"""make_request_seeds.py OUTDIR -- seed corpus for fuzz_request.

Each seed is one byte (0: chat, 1: completions) followed by a request body:
valid requests using every field, and a few broken ones. Standard library only.
"""
import json
import os
import sys

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
chat = [
    {"model": "m", "messages": [{"role": "user", "content": "hi"}]},
    {"model": "m", "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": [
        {"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}], "temperature": 0.7, "top_p": 0.9,
     "max_tokens": 16, "max_completion_tokens": 8, "stop": ["x", "yy"], "seed": 4, "n": 1, "stream": True,
     "stream_options": {"include_usage": True}, "logprobs": True, "top_logprobs": 3, "presence_penalty": 0.5,
     "frequency_penalty": -0.5, "logit_bias": {"1": -100, "2": 5}, "response_format": {"type": "json_object"},
     "user": "u", "top_k": 5, "min_p": 0.05, "repetition_penalty": 1.1},
    {"messages": [{"role": "assistant", "content": None}, {"role": "tool", "content": "r"}], "stop": "z"},
]
cmpl = [
    {"prompt": "hello", "max_tokens": 4, "logprobs": 2, "echo": False},
    {"prompt": [1, 2, 3], "stream": True},
    {"prompt": ["one"], "best_of": 1, "n": 1},
]
broken = ['{"messages": [', '[]', '{"messages": "x"}', '{"prompt": [1.5]}', '{"messages":[{"role":"user","content":"\\u0000"}]}',
          '{"logit_bias": {"x": 1}, "messages": []}', '[' * 80 + ']' * 80]
k = 0
for b in chat:
    open(os.path.join(out, "seed%02d" % k), "wb").write(b"\0" + json.dumps(b).encode())
    k += 1
for b in cmpl:
    open(os.path.join(out, "seed%02d" % k), "wb").write(b"\1" + json.dumps(b).encode())
    k += 1
for b in broken:
    open(os.path.join(out, "seed%02d" % k), "wb").write(bytes([k & 1]) + b.encode())
    k += 1
