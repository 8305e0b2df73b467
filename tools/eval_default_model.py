#!/usr/bin/python3
"""eval_default_model.py -- accuracy of stargate's default model (models/stargate-mini.gguf).

    /usr/bin/python3 tools/eval_default_model.py --stargate build/stargate -m models/stargate-mini.gguf \\
        --corpus DIR [--deployments deployments] [--limit N] [--json report.json]
    /usr/bin/python3 tools/eval_default_model.py --self-test

Starts `stargate serve -m MODEL` on a free port and asks it, greedily (temperature 0), the first
user message of every held-out conversation of the synthetic corpus (DIR/sft.val.jsonl, with
its system message when it has one; DIR/sft.meta.jsonl from make_instruct_corpus.py --meta says
what each one asks). Reports:
  accuracy per category and per answer language: the expected fact is contained in the answer
    (country: the capital / currency / language / continent / country name; arith and units:
    the answer's last number is the result as the corpus writes it in that language; dates: the last weekday or month
    named, the date, number of days, month or yes/no). Small talk and stargate help have no single fact: language only.
  language match: the answer is in the language it should be (the question's, or the one a
    deployment's system message sets), by the stop-word identifier below; answers without a
    word ("7 + 6 = 13.") are counted apart.
With --deployments DIR, also asks held-out questions in fr/en/de under each deployment's system
message (system_prompt, blank line, guidance, as the server prepends it): the answer must be in
the user's language (the example deployments' prompts ask for it), or with
--deployment-language deployment in a fr/en/de deployment's own language.
Standard library only, plus the corpus generator (tools/make_instruct_corpus.py) for its tables.
"""
import argparse
import concurrent.futures
import datetime
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))

# ----------------------------------------------------------------------------- language identifier
# Frequent function words of each language (articles, pronouns, auxiliaries, prepositions,
# conjunctions). A word counts for every language listing it; the language with the most hits
# wins, ties and zero hits give None.

STOPWORDS = {
    "fr": """le la les l un une des du de d au aux et ou mais donc est sont était être a ai as avons ont avez
        je tu il elle on nous vous ils elles me te se lui leur ce cet cette ces c qu que qui quoi quel quelle
        quels quelles dont où ne pas plus très bien dans sur sous avec pour par en y fait font comme aussi
        oui non merci bonjour salut mon ton son ma ta sa mes tes ses notre votre nos vos jours jour mois
        année capitale monnaie langue parle résultat réponse cela ça environ entre après avant été""",
    "en": """the a an and or but so is are was were be been being am has have had do does did i you he she
        it we they me him her us them my your his its our their this that these those what which who whom
        where when why how not no yes very well in on at of to from by with for about as into than then
        there here hello thanks thank please capital currency language result answer days day month year
        between after before is it's that's speak people""",
    "de": """der die das den dem des ein eine einen einem einer eines und oder aber doch ist sind war waren
        sein bin bist hat haben habe hast wird werden ich du er sie es wir ihr mich dich sich mir dir uns
        euch mein dein sein ihr unser euer dies diese dieser dieses was welche welcher welches wer wo wann
        warum wie nicht kein keine ja nein sehr gut in im an am auf aus bei mit nach von vom zu zum zur für
        über unter um als auch noch hallo danke bitte hauptstadt währung sprache ergebnis antwort tage tag
        monat jahr zwischen spricht man etwa gibt""",
}
STOPWORDS = {l: set(w.split()) for l, w in STOPWORDS.items()}
WORD_RE = re.compile(r"[a-zàâäçéèêëîïôöûùüÿœæß]+(?:'[a-zàâäçéèêëîïôöûùüÿœæß]+)?")


def detect_lang(text):
    """'fr', 'en', 'de' or None (no function word, or a tie)."""
    text = re.sub(r"`[^`]*`", " ", text.lower())            # commands and code are not language
    words = []
    for w in WORD_RE.findall(text.replace("’", "'")):
        words.extend(w.split("'") if "'" in w and not w.endswith("'s") else [w])
    score = {l: sum(w in STOPWORDS[l] for w in words) for l in STOPWORDS}
    best = max(score.values())
    winners = [l for l, s in score.items() if s == best]
    return winners[0] if best > 0 and len(winners) == 1 else None


