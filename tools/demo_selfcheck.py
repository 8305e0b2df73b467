#!/usr/bin/python3
"""demo_selfcheck.py URL -- the main job's self-check (scripts/demo.sh with SG_DEMO_SELFCHECK=1).

Talks to a running `stargate serve` (the default assistant with the example deployments) as any
OpenAI client does: streams one chat answer in French through the French deployment and one in
German through the German deployment, and checks that each comes back in the language it was
asked in (a stop-word language identifier, below). Also checks that the web chat is served.
Prints the answers; exits 1 on any failure. Standard library only.
"""
import json
import re
import sys
import urllib.request

URL = sys.argv[1].rstrip("/")

# Frequent function words, disjoint between the three languages (no word appears in two lists).
STOPWORDS = {
    "fr": "le la les un une des du de est et en au aux ce cette qui que pour pas sur dans avec "
          "je vous nous il elle sont être avoir mais ou où son sa ses leur très plus c'est est-ce "
          "bonjour merci capitale pays langue monnaie jour jours".split(),
    "de": "der die das ein eine einen dem den des ist und zu mit auf für nicht sich ich sie es "
          "wir sind sein haben aber oder wie auch bei nach von hallo danke hauptstadt land "
          "sprache währung tag tage ist's".split(),
    "en": "the a an of is are and to in for with on not it this that what which you we they "
          "be have but or how also by from hello thanks capital country language currency day "
          "days".split(),
}


def language(text):
    """Best-scoring language of text among fr/de/en by stop-word hits (None: no hit)."""
    words = re.findall(r"[a-zà-ÿäöüß'-]+", text.lower())
    scores = {lang: sum(1 for w in words if w in set(ws)) for lang, ws in STOPWORDS.items()}
    best = max(scores, key=scores.get)
    return best if scores[best] > 0 else None


def ask(model, question):
    body = json.dumps({"model": model, "stream": True, "temperature": 0, "max_tokens": 96,
                       "messages": [{"role": "user", "content": question}]}).encode()
    req = urllib.request.Request(URL + "/v1/chat/completions", data=body,
                                 headers={"Content-Type": "application/json"})
    text, done = [], False
    with urllib.request.urlopen(req, timeout=300) as r:
        for line in r:
            line = line.decode().strip()
            if not line.startswith("data: "):
                continue
            if line == "data: [DONE]":
                done = True
                break
            chunk = json.loads(line[6:])
            for ch in chunk.get("choices", []):
                text.append(ch.get("delta", {}).get("content") or "")
    return "".join(text), done


def main():
    assert language("Quelle est la capitale de la France ?") == "fr"
    assert language("Was ist die Hauptstadt von Deutschland?") == "de"
    assert language("What is the capital of Japan?") == "en"
    fails = 0
    with urllib.request.urlopen(URL + "/", timeout=30) as r:
        page = r.read().decode()
    if "<html" not in page.lower():
        print("FAIL: the web chat page is not served at /")
        fails += 1
    for model, question, want in (("stargate-fr", "Quelle est la capitale de l'Allemagne ?", "fr"),
                                  ("stargate-de", "Was ist die Hauptstadt von Frankreich?", "de")):
        answer, done = ask(model, question)
        got = language(answer)
        ok = done and got == want
        fails += not ok
        print("%s %s: %s\n   -> %s\n   (language %s, want %s)" % ("ok  " if ok else "FAIL", model, question,
                                                                 answer.strip(), got, want))
    print("self-check: %s" % ("passed" if not fails else "%d failure(s)" % fails))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
