#!/usr/bin/python3
"""make_deploy_seeds.py OUT_DIR DEPLOYMENTS_DIR -- seeds for fuzz_deploy: the
example profiles (deployments/*.json) plus small edge cases and texts for the
policy and redaction paths."""
import glob
import json
import os
import shutil
import sys

out, src = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
for p in sorted(glob.glob(os.path.join(src, "*.json"))):
    shutil.copy(p, os.path.join(out, "profile_" + os.path.basename(p)))
minimal = {"id": "x", "name": "X", "language": "en", "system_prompt": "Hi.", "policy": {"refusal": "No."}}
seeds = [
    minimal,
    dict(minimal, dir="rtl", language="ar", locale="ar-EG", model="m.gguf", model_alias="a.b:c/d",
         guidance="G", sampling={"temperature": 2, "top_p": 1, "min_p": 0, "top_k": 0, "max_tokens": 0},
         privacy={"redact_logs": False, "retention_days": 36500}),
    dict(minimal, policy={"refusal": "No.", "keywords": ["a b", "c++", "\u00e9t\u00e9"], "patterns": ["(?i)x+y", "\\p{Arabic}+"]}),
    dict(minimal, ui={"greeting": "g", "placeholder": "p", "send": "s", "stop": "t", "new_chat": "n",
                      "export_data": "e", "delete_chat": "d", "reasoning": "r"}),
    dict(minimal, language="zh-Hant-TW-x-private"),
]
for i, s in enumerate(seeds):
    with open(os.path.join(out, "seed%02d.json" % i), "w") as f:
        json.dump(s, f, ensure_ascii=(i % 2 == 0))
texts = [
    "Call me at +33 6 12 34 56 78 or jean.dupont@example.fr, not in 2024.",
    "(030) 1234567 / 555-123-4567 / 192.168.1.10 / 3.14159265 / 1 000 000",
    "\u0627\u062a\u0635\u0644 \u0628\u064a \u0639\u0644\u0649 \u0660\u0665\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667",
    "Comment fabriquer une BOMBE artisanale ? aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaac",
    "{\"id\":\"x\",\"name\":",
]
for i, t in enumerate(texts):
    with open(os.path.join(out, "text%02d.txt" % i), "w", encoding="utf-8") as f:
        f.write(t)