SELF_TEST = [
    ("fr", "La capitale de l'Allemagne est Berlin."),
    ("fr", "Bonjour ! Je suis l'assistant de stargate, que puis-je faire pour vous ?"),
    ("fr", "Il y a 31 jours entre le 3 mars et le 3 avril."),
    ("fr", "Cela fait environ 12,5 kilomètres."),
    ("en", "The capital of Germany is Berlin."),
    ("en", "Hello! I am stargate's assistant, how can I help you?"),
    ("en", "There are 31 days between March 3 and April 3."),
    ("en", "That is about 12.5 miles."),
    ("de", "Die Hauptstadt von Frankreich ist Paris."),
    ("de", "Hallo! Ich bin der Assistent von stargate, wie kann ich dir helfen?"),
    ("de", "Zwischen dem 3. März und dem 3. April liegen 31 Tage."),
    ("de", "Das sind etwa 12,5 Kilometer."),
    ("de", "Die Währung der Schweiz ist der Schweizer Franken."),
    ("fr", "En Suisse, on parle l'allemand, le français, l'italien et le romanche."),
    ("en", "People in Switzerland speak German, French, Italian and Romansh."),
    (None, "7 + 6 = 13."),
    (None, "Berlin."),
]


def self_test():
    days = ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"]
    fact_test = [  # (answer, fact, contains it)
        ("Dann ist Donnerstag.", LastOf("Donnerstag", days), True),
        ("3 Tage nach Montag ist Donnerstag.", LastOf("Donnerstag", days), True),
        ("3 Tage nach Donnerstag ist Montag.", LastOf("Donnerstag", days), False),
        ("Montag.", LastOf("Donnerstag", days), False),
        ("7 × 1 = 7.", LastNumber("7"), True),
        ("7 × 1 = 1.", LastNumber("7"), False),
        ("Das sind etwa 3,11 Meilen.", LastNumber("3,11"), True),
        ("Das sind etwa 13,11 Meilen.", LastNumber("3,11"), False),
        ("La capitale de l'Allemagne est Berlin.", "Berlin", True),
        ("La capitale est Berlingo.", "Berlin", False),
        ("Non, 2025 n'est pas bissextile.", "non", True),
        ("Oui, et non.", "non", False),
    ]
    bad = [(want, s, detect_lang(s)) for want, s in SELF_TEST if detect_lang(s) != want]
    for want, s, got in bad:
        print("FAIL: {!r}: {} instead of {}".format(s, got, want))
    fbad = [(a, f, want) for a, f, want in fact_test if contains_fact(a, f) != want]
    for a, f, want in fbad:
        print("FAIL: fact {!r} in {!r} should be {}".format(str(f), a, want))
    if not bad and not fbad:
        print("language identifier ok: {} sentences; fact checks ok: {} cases".format(len(SELF_TEST), len(fact_test)))
    return 1 if bad or fbad else 0


# ----------------------------------------------------------------------------- the server

class Server:
    """`stargate serve -m MODEL` on a free port (--port 0 --port-file), stopped with SIGTERM."""

    def __init__(self, stargate, model, threads=2, parallel=8, ctx=1024, log=None):
        self.tmp = tempfile.mkdtemp(prefix="sg_eval_")
        pf = os.path.join(self.tmp, "port")
        self.log = open(log or os.path.join(self.tmp, "serve.log"), "w")
        self.proc = subprocess.Popen([stargate, "serve", "-m", model, "--port", "0", "--port-file", pf,
                                      "--threads", str(threads), "--parallel", str(parallel), "--ctx", str(ctx),
                                      "--quiet"], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while not (os.path.exists(pf) and open(pf).read().strip()):
            if self.proc.poll() is not None or time.time() > deadline:
                self.stop()
                raise RuntimeError("stargate serve did not start (see {})".format(self.log.name))
            time.sleep(0.05)
        self.base = "http://127.0.0.1:{}".format(int(open(pf).read().strip()))

    def chat(self, messages, max_tokens=64):
        body = json.dumps({"messages": messages, "temperature": 0, "max_tokens": max_tokens}).encode("utf-8")
        req = urllib.request.Request(self.base + "/v1/chat/completions", data=body,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=300) as r:
            return json.loads(r.read().decode("utf-8"))["choices"][0]["message"]["content"]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


# ----------------------------------------------------------------------------- expected facts

def load_generator():
    spec = importlib.util.spec_from_file_location("make_instruct_corpus", os.path.join(HERE, "make_instruct_corpus.py"))
    mic = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mic)
    return mic


