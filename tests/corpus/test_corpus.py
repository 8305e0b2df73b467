#!/usr/bin/python3
"""test_corpus.py -- checks tools/make_instruct_corpus.py (the default model's data).

    test_corpus.py [--tool tools/make_instruct_corpus.py] [--work DIR]

Generates a small corpus twice with one seed and once with another, then checks:
determinism (byte-identical files for one seed), valid JSON lines with the right roles, the
three languages present and each answer in the expected language (detected with marker words
written here, not taken from the generator), arithmetic, unit and date answers recomputed
here by parsing the text back, and country facts against a table written here in the three
languages. Standard library only; exit 0 on success, 1 with the failures listed.
"""
import argparse
import calendar
import datetime
import importlib.util
import json
import os
import random
import re
import shutil
import subprocess
import tempfile
import sys
from decimal import Decimal

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FAIL = []


def check(cond, msg):
    if not cond:
        FAIL.append(msg)
    return cond


# ----------------------------------------------------------------------------- language detection

MARKERS = {
    "fr": set("le la les est de du des et un une font il y c pour avec dans sur au aux vous je ne pas sa se qu ce "
              "jours cela fait résultat réponse utilisez lancez parle monnaie capitale trouve oui non bonjour merci "
              "tombe écrit donne correspond correspondent compte bissextile mois année numéro quel quelle combien bonne journée bientôt".split()),
    "en": set("the is of and an to it that are there you with for its people currency capital days this result "
              "answer use run yes no hello thanks which what how falls written gives equals makes speak located "
              "uses leap year month number am default small model have nice day glad my pleasure great bye".split()),
    "de": set("der die das ist und von ein eine nicht mit für zu sind es man den dem ich du tage ergebnis antwort "
              "nutze starte hauptstadt währung spricht liegt ja nein hallo danke fällt geschrieben schreibt ergibt "
              "macht entspricht entsprechen schaltjahr monat nummer gibt welcher welche wie einen schönen tag noch tschüss bis bald komm gerne keine ursache sonst bitte gern "
              "geschehen befindet sich".split()),
}


def detect(text):
    text = re.sub(r"`[^`]*`", " ", text)
    words = re.findall(r"[a-zäöüßàâçéèêëîïôûùœ]+", text.lower())
    score = {l: sum(w in MARKERS[l] for w in words) for l in MARKERS}
    best = max(score.values())
    if best == 0:
        return None
    winners = [l for l in score if score[l] == best]
    return winners[0] if len(winners) == 1 else None


# ----------------------------------------------------------------------------- numbers and dates, parsed back

NUM_RE = {
    "fr": r"-?\d{1,3}(?: \d{3})+(?:,\d+)?|-?\d+(?:,\d+)?",
    "en": r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|-?\d+(?:\.\d+)?",
    "de": r"-?\d{1,3}(?:\.\d{3})+(?:,\d+)?|-?\d+(?:,\d+)?",
}


def to_dec(s, lang):
    if lang == "fr":
        s = s.replace(" ", "").replace(",", ".")
    elif lang == "en":
        s = s.replace(",", "")
    else:
        s = s.replace(".", "").replace(",", ".")
    return Decimal(s)


def numbers(text, lang):
    text = re.sub(r"`[^`]*`", " ", text)
    return [to_dec(m, lang) for m in re.findall(NUM_RE[lang], text)]


MONTHS = {
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split(),
    "en": "January February March April May June July August September October November December".split(),
    "de": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember".split(),
}
DAYS = {
    "fr": "lundi mardi mercredi jeudi vendredi samedi dimanche".split(),
    "en": "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split(),
    "de": "Montag Dienstag Mittwoch Donnerstag Freitag Samstag Sonntag".split(),
}


