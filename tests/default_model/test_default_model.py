#!/usr/bin/python3
"""test_default_model.py -- the committed default model answers in the language asked, with facts.

    test_default_model.py --stargate BUILD/stargate [--model models/stargate-mini.gguf]
                          [--deployments deployments]

Serves the model with this build's `stargate serve` and asks, greedily: the questions of the
issue (French, German), held-out questions of the synthetic corpus (their question text is not
in the training conversations), and questions under the deployments' system messages. Checks
the answer language with the stop-word identifier of tools/eval_default_model.py (itself
checked first on known sentences) and that each answer contains the expected fact (ground
truth: the corpus generator's tables and arithmetic, not recorded outputs). Exit 0 on success,
1 with the failures listed, 77 when the model file is absent.
"""
import argparse
import concurrent.futures
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def load(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, "tools", name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# (question, language of the answer, facts the answer contains). The first two are the issue's
# (the model is too small to know these capitals: language only); the others are first
# questions of held-out conversations (sft.val.jsonl of corpus seed 1, not in sft.jsonl) whose
# facts this model gets right. Facts are ground truth, not recorded outputs; a LastNumber must
# be the answer's last number.
def questions(ev):
    return [
        ("Quelle est la capitale de l'Allemagne ?", "fr", []),
        ("Was ist die Hauptstadt von Frankreich?", "de", []),
        ("Currency of Belgium?", "en", ["euro"]),
        ("Do you know the currency of Germany?", "en", ["euro"]),
        ("Combien de fois 11 dans 66 ?", "fr", [ev.LastNumber("6")]),
        ("Combien font 6 fois 0 ?", "fr", [ev.LastNumber("0")]),
        ("Wie viel ist 6 - 3?", "de", [ev.LastNumber("3")]),
    ]


# (deployment id, question, language of the answer): the example deployments' prompts ask for
# the user's language, and the model was taught so (make_instruct_corpus.py --deployment-language
# user): a French question to the German deployment gets a French answer, and so on.
DEPLOYMENT_QUESTIONS = [
    ("fr", "What is the capital of Italy?", "en", []),
    ("fr", "Quelle est la capitale de l'Italie ?", "fr", []),
    ("de", "Quelle est la capitale de l'Espagne ?", "fr", []),
    ("de", "Was ist die Hauptstadt von Spanien?", "de", []),
    ("en", "Was ist die Hauptstadt von Polen?", "de", []),
    ("ar", "Currency of Belgium?", "en", ["euro"]),
    ("ar", "Quelle est la monnaie de la Belgique ?", "fr", []),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stargate", required=True)
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "stargate-mini.gguf"))
    ap.add_argument("--deployments", default=os.path.join(ROOT, "deployments"))
    args = ap.parse_args()
    if not os.path.isfile(args.model):
        print("SKIP: no model at " + args.model)
        return 77
    ev = load("eval_default_model")
    fails = []
    if ev.self_test() != 0:
        fails.append("language identifier self-test")
    jobs = [([{"role": "user", "content": q}], lang, facts, q) for q, lang, facts in questions(ev)]
    if os.path.isdir(args.deployments):
        mic = load("make_instruct_corpus")
        system = {i: m for i, _, m in mic.load_system_prompts(args.deployments)}
        for dep, q, lang, facts in DEPLOYMENT_QUESTIONS:
            if dep in system:
                jobs.append(([{"role": "system", "content": system[dep]}, {"role": "user", "content": q}], lang, facts,
                             "[{}] {}".format(dep, q)))
            else:
                fails.append("no deployment " + dep)
    with ev.Server(args.stargate, args.model, threads=2, parallel=4) as srv:
        with concurrent.futures.ThreadPoolExecutor(4) as ex:
            answers = list(ex.map(lambda j: srv.chat(j[0], max_tokens=48), jobs))
    for (msgs, lang, facts, label), ans in zip(jobs, answers):
        got = ev.detect_lang(ans)
        ok = got == lang and all(ev.contains_fact(ans, f) for f in facts)
        print("{} {!r} -> {!r} ({})".format("ok  " if ok else "FAIL", label, ans, got))
        if not ok:
            fails.append("{!r}: {!r} (language {}, want {}, facts {})".format(label, ans, got, lang, facts))
    for f in fails:
        print("FAIL:", f)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