ARTICLES = ("l'", "le ", "la ", "les ", "the ", "der ", "die ", "das ")
NUM_RE = re.compile(r"-?\d+(?:[ .,]\d{3})*(?:[.,]\d+)?")


def strip_article(s):
    for a in ARTICLES:
        if s.startswith(a):
            return s[len(a):]
    return s


def norm(s):
    return " ".join(s.replace("’", "'").replace("\u202f", " ").replace("\u00a0", " ").lower().split())


def expected_facts(mic, turn, reference):
    """The strings a correct answer contains (all of them; a tuple: one of its strings), or None when
    the turn has no single fact."""
    cat, intent, data, al = turn["cat"], turn["intent"], turn["data"], turn["alang"]
    if cat == "country":
        c = next(x for x in mic.COUNTRIES if x.code == data["country"])
        if intent in ("capital", "about"):
            return [c.capital[al]]
        if intent == "capital_of":       # German inflects: "im Vereinigten Königreich"
            return [(c.bare[al], c.inn[al].split(" ", 1)[1]) if al == "de" else c.bare[al]]
        if intent == "currency":
            return [strip_article(c.currency(al))]
        if intent == "language":
            return [strip_article(mic.LANGUAGES[x][mic.LANGS.index(al)]) for x in c.langs]
        if intent == "continent":        # "en Europe" / "in Europe": the continent's name
            return [c.continent(al).split(" ", 1)[1]]
        return None
    if cat in ("arith", "units"):        # the result: the last number of the answer
        nums = NUM_RE.findall(reference)
        return [LastNumber(nums[-1].rstrip(".,"))] if nums else None
    if cat == "dates":
        if intent == "weekday_after":    # the last weekday named ("Lundi plus 3 jours : jeudi.")
            return [LastOf(mic.WEEKDAYS[al][data["result"]], mic.WEEKDAYS[al])]
        if intent == "next_month":
            return [LastOf(mic.MONTHS[al][data["result"] - 1], mic.MONTHS[al])]
        if intent == "to_numeric":
            return [mic.DATE_STYLES[data["style"]](datetime.date.fromisoformat(data["date"]))]
        if intent == "to_long":
            return [mic.long_date(datetime.date.fromisoformat(data["date"]), al)]
        if intent == "month_days":
            return [str(data["n"])]
        if intent == "leap":
            return [{"fr": ("oui", "non"), "en": ("yes", "no"), "de": ("ja", "nein")}[al][0 if data["leap"] else 1]]
        if intent == "nth_month":
            return [mic.MONTHS[al][data["month"] - 1]]
        return None
    return None


class LastNumber(str):
    """A fact that must be the answer's last number ("7 × 1 = 1." does not answer 7)."""


class LastOf(str):
    """A fact that must be the last of `names` the answer names ("Montag plus 3 Tage: Montag,
    Dienstag, Donnerstag" does not answer Donnerstag)."""
    def __new__(cls, want, names):
        obj = str.__new__(cls, want)
        obj.names = list(names)
        return obj


def contains_fact(answer, fact):
    """fact: a string, a LastNumber, a LastOf, or a tuple of acceptable strings."""
    if isinstance(fact, LastOf):
        a, last = norm(answer), None
        for name in fact.names:
            for m in re.finditer(r"(?<!\w)" + re.escape(norm(name)) + r"(?!\w)", a):
                if last is None or m.end() > last[0]:
                    last = (m.end(), name)
        return last is not None and last[1] == str(fact)
    if isinstance(fact, tuple):
        return any(contains_fact(answer, f) for f in fact)
    if isinstance(fact, LastNumber):
        nums = NUM_RE.findall(norm(answer))
        return bool(nums) and nums[-1].rstrip(".,") == norm(fact)
    a, f = norm(answer), norm(fact)
    if re.fullmatch(NUM_RE, f):                  # a number: not inside a longer one
        return re.search(r"(?<![\d.,])" + re.escape(f) + r"(?![\d]|[.,]\d)", a) is not None
    if f in ("oui", "non", "yes", "no", "ja", "nein"):
        return re.match(r"\W*" + f + r"\b", a) is not None
    return re.search(r"(?<!\w)" + re.escape(f) + r"(?!\w)", a) is not None