def long_dates(text, lang):
    text = text[:1].upper() + text[1:] if lang == "en" else text   # a user may type "november 2, 2024"
    ms = "|".join(MONTHS[lang])
    out = []
    if lang == "fr":
        for d, m, y in re.findall(r"\b(1er|\d{1,2}) (" + ms + r") (\d{4})", text):
            out.append(datetime.date(int(y), MONTHS[lang].index(m) + 1, 1 if d == "1er" else int(d)))
    elif lang == "en":
        for m, d, y in re.findall(r"\b(" + ms + r") (\d{1,2}), (\d{4})", text):
            out.append(datetime.date(int(y), MONTHS[lang].index(m) + 1, int(d)))
    else:
        for d, m, y in re.findall(r"\b(\d{1,2})\. (" + ms + r") (\d{4})", text):
            out.append(datetime.date(int(y), MONTHS[lang].index(m) + 1, int(d)))
    return out


def numeric_dates(text, style):
    pat = {"fr": r"(\d{2})/(\d{2})/(\d{4})", "us": r"(\d{2})/(\d{2})/(\d{4})", "de": r"(\d{2})\.(\d{2})\.(\d{4})",
           "iso": r"(\d{4})-(\d{2})-(\d{2})"}[style]
    out = []
    for g in re.findall(pat, text):
        a, b, c = (int(x) for x in g)
        out.append({"fr": lambda: datetime.date(c, b, a), "us": lambda: datetime.date(c, a, b),
                    "de": lambda: datetime.date(c, b, a), "iso": lambda: datetime.date(a, b, c)}[style]())
    return out


def weekday_in(text, lang):
    found = [i for i, d in enumerate(DAYS[lang]) if re.search(r"\b" + d + r"\b", text)]
    return found


DAY_WORD = {"fr": "jours?", "en": "days?", "de": "Tage?n?"}


def last_named(text, names):
    """The index in names of the last one the text names, or None."""
    found = [(m.end(), i) for i, d in enumerate(names) for m in re.finditer(r"\b" + d + r"\b", text, re.I)]
    return max(found)[1] if found else None


def count_before_days(text, lang):
    m = re.findall("(" + NUM_RE[lang] + r") " + DAY_WORD[lang] + r"\b", text)
    return [int(to_dec(x, lang)) for x in m]


# ----------------------------------------------------------------------------- units, computed here

FACTOR = {"km": Decimal("1000"), "mi": Decimal("1609.344"), "m": Decimal("1"), "ft": Decimal("0.3048"),
          "kg": Decimal("1"), "lb": Decimal("0.45359237"), "l": Decimal("1"), "gal": Decimal("3.785411784")}


def convert(v, src, dst):
    if src == "C":
        return v * Decimal(9) / Decimal(5) + 32
    if src == "F":
        return (v - 32) * Decimal(5) / Decimal(9)
    return v * FACTOR[src] / FACTOR[dst]


APPROX = {"fr": "environ", "en": "about", "de": "etwa"}

