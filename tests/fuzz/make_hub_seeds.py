#!/usr/bin/python3
"""make_hub_seeds.py OUT_DIR -- seeds for fuzz_hub_json: hub file listings
(tree API pages, the model API's siblings) and safetensors shard indexes."""
import json
import os
import sys

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
sha = "a" * 64
seeds = [
    [{"type": "file", "oid": "b" * 40, "size": 120, "path": "config.json"},
     {"type": "file", "oid": "c" * 40, "size": 4096, "path": "model.safetensors",
      "lfs": {"oid": sha, "size": 4096, "pointerSize": 134}},
     {"type": "directory", "oid": "0" * 40, "size": 0, "path": "onnx"},
     {"type": "file", "oid": "d" * 40, "size": 9, "path": "onnx/model.onnx"}],
    [{"type": "file", "path": "../escape", "size": 1}],
    [{"type": "file", "path": "x.gguf", "size": 1e300, "lfs": {"oid": "sha256:" + sha, "size": 1}}],
    {"id": "o/n", "sha": "e" * 40, "siblings": [{"rfilename": "a.gguf"}, {"rfilename": "README.md", "size": 3,
                                                   "lfs": {"sha256": sha, "size": 3}}]},
    {"metadata": {"total_size": 10}, "weight_map": {"a.weight": "model-00001-of-00002.safetensors",
                                                    "b.weight": "model-00002-of-00002.safetensors"}},
    {"weight_map": {"a": "/abs"}},
    [],
]
for i, s in enumerate(seeds):
    with open(os.path.join(out, "seed%02d.json" % i), "w") as f:
        json.dump(s, f)
with open(os.path.join(out, "etag.txt"), "w") as f:
    f.write('W/"%s"' % sha)