# ----------------------------------------------------------------------------- evaluation

def held_out(corpus):
    """[(messages up to the first user message, first turn meta, reference answer)]."""
    val = open(os.path.join(corpus, "sft.val.jsonl"), encoding="utf-8").read().splitlines()
    metas = [json.loads(l) for l in open(os.path.join(corpus, "sft.meta.jsonl"), encoding="utf-8")]
    metas = [m for m in metas if m["split"] == "val"]
    if len(metas) != len(val):
        raise SystemExit("{}: sft.meta.jsonl does not match sft.val.jsonl".format(corpus))
    out = []
    for line, m in zip(val, metas):
        msgs = json.loads(line)["messages"]
        k = next(i for i, x in enumerate(msgs) if x["role"] == "user")
        out.append((msgs[:k + 1], m["turns"][0], msgs[k + 1]["content"], m["system"]))
    return out


def pct(a, b):
    return round(100.0 * a / b, 1) if b else None


def evaluate(server, mic, items, workers):
    with concurrent.futures.ThreadPoolExecutor(workers) as ex:
        answers = list(ex.map(lambda it: server.chat(it[0]), items))
    rows = []
    for (msgs, turn, ref, system), ans in zip(items, answers):
        facts = expected_facts(mic, turn, ref)
        got = detect_lang(ans)
        rows.append({"question": msgs[-1]["content"], "system": msgs[0]["content"][:60] if msgs[0]["role"] == "system" else None,
                     "deployment": (system or {}).get("deployment"), "cat": turn["cat"], "intent": turn["intent"],
                     "qlang": turn["qlang"], "alang": turn["alang"], "answer": ans, "reference": ref, "facts": facts,
                     "correct": None if facts is None else all(contains_fact(ans, f) for f in facts),
                     "lang": got, "lang_ok": None if got is None else got == turn["alang"]})
    return rows


def summarize(rows):
    s = {"n": len(rows), "accuracy": {}, "language_match": {}}
    fact = [r for r in rows if r["correct"] is not None]
    s["accuracy"]["all"] = {"n": len(fact), "correct": sum(r["correct"] for r in fact),
                            "pct": pct(sum(r["correct"] for r in fact), len(fact))}
    for key in ("cat", "alang"):
        for v in sorted({r[key] for r in fact}):
            sub = [r for r in fact if r[key] == v]
            s["accuracy"][v] = {"n": len(sub), "correct": sum(r["correct"] for r in sub),
                                "pct": pct(sum(r["correct"] for r in sub), len(sub))}
    for c in sorted({r["cat"] for r in fact}):
        for l in ("fr", "en", "de"):
            sub = [r for r in fact if r["cat"] == c and r["alang"] == l]
            if sub:
                s["accuracy"][c + "." + l] = {"n": len(sub), "pct": pct(sum(r["correct"] for r in sub), len(sub))}
    for ci in sorted({(r["cat"], r["intent"]) for r in fact}):
        sub = [r for r in fact if (r["cat"], r["intent"]) == ci]
        s["accuracy"][".".join(ci)] = {"n": len(sub), "pct": pct(sum(r["correct"] for r in sub), len(sub))}
    det = [r for r in rows if r["lang_ok"] is not None]
    s["language_match"]["all"] = {"n": len(det), "ok": sum(r["lang_ok"] for r in det),
                                  "pct": pct(sum(r["lang_ok"] for r in det), len(det)),
                                  "undetected": len(rows) - len(det)}
    for l in ("fr", "en", "de"):
        sub = [r for r in det if r["alang"] == l]
        s["language_match"][l] = {"n": len(sub), "pct": pct(sum(r["lang_ok"] for r in sub), len(sub))}
    cross = [r for r in det if r["alang"] != r["qlang"]]
    s["language_match"]["forced_other_language"] = {"n": len(cross), "pct": pct(sum(r["lang_ok"] for r in cross), len(cross))}
    return s