# ----------------------------------------------------------------------------- country facts, written here
# code: (capital fr, en, de), (currency word fr, en, de), (a language name fr, en, de)
FACTS = {
    "FR": (("Paris", "Paris", "Paris"), ("euro", "euro", "Euro"), ("français", "French", "Französisch")),
    "DE": (("Berlin", "Berlin", "Berlin"), ("euro", "euro", "Euro"), ("allemand", "German", "Deutsch")),
    "GB": (("Londres", "London", "London"), ("livre sterling", "pound sterling", "Pfund Sterling"), ("anglais", "English", "Englisch")),
    "IT": (("Rome", "Rome", "Rom"), ("euro", "euro", "Euro"), ("italien", "Italian", "Italienisch")),
    "ES": (("Madrid", "Madrid", "Madrid"), ("euro", "euro", "Euro"), ("espagnol", "Spanish", "Spanisch")),
    "CH": (("Berne", "Bern", "Bern"), ("franc suisse", "Swiss franc", "Schweizer Franken"), ("romanche", "Romansh", "Rätoromanisch")),
    "AT": (("Vienne", "Vienna", "Wien"), ("euro", "euro", "Euro"), ("allemand", "German", "Deutsch")),
    "PL": (("Varsovie", "Warsaw", "Warschau"), ("złoty", "złoty", "Złoty"), ("polonais", "Polish", "Polnisch")),
    "BE": (("Bruxelles", "Brussels", "Brüssel"), ("euro", "euro", "Euro"), ("néerlandais", "Dutch", "Niederländisch")),
    "NL": (("Amsterdam", "Amsterdam", "Amsterdam"), ("euro", "euro", "Euro"), ("néerlandais", "Dutch", "Niederländisch")),
    "DK": (("Copenhague", "Copenhagen", "Kopenhagen"), ("couronne danoise", "Danish krone", "dänische Krone"), ("danois", "Danish", "Dänisch")),
    "SE": (("Stockholm", "Stockholm", "Stockholm"), ("couronne suédoise", "Swedish krona", "schwedische Krone"), ("suédois", "Swedish", "Schwedisch")),
    "GR": (("Athènes", "Athens", "Athen"), ("euro", "euro", "Euro"), ("grec", "Greek", "Griechisch")),
    "RU": (("Moscou", "Moscow", "Moskau"), ("rouble", "ruble", "Rubel"), ("russe", "Russian", "Russisch")),
    "US": (("Washington", "Washington, D.C.", "Washington, D.C."), ("dollar américain", "US dollar", "US-Dollar"), ("anglais", "English", "Englisch")),
    "CA": (("Ottawa", "Ottawa", "Ottawa"), ("dollar canadien", "Canadian dollar", "kanadische Dollar"), ("français", "French", "Französisch")),
    "BR": (("Brasilia", "Brasília", "Brasília"), ("real", "real", "Real"), ("portugais", "Portuguese", "Portugiesisch")),
    "MX": (("Mexico", "Mexico City", "Mexiko-Stadt"), ("peso mexicain", "Mexican peso", "mexikanische Peso"), ("espagnol", "Spanish", "Spanisch")),
    "AR": (("Buenos Aires", "Buenos Aires", "Buenos Aires"), ("peso argentin", "Argentine peso", "argentinische Peso"), ("espagnol", "Spanish", "Spanisch")),
    "EG": (("Le Caire", "Cairo", "Kairo"), ("livre égyptienne", "Egyptian pound", "ägyptische Pfund"), ("arabe", "Arabic", "Arabisch")),
    "MA": (("Rabat", "Rabat", "Rabat"), ("dirham", "dirham", "Dirham"), ("arabe", "Arabic", "Arabisch")),
    "KE": (("Nairobi", "Nairobi", "Nairobi"), ("shilling", "shilling", "Schilling"), ("swahili", "Swahili", "Swahili")),
    "NG": (("Abuja", "Abuja", "Abuja"), ("naira", "naira", "Naira"), ("anglais", "English", "Englisch")),
    "CN": (("Pékin", "Beijing", "Peking"), ("yuan", "yuan", "Yuan"), ("mandarin", "Mandarin", "Mandarin")),
    "JP": (("Tokyo", "Tokyo", "Tokio"), ("yen", "yen", "Yen"), ("japonais", "Japanese", "Japanisch")),
    "IN": (("New Delhi", "New Delhi", "Neu-Delhi"), ("roupie indienne", "Indian rupee", "indische Rupie"), ("hindi", "Hindi", "Hindi")),
    "KR": (("Séoul", "Seoul", "Seoul"), ("won", "won", "Won"), ("coréen", "Korean", "Koreanisch")),
    "TR": (("Ankara", "Ankara", "Ankara"), ("livre turque", "Turkish lira", "türkische Lira"), ("turc", "Turkish", "Türkisch")),
    "AU": (("Canberra", "Canberra", "Canberra"), ("dollar australien", "Australian dollar", "australische Dollar"), ("anglais", "English", "Englisch")),
    "NZ": (("Wellington", "Wellington", "Wellington"), ("dollar néo-zélandais", "New Zealand dollar", "Neuseeland-Dollar"), ("maori", "Māori", "Maori")),
}
NAMES = {  # the country as named in an answer (fr without its article)
    "FR": ("France", "France", "Frankreich"), "DE": ("Allemagne", "Germany", "Deutschland"),
    "GB": ("Royaume-Uni", "United Kingdom", "Vereinigten Königreich"), "IT": ("Italie", "Italy", "Italien"),
    "ES": ("Espagne", "Spain", "Spanien"), "CH": ("Suisse", "Switzerland", "Schweiz"), "AT": ("Autriche", "Austria", "Österreich"),
    "PL": ("Pologne", "Poland", "Polen"), "BE": ("Belgique", "Belgium", "Belgien"), "NL": ("Pays-Bas", "Netherlands", "Niederlande"),
    "DK": ("Danemark", "Denmark", "Dänemark"), "SE": ("Suède", "Sweden", "Schweden"), "GR": ("Grèce", "Greece", "Griechenland"),
    "RU": ("Russie", "Russia", "Russland"), "US": ("États-Unis", "United States", "Vereinigten Staaten"),
    "CA": ("Canada", "Canada", "Kanada"), "BR": ("Brésil", "Brazil", "Brasilien"), "MX": ("Mexique", "Mexico", "Mexiko"),
    "AR": ("Argentine", "Argentina", "Argentinien"), "EG": ("Égypte", "Egypt", "Ägypten"), "MA": ("Maroc", "Morocco", "Marokko"),
    "KE": ("Kenya", "Kenya", "Kenia"), "NG": ("Nigeria", "Nigeria", "Nigeria"), "CN": ("Chine", "China", "China"),
    "JP": ("Japon", "Japan", "Japan"), "IN": ("Inde", "India", "Indien"), "KR": ("Corée du Sud", "South Korea", "Südkorea"),
    "TR": ("Turquie", "Turkey", "Türkei"), "AU": ("Australie", "Australia", "Australien"),
    "NZ": ("Nouvelle-Zélande", "New Zealand", "Neuseeland"),
}
LI = {"fr": 0, "en": 1, "de": 2}


