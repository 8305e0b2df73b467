#!/usr/bin/env python3
"""run_conformance.py -- chat templates: stargate vs Python's Jinja2, byte for byte.

For every template in TEMPLATES (the real ones under shared/fixtures/templates)
and every conversation in tests/chat/conversations/*.json, with and without
the generation prompt, render the prompt twice:

  expected  tools/render_template.py's render() (Jinja2 as transformers uses it)
  actual    `stargate template --template T --messages CONV --bos B --eos E [--add-generation-prompt]`

and require identical bytes. When Jinja2 raises, stargate must fail too, and
when the template raised the error itself (raise_exception) stargate's
message must contain the template's message. strftime_now is pinned with
SG_TEMPLATE_NOW on both sides.

Exit status: 0 all pairs agree, 1 some differ, 77 (skipped) when the
templates folder or Python's jinja2 is missing.
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools"))

# bos_token / eos_token each model's tokenizer_config.json declares.
SPECIAL = {
    "Qwen-Qwen2.5-7B-Instruct.jinja": ("", "<|im_end|>"),
    "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja": ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
    "meta-llama-Llama-3.1-8B-Instruct.jinja": ("<|begin_of_text|>", "<|eot_id|>"),
    "meta-llama-Llama-3.2-3B-Instruct.jinja": ("<|begin_of_text|>", "<|eot_id|>"),
    "google-gemma-2-2b-it.jinja": ("<bos>", "<eos>"),
    "microsoft-Phi-3.5-mini-instruct.jinja": ("<s>", "<|endoftext|>"),
    "NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja": ("<|begin_of_text|>", "<|im_end|>"),
    "CohereForAI-c4ai-command-r-plus-tool_use.jinja": ("<BOS_TOKEN>", "<|END_OF_TURN_TOKEN|>"),
    "meetkai-functionary-medium-v3.1.jinja": ("<|begin_of_text|>", "<|eot_id|>"),
}
PINNED_NOW = "1722000000"  # 26 Jul 2024, for strftime_now


def context_for(conv, agp, bos, eos):
    """What sg_chat_context builds: the messages plus the extra variables."""
    ctx = {"messages": conv} if isinstance(conv, list) else dict(conv)
    ctx["add_generation_prompt"] = agp
    ctx["bos_token"] = bos
    ctx["eos_token"] = eos
    return ctx


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stargate", required=True)
    ap.add_argument("--templates", required=True)
    ap.add_argument("--conversations", default=os.path.join(HERE, "conversations"))
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    if not os.path.isdir(args.templates):
        print("SKIP: no templates folder at %s" % args.templates)
        return 77
    try:
        import jinja2  # noqa: F401
        import render_template
    except ImportError as e:
        print("SKIP: python jinja2 not available (%s)" % e)
        return 77
    os.environ["SG_TEMPLATE_NOW"] = PINNED_NOW
    templates = sorted(f for f in os.listdir(args.templates) if f.endswith(".jinja"))
    convs = sorted(f for f in os.listdir(args.conversations) if f.endswith(".json"))
    failures = 0
    total_pairs = 0
    for tname in templates:
        with open(os.path.join(args.templates, tname), encoding="utf-8") as f:
            source = f.read()
        bos, eos = SPECIAL.get(tname, ("<s>", "</s>"))
        ok = errors_both = 0
        n = 0
        for cname in convs:
            cpath = os.path.join(args.conversations, cname)
            with open(cpath, encoding="utf-8") as f:
                conv = json.load(f)
            for agp in (False, True):
                n += 1
                label = "%s x %s%s" % (tname, cname, " +gen" if agp else "")
                try:
                    expected = render_template.render(source, context_for(conv, agp, bos, eos)).encode("utf-8")
                    py_err = None
                except Exception as e:
                    expected, py_err = None, e
                cmd = [args.stargate, "template", "--template", os.path.join(args.templates, tname),
                       "--messages", cpath, "--bos", bos, "--eos", eos]
                if agp:
                    cmd.append("--add-generation-prompt")
                p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
                c_err = p.stderr.decode("utf-8", "replace").strip()
                if py_err is None:
                    if p.returncode == 0 and p.stdout == expected:
                        ok += 1
                        continue
                    failures += 1
                    print("MISMATCH %s" % label)
                    if p.returncode:
                        print("  stargate failed: %s" % c_err)
                    else:
                        exp, got = expected.decode("utf-8", "replace"), p.stdout.decode("utf-8", "replace")
                        i = next((k for k in range(min(len(exp), len(got))) if exp[k] != got[k]), min(len(exp), len(got)))
                        print("  first difference at char %d:\n  expected %r\n  got      %r" % (i, exp[max(0, i - 40):i + 60], got[max(0, i - 40):i + 60]))
                    continue
                # Jinja2 raised: stargate must fail too, with the template's own message when it raised one
                msg = str(py_err)
                own = isinstance(py_err, __import__("jinja2").exceptions.TemplateError) and type(py_err).__name__ == "TemplateError"
                if p.returncode != 0 and (not own or msg in c_err):
                    ok += 1
                    errors_both += 1
                    if args.verbose:
                        print("both fail %s: python %r / stargate %r" % (label, msg, c_err))
                    continue
                failures += 1
                print("MISMATCH %s: Jinja2 raised %s(%r) but stargate %s" % (
                    label, type(py_err).__name__, msg, "said %r" % c_err if p.returncode else "rendered"))
        total_pairs += n
        print("%-52s %3d/%d pairs match (%d of them fail on both sides)" % (tname, ok, n, errors_both))
    print("%d templates x %d conversations x 2: %d pairs, %d mismatches" % (len(templates), len(convs), total_pairs, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