def deployment_check(server, mic, items, ddir, per_lang, workers, rule="user"):
    """Each deployment's system message before held-out questions in fr/en/de (no system message of
    their own): the answer language must be the question's (rule "user", what the example
    deployments ask), or with rule "deployment" the deployment's (fr/en/de; others: the question's)."""
    deps = mic.load_system_prompts(ddir)
    picked = {}
    for msgs, turn, ref, system in items:
        if msgs[0]["role"] != "system" and turn["cat"] in ("country", "arith", "units", "dates", "smalltalk"):
            picked.setdefault(turn["qlang"], [])
            if len(picked[turn["qlang"]]) < per_lang:
                picked[turn["qlang"]].append((msgs[-1]["content"], turn))
    out = {}
    for dep_id, dep_lang, text in deps:
        want_forced = dep_lang if dep_lang in mic.LANGS and rule == "deployment" else None
        jobs = []
        for ql in mic.LANGS:
            for q, turn in picked.get(ql, []):
                t = dict(turn, alang=want_forced or ql)
                jobs.append(([{"role": "system", "content": text}, {"role": "user", "content": q}], t))
        with concurrent.futures.ThreadPoolExecutor(workers) as ex:
            answers = list(ex.map(lambda j: server.chat(j[0]), jobs))
        res = {"language": dep_lang, "by_question_lang": {}, "examples": []}
        for ql in mic.LANGS:
            sub = [(j, a) for j, a in zip(jobs, answers) if j[1]["qlang"] == ql]
            det = [(j, a) for j, a in sub if detect_lang(a) is not None]
            ok = sum(detect_lang(a) == j[1]["alang"] for j, a in det)
            res["by_question_lang"][ql] = {"n": len(det), "pct": pct(ok, len(det)), "expected": want_forced or ql}
            res["examples"].extend({"q": j[0][1]["content"], "a": a} for j, a in sub[:2])
        out[dep_id] = res
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--self-test", action="store_true", help="check the language identifier and exit")
    ap.add_argument("--stargate", default=os.path.join(os.path.dirname(HERE), "build", "stargate"))
    ap.add_argument("-m", "--model", default=os.path.join(os.path.dirname(HERE), "models", "stargate-mini.gguf"))
    ap.add_argument("--corpus", help="make_instruct_corpus.py --meta output (sft.val.jsonl, sft.meta.jsonl)")
    ap.add_argument("--deployments", help="deployment profiles (*.json) to check the answer language under")
    ap.add_argument("--deployment-language", choices=("user", "deployment"), default="user",
                    help="the language rule the model was taught (make_instruct_corpus.py --deployment-language)")
    ap.add_argument("--per-lang", type=int, default=20, help="questions per language and deployment (20)")
    ap.add_argument("--limit", type=int, default=0, help="only the first N held-out conversations")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--parallel", type=int, default=8)
    ap.add_argument("--json", help="write the report (summary and every answer) here")
    args = ap.parse_args(argv)
    if args.self_test:
        return self_test()
    if not args.corpus:
        ap.error("--corpus is required")
    mic = load_generator()
    items = held_out(args.corpus)
    if args.limit:
        items = items[:args.limit]
    t0 = time.time()
    with Server(args.stargate, args.model, args.threads, args.parallel) as srv:
        rows = evaluate(srv, mic, items, args.parallel)
        deps = deployment_check(srv, mic, held_out(args.corpus), args.deployments, args.per_lang, args.parallel,
                                args.deployment_language) \
            if args.deployments else None
    summary = summarize(rows)
    summary["seconds"] = round(time.time() - t0, 1)
    if deps is not None:
        summary["deployments"] = {k: {"language": v["language"], "by_question_lang": v["by_question_lang"]}
                                  for k, v in deps.items()}
    print(json.dumps(summary, ensure_ascii=False, indent=1))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"summary": summary, "rows": rows, "deployments": deps}, f, ensure_ascii=False, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