# ----------------------------------------------------------------------------- checks

def run(tool, out, seed, examples, mb, extra=()):
    if os.path.isdir(out):
        shutil.rmtree(out)
    cmd = [sys.executable, tool, "--out", out, "--seed", str(seed), "--examples", str(examples),
           "--pretrain-mb", str(mb), "--val-fraction", "0.05", "--meta", "--pretrain-jsonl"] + list(extra)
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    if r.returncode != 0:
        print(r.stdout, r.stderr)
        sys.exit("generator failed: " + " ".join(cmd))


def read(path):
    with open(path, "rb") as f:
        return f.read()


def check_turn(t, q, a):
    intent, data, ql, al = t["intent"], t["data"], t["qlang"], t["alang"]
    where = "{}.{} [{}->{}] {!r} -> {!r}".format(t["cat"], intent, ql, al, q, a)
    if t["cat"] == "arith":
        xs, r = numbers(q, ql), numbers(a, al)
        if not check(len(xs) == 2 and r, "arith: cannot parse: " + where):
            return
        x, y, r = xs[0], xs[1], r[-1]
        ok = {"add": x + y == r, "sub": x - y == r or y - x == r, "mul": x * y == r,
              "div": x == r * y or y == r * x}[intent]
        check(ok, "arith: wrong result: " + where)
    elif t["cat"] == "units":
        vs, rs = numbers(q, ql), numbers(a, al)
        if not check(len(vs) == 1 and rs, "units: cannot parse: " + where):
            return
        exact = convert(vs[0], data["src"], data["dst"])
        r = rs[-1]
        places = max(0, -r.as_tuple().exponent)   # decimals as written (trailing zeros are dropped: 1.00 -> 1)
        check(abs(r - exact) <= Decimal(5) / 10 ** (places + 1) + Decimal("1e-9"),
              "units: wrong value (exact {}): {}".format(exact, where))
        if APPROX[al] not in a:
            check(r == exact, "units: rounded value without 'about': " + where)
    elif t["cat"] == "dates":
        if intent == "weekday_after":
            w, n, got = weekday_in(q, ql), count_before_days(q, ql), last_named(a, DAYS[al])
            check(len(w) == 1 and len(n) == 1 and got == (w[0] + n[0]) % 7, "dates: wrong weekday: " + where)
        elif intent == "next_month":
            m = [i for i, name in enumerate(MONTHS[ql]) if re.search(r"\b" + name + r"\b", q, re.I)]
            check(len(m) == 1 and last_named(a, MONTHS[al]) == (m[0] + 1) % 12, "dates: wrong next month: " + where)
        elif intent == "to_numeric":
            d = long_dates(q, ql) or numeric_dates(q, "iso")
            check(len(d) == 1 and d[0] in numeric_dates(a, data["style"]), "dates: wrong numeric form: " + where)
        elif intent == "to_long":
            d = numeric_dates(q, data["style"])
            got = long_dates(a, al)
            check(len(d) == 1 and got == d, "dates: wrong long form: " + where)
        elif intent == "month_days":
            m = [i for i, name in enumerate(MONTHS[al]) if name.lower() in a.lower()]
            y = re.findall(r"\b(\d{4})\b", a)
            n = count_before_days(a, al)
            check(len(m) == 1 and y and n == [calendar.monthrange(int(y[0]), m[0] + 1)[1]], "dates: wrong month length: " + where)
        elif intent == "leap":
            y = int(re.findall(r"\b(\d{4})\b", q)[0])
            yes = a.split(",")[0] in ("Oui", "Yes", "Ja")
            check(yes == calendar.isleap(y) and str(y) in a, "dates: wrong leap year: " + where)
        elif intent == "nth_month":
            m = [i for i, name in enumerate(MONTHS[al]) if re.search(r"\b" + name + r"\b", a)]
            check(m == [data["month"] - 1], "dates: wrong month: " + where)
    elif t["cat"] == "country":
        code = data["country"]
        if code in FACTS:
            cap, cur, lang = (f[LI[al]] for f in FACTS[code])
            if intent in ("capital", "about"):
                check(cap in a, "country: capital {} missing: {}".format(cap, where))
            if intent == "capital_of":
                check(NAMES[code][LI[al]] in a, "country: country {} missing: {}".format(NAMES[code][LI[al]], where))
            if intent in ("currency", "about"):
                check(cur in a, "country: currency {} missing: {}".format(cur, where))
            if intent in ("language", "about"):
                check(lang in a, "country: language {} missing: {}".format(lang, where))
            if intent == "capital_of":
                check(FACTS[code][0][LI[ql]].lower() in q.lower(), "country: capital {} missing in question: {}".format(cap, where))


# Deployment profiles of the test's own (the fields the generator reads), one of them in a
# language the corpus does not have (Arabic): its conversations keep the user's language.
TEST_DEPLOYMENTS = {
    "fr": {"id": "fr", "language": "fr", "system_prompt": "Tu es l'assistant de test. Réponds en français.",
           "guidance": "Vouvoie l'utilisateur."},
    "de": {"id": "de", "language": "de", "system_prompt": "Du bist der Testassistent. Antworte auf Deutsch."},
    "en": {"id": "en", "language": "en", "system_prompt": "You are the test assistant.", "guidance": "Be polite."},
    "ar": {"id": "ar", "language": "ar", "system_prompt": "أنت مساعد الاختبار.", "guidance": "كن مهذبا."},
}


def check_deployment_lines(pairs, n, rule):
    """pairs: (conversation line, its meta); the question language is the meta's, the answer's detected."""
    want = {k: v["system_prompt"] + ("\n\n" + v["guidance"] if v.get("guidance") else "") for k, v in TEST_DEPLOYMENTS.items()}
    seen = {k: 0 for k in want}
    user_langs = {k: set() for k in want}
    for line, meta in pairs:
        msgs = json.loads(line)["messages"]
        if msgs[0]["role"] != "system":
            continue
        dep = [k for k, w in want.items() if msgs[0]["content"] == w]
        if not dep:
            continue
        seen[dep[0]] += 1
        for i, t in zip(range(1, len(msgs) - 1, 2), meta["turns"]):
            q, a = msgs[i]["content"], msgs[i + 1]["content"]
            got = detect(a)
            expect = t["qlang"] if dep[0] == "ar" or rule == "user" else dep[0]
            if got:
                check(got == expect, "{} deployment ({}): answer in {}, want {}: {!r} -> {!r}".format(
                    dep[0], rule, got, expect, q, a))
                user_langs[dep[0]].add(got)
    total = sum(seen.values())
    check(0.2 * n < total < 0.4 * n, "deployment system messages in {} of {} conversations".format(total, n))
    check(all(v > 0.04 * n for v in seen.values()), "a deployment is missing: {}".format(seen))
    for k, langs in user_langs.items():
        expect = {k} if rule == "deployment" and k != "ar" else {"fr", "en", "de"}
        check(langs == expect, "{} deployment ({}): answers in {}, want {}".format(k, rule, sorted(langs), sorted(expect)))


def check_deployments(args):
    """--system-prompts: the exact system messages start about 30 % of the conversations; the
    answer language is the user's (default) or, with --deployment-language deployment, the
    deployment's for fr/en/de and still the user's for ar; determinism."""
    ddir = os.path.join(args.work, "deployments")
    os.makedirs(ddir, exist_ok=True)
    for k, v in TEST_DEPLOYMENTS.items():
        with open(os.path.join(ddir, k + ".json"), "w", encoding="utf-8") as f:
            json.dump(v, f, ensure_ascii=False)
    with open(os.path.join(ddir, "README.txt"), "w") as f:
        f.write("not a profile\n")
    D, E, G = (os.path.join(args.work, x) for x in ("d", "e", "g"))
    n = 1200
    run(args.tool, D, 7, n, 0.05, ["--system-prompts", ddir])
    run(args.tool, E, 7, n, 0.05, ["--system-prompts", ddir])
    run(args.tool, G, 7, n, 0.05, ["--system-prompts", ddir, "--deployment-language", "deployment"])
    for name in ("sft.jsonl", "sft.val.jsonl", "sft.meta.jsonl"):
        check(read(os.path.join(D, name)) == read(os.path.join(E, name)), "determinism with --system-prompts: " + name)
    for d, rule in ((D, "user"), (G, "deployment")):
        it = {sp: iter(open(os.path.join(d, f), encoding="utf-8").read().splitlines())
              for sp, f in (("train", "sft.jsonl"), ("val", "sft.val.jsonl"))}
        metas = [json.loads(l) for l in open(os.path.join(d, "sft.meta.jsonl"), encoding="utf-8")]
        check_deployment_lines([(next(it[m["split"]]), m) for m in metas], n, rule)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", default=os.path.join(ROOT, "tools", "make_instruct_corpus.py"))
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "sg_corpus_test"))
    ap.add_argument("--examples", type=int, default=3000)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    A, B, C = (os.path.join(args.work, x) for x in ("a", "b", "c"))
    run(args.tool, A, 7, args.examples, 0.3)
    run(args.tool, B, 7, args.examples, 0.3)
    run(args.tool, C, 8, 300, 0.05)

    names = ["sft.jsonl", "sft.val.jsonl", "sft.meta.jsonl", "pretrain.txt", "pretrain.val.txt", "pretrain.jsonl", "stats.json"]
    for n in names:
        check(read(os.path.join(A, n)) == read(os.path.join(B, n)), "determinism: {} differs for one seed".format(n))
    check(read(os.path.join(A, "sft.jsonl"))[:20000] != read(os.path.join(C, "sft.jsonl"))[:20000], "another seed gives the same data")

    # the generator's own tables, loaded as a module (structure checks and the facts above)
    spec = importlib.util.spec_from_file_location("mic", args.tool)
    mic = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mic)
    check(len(mic.COUNTRIES) >= 50, "fewer than 50 countries")
    codes = [c.code for c in mic.COUNTRIES]
    check(len(codes) == len(set(codes)), "duplicate country codes")
    for c in mic.COUNTRIES:
        for l in ("fr", "en", "de"):
            check(c.capital[l] and c.name[l] and c.currency(l) and c.language_list(l), "country {}: empty field in {}".format(c.code, l))
        if c.code in FACTS:
            for l in ("fr", "en", "de"):
                cap, cur, lang = (f[LI[l]] for f in FACTS[c.code])
                check(c.capital[l] == cap, "country {}: capital {} != {} ({})".format(c.code, c.capital[l], cap, l))
                check(cur in c.currency(l), "country {}: currency {} lacks {} ({})".format(c.code, c.currency(l), cur, l))
                check(lang in c.language_list(l), "country {}: languages {} lack {} ({})".format(c.code, c.language_list(l), lang, l))
    for k, v in list(mic.CURRENCIES.items()) + list(mic.LANGUAGES.items()):
        check(len(v) == 3 and all(v), "table entry {} incomplete".format(k))

    # the closed domains, drawn many times: every fact the held-out set can ask is one of these
    rng = random.Random(3)
    arith = {mic.gen_arith(rng) for _ in range(60000)}
    check(len(arith) == 903, "arithmetic domain: {} problems, not 903".format(len(arith)))
    check(all(0 <= a <= 100 and 0 <= r <= 100 for _, a, b, r in arith), "arithmetic outside 0..100")
    units = {mic.gen_units(rng)[:3] for _ in range(20000)}
    check(len(units) == 88, "unit domain: {} conversions, not 88".format(len(units)))
    # held-out phrasings: the last fifth of each list of 5 or more, only for validation
    tl = ["t{}".format(i) for i in range(10)]
    tv = {mic.qchoice(rng, tl, {"val": True}) for _ in range(500)}
    tt = {mic.qchoice(rng, tl, {}) for _ in range(500)}
    check(tv == {"t8", "t9"} and tt == set(tl[:8]), "qchoice: {} / {}".format(sorted(tv), sorted(tt)))
    check({mic.qchoice(rng, tl[:4], {"val": True}) for _ in range(200)} == set(tl[:4]), "qchoice: short lists are shared")

    # conversations, in the order they were generated
    train = open(os.path.join(A, "sft.jsonl"), encoding="utf-8").read().splitlines()
    val = open(os.path.join(A, "sft.val.jsonl"), encoding="utf-8").read().splitlines()
    meta = [json.loads(l) for l in open(os.path.join(A, "sft.meta.jsonl"), encoding="utf-8")]
    stats = json.load(open(os.path.join(A, "stats.json"), encoding="utf-8"))
    dropped = stats["sft"]["val_dropped"]
    check(len(train) + len(val) + dropped == args.examples and len(meta) == len(train) + len(val),
          "line counts: {} + {} + {} dropped != {} ({} meta)".format(len(train), len(val), dropped, args.examples, len(meta)))
    check(dropped < 0.2 * (len(val) + dropped), "too many validation conversations dropped: {}".format(dropped))
    check(stats["sft"]["train"] == len(train) and stats["sft"]["val"] == len(val), "stats.json counts")
    check(0 < len(val) < 0.12 * args.examples, "val fraction: {} of {}".format(len(val), args.examples))
    it = {"train": iter(train), "val": iter(val)}
    first_user = {"train": set(), "val": set()}
    facts = {"train": set(), "val": set()}   # (category, intent, data) asked
    lang_answers = {"fr": 0, "en": 0, "de": 0}
    undetected = mismatched = 0
    qmismatch = []
    cats = set()
    multi = sysp = forced = cross = 0
    for m in meta:
        line = next(it[m["split"]])
        ex = json.loads(line)
        if not check(list(ex) == ["messages"] and isinstance(ex["messages"], list), "bad object: " + line[:200]):
            continue
        msgs = ex["messages"]
        roles = [x["role"] for x in msgs]
        body = roles[1:] if roles and roles[0] == "system" else roles
        check(len(body) >= 2 and body == ["user", "assistant"] * (len(body) // 2), "bad roles {}: {}".format(roles, line[:200]))
        check(all(set(x) == {"role", "content"} and isinstance(x["content"], str) and x["content"].strip() for x in msgs),
              "bad message: " + line[:200])
        check(len(body) // 2 == len(m["turns"]), "meta turns do not match: " + line[:200])
        if roles[0] == "system":
            sysp += 1
            check(m["system"] is not None, "system prompt without meta")
        first_user[m["split"]].add(msgs[roles.index("user")]["content"])
        multi += len(m["turns"]) > 1
        pairs = [(body_i, msgs[len(roles) - len(body) + 2 * i], msgs[len(roles) - len(body) + 2 * i + 1])
                 for i, body_i in enumerate(m["turns"])]
        force = m["system"]["force"] if m["system"] else None
        forced += force is not None
        for t, qm, am in pairs:
            q, a = qm["content"], am["content"]
            if t["cat"] in ("country", "units", "dates") and t["intent"] not in ("to_numeric", "to_long"):
                d = {k: v for k, v in t["data"].items() if k != "follow"}
                facts[m["split"]].add((t["cat"], t["intent"], json.dumps(d, sort_keys=True)))
            cats.add((t["cat"], t["alang"]))
            check(t["alang"] == (force or t["qlang"]), "answer language rule broken: " + str(t))
            cross += t["alang"] != t["qlang"]
            got = detect(a)
            lang_answers[t["alang"]] += 1
            if got is None and not re.search(r"[^\W\d_]", a):
                pass                      # "7 + 6 = 13." is in every language
            elif got is None:
                undetected += 1
                if os.environ.get("SG_CORPUS_DEBUG"):
                    print("undetected:", t["alang"], repr(a))
            elif got != t["alang"]:
                mismatched += 1
                check(False, "answer in {} instead of {}: {!r} -> {!r}".format(got, t["alang"], q, a))
            gq = detect(q)
            if gq is not None and gq != t["qlang"]:
                qmismatch.append((t["qlang"], gq, q))
            n_sent = len(re.findall(r"[.!?](?:\s|$)", re.sub(r"`[^`]*`", "", a)))
            check(n_sent <= 3, "answer longer than 3 sentences: " + a)
            check_turn(t, q, a)
    total = sum(lang_answers.values())
    check(undetected <= 0.03 * total, "{} of {} answers without a detectable language".format(undetected, total))
    check(len(qmismatch) <= 0.01 * total, "questions detected in another language: {}".format(qmismatch[:10]))
    for l, n in lang_answers.items():
        check(n >= 0.25 * total, "language {}: only {} of {} answers".format(l, n, total))
    for c in ("smalltalk", "stargate", "country", "arith", "units", "dates"):
        for l in ("fr", "en", "de"):
            check((c, l) in cats, "no {} answers in {}".format(c, l))
    check(multi > 0.1 * len(meta) and sysp > 0.3 * len(meta) and forced > 0.05 * len(meta) and cross > 0,
          "too few multi-turn ({}) / system ({}) / forced ({}) / cross-language ({}) conversations".format(multi, sysp, forced, cross))
    check(not (first_user["train"] & first_user["val"]), "validation questions also in training")
    # closed domains: the held-out set asks facts the training set asks (in other phrasings)
    new = facts["val"] - facts["train"]
    check(len(new) <= 0.05 * len(facts["val"]), "{} of {} held-out facts never asked in training: {}".format(
        len(new), len(facts["val"]), sorted(new)[:5]))

    # pretraining text
    text = open(os.path.join(A, "pretrain.txt"), encoding="utf-8").read()
    vtext = open(os.path.join(A, "pretrain.val.txt"), encoding="utf-8").read()
    check(len((text + vtext).encode("utf-8")) >= 0.3e6, "pretraining text smaller than asked")
    paras = text.strip("\n").split("\n\n")
    plang = {"fr": 0, "en": 0, "de": 0}
    for p in paras:
        check(p.strip() != "", "empty paragraph")
        d = detect(p)
        if d:
            plang[d] += 1
    for l, n in plang.items():
        check(n >= 0.2 * len(paras), "pretraining text: {} has {} of {} paragraphs".format(l, n, len(paras)))
    for line in open(os.path.join(A, "pretrain.jsonl"), encoding="utf-8"):
        check(isinstance(json.loads(line).get("text"), str), "pretrain.jsonl: bad line")

    check_deployments(args)

    if FAIL:
        for f in FAIL[:40]:
            print("FAIL:", f)
        print("{} failures".format(len(FAIL)))
        return 1
    print("corpus ok: {} conversations ({} turns; fr {}, en {}, de {}), {} undetected, {} pretraining paragraphs".format(
        len(meta), total, lang_answers["fr"], lang_answers["en"], lang_answers["de"], undetected, len(paras)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
