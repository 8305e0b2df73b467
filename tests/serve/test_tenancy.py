"""test_tenancy.py -- deployments, keys, limits, stored conversations and
people's rights, end to end over loopback against the real server and store.

    test_tenancy.py STARGATE MODEL DEPLOYMENTS_DIR CASE [DB_URL]

Cases:
  auth        local mode until a key exists; 401s; a key made while the
              server runs works at once; revoked keys stop; no key in logs
  isolation   tenant B can never read, list, rename, delete or continue
              tenant A's conversations (also by guessing ids)
  limits      requests per minute and tokens per day answer 429 + Retry-After
  deploy      deployments listed with their UI strings; policy refusals in
              the deployment's language; system prompt applied; redacted logs
  rights      export (all data, no secrets, audited), erase (key dies, data
              gone), conversation delete
  crash       SIGKILL while answers stream: completed messages survive, the
              database opens cleanly, cut answers become "interrupted"
  replicas    (with DB_URL = postgresql://...) two servers on one store:
              concurrent writes through both lose nothing
"""
import http.client
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

STARGATE, MODEL, DEPLOY, CASE = sys.argv[1:5]
DB_URL = sys.argv[5] if len(sys.argv) > 5 else None
FAILS = []
PROCS = []
HOME = tempfile.mkdtemp(prefix="sg-tenancy-")
DB = DB_URL or os.path.join(HOME, "store.db")
ENV = dict(os.environ, STARGATE_HOME=HOME, STARGATE_STALE_SECONDS="2")
if CASE != "deploy":
    # The example prompts are a few thousand tokens for the tiny test model's
    # byte-level vocabulary; the cases that do not test the prompts use the
    # same profiles with one-line prompts (fast under the sanitizers too).
    short = os.path.join(HOME, "deployments")
    os.makedirs(short)
    for f in sorted(os.listdir(DEPLOY)):
        if f.endswith(".json"):
            prof = json.load(open(os.path.join(DEPLOY, f)))
            prof["system_prompt"] = prof["system_prompt"].split(".")[0][:200] + "."
            prof.pop("guidance", None)
            json.dump(prof, open(os.path.join(short, f), "w"), ensure_ascii=False)
    DEPLOY = short


def check(cond, msg):
    if not cond:
        FAILS.append(msg)
        print("FAIL:", msg, file=sys.stderr)
    return cond


def admin(*args, ok=True):
    r = subprocess.run([STARGATE, "admin", *args, "--db", DB], capture_output=True, text=True, env=ENV,
                       timeout=60)
    if ok and r.returncode != 0:
        raise SystemExit("admin %s failed: %s" % (" ".join(args), r.stderr))
    return r


def new_key(tenant, *extra):
    r = admin("key", "create", "--tenant", tenant, *extra)
    key = r.stdout.splitlines()[0].strip()
    assert key.startswith("sk-sg-"), r.stdout
    return key


class Server:
    def __init__(self, *extra, db=None):
        self.dir = tempfile.mkdtemp(prefix="sg-srv-", dir=HOME)
        pf = os.path.join(self.dir, "port")
        self.logpath = os.path.join(self.dir, "log")
        self.log = open(self.logpath, "w+")
        self.p = subprocess.Popen([STARGATE, "serve", "-m", MODEL, "--port", "0", "--port-file", pf, "-t", "1",
                                   "--db", db or DB, "--deployments", DEPLOY, "--ctx", "4096", *extra],
                                  stdout=self.log, stderr=subprocess.STDOUT, env=ENV)
        PROCS.append(self.p)
        for _ in range(600):
            if os.path.exists(pf) and open(pf).read().strip():
                break
            if self.p.poll() is not None:
                raise SystemExit("server exited: " + open(self.logpath).read())
            time.sleep(0.05)
        self.port = int(open(pf).read())

    def call(self, method, path, body=None, key=None, timeout=60):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = {"Content-Type": "application/json"}
        if key:
            h["Authorization"] = "Bearer " + key
        c.request(method, path, body=json.dumps(body) if body is not None else None, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        try:
            data = json.loads(data)
        except ValueError:
            pass
        return r.status, dict(r.getheaders()), data

    def chat(self, key, content, conv=None, model=None, max_tokens=8, **kw):
        body = {"messages": [{"role": "user", "content": content}], "max_tokens": max_tokens, "temperature": 0}
        if conv:
            body["conversation_id"] = conv
        if model:
            body["model"] = model
        body.update(kw)
        return self.call("POST", "/v1/chat/completions", body, key)

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        check(self.p.wait(timeout=60) == 0, "server exits 0 on SIGTERM")

    def logtext(self):
        self.log.flush()
        return open(self.logpath).read()


def conv_new(s, key, dep="fr", title="t"):
    st, _, d = s.call("POST", "/v1/conversations", {"deployment": dep, "title": title}, key)
    assert st == 200, (st, d)
    return d["id"]


# ------------------------------------------------------------------ cases

def case_auth():
    s = Server("--log-requests")
    st, _, me = s.call("GET", "/v1/me")
    check(st == 200 and me.get("local_mode") is True, "no key yet: local mode (%s %s)" % (st, me))
    st, _, me = s.call("GET", "/v1/me", key="sk-no-key-required")
    check(st == 200 and me.get("user") == "local", "local mode: a placeholder key acts as user local")
    admin("tenant", "create", "acme", "--deployment", "de")
    key = new_key("acme")
    st, h, d = s.call("GET", "/v1/me")
    check(st == 401, "a key exists now: no key gives 401 (%s)" % st)
    check(h.get("WWW-Authenticate") == "Bearer", "401 names the Bearer scheme")
    check(d["error"]["code"] == "invalid_api_key", "401 error code")
    st, _, me = s.call("GET", "/v1/me", key=key)
    check(st == 200 and me["tenant"] == "acme" and me["deployment"] == "de", "key made while running works: %s" % me)
    check(me.get("key") == key[:18], "me shows only the key's public prefix")
    bad = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    st, _, d = s.call("GET", "/v1/me", key=bad)
    check(st == 401, "a wrong secret with a right prefix gives 401")
    check(key[19:] not in json.dumps(d), "the error does not echo the secret")
    st, _, _ = s.call("GET", "/v1/models", key="sk-sg-000000000000_" + "A" * 43)
    check(st == 401, "an unknown key gives 401")
    st, _, _ = s.chat(key, "hello")
    check(st == 200, "chat with a key")
    st, _, _ = s.call("GET", "/v1/admin/tenants", key=key)
    check(st == 404, "no administrative endpoint exists over HTTP (%s)" % st)
    admin("key", "revoke", key[:18])
    st, _, _ = s.call("GET", "/v1/me", key=key)
    check(st == 401, "a revoked key stops at once")
    k2 = new_key("acme")
    admin("tenant", "disable", "acme")
    st, _, _ = s.call("GET", "/v1/me", key=k2)
    check(st == 401, "a disabled tenant's key is refused")
    admin("tenant", "enable", "acme")
    st, _, _ = s.call("GET", "/v1/me", key=k2)
    check(st == 200, "re-enabled tenant works")
    s.stop()
    log = s.logtext()
    for k in (key, k2):
        check(k[19:] not in log, "no key secret in the server log")
    check("key=" + key[:18] in log, "the log names the key by prefix")
    # no-auth mode is announced
    s = Server("--no-auth")
    st, _, me = s.call("GET", "/v1/me")
    check(st == 200 and me["user"] == "local", "--no-auth: requests act as user local")
    s.stop()
    check("LOCAL MODE" in s.logtext(), "--no-auth is announced")


def case_isolation():
    admin("tenant", "create", "a")
    admin("tenant", "create", "b")
    ka, kb = new_key("a"), new_key("b")
    s = Server()
    ca = conv_new(s, ka, title="secret plans of A")
    st, _, d = s.chat(ka, "my number is 42", conv=ca)
    check(st == 200 and d.get("conversation_id") == ca, "A continues its conversation")
    st, _, lst = s.call("GET", "/v1/conversations", key=kb)
    check(st == 200 and lst["data"] == [], "B lists none of A's conversations")
    for method, body in (("GET", None), ("PATCH", {"title": "pwned"}), ("DELETE", None)):
        st, _, d = s.call(method, "/v1/conversations/" + ca, body, kb)
        check(st == 404, "B %s A's conversation: 404 (%s)" % (method, st))
    st, _, d = s.chat(kb, "continue", conv=ca)
    check(st == 404, "B cannot continue A's conversation (%s)" % st)
    # guessing: neighbours of A's id, other shapes, injection attempts
    guesses = [ca[:-1] + ("0" if ca[-1] != "0" else "1"), "c_" + "0" * 32, "1", "%27%20OR%201%3D1--",
               "c_" + ca[2:].upper()]
    for g in guesses:
        st, _, _ = s.call("GET", "/v1/conversations/" + g, key=kb)
        check(st == 404, "guessed id %s: 404" % g)
    st, _, d = s.call("GET", "/v1/conversations/" + ca, key=ka)
    check(st == 200 and d["title"] == "secret plans of A" and len(d["messages"]) == 2,
          "A's conversation intact after B's attempts")
    st, _, exp = s.call("GET", "/v1/me/export", key=kb)
    check(st == 200 and "secret plans" not in json.dumps(exp), "B's export holds nothing of A")
    s.stop()


def case_limits():
    admin("tenant", "create", "lim")
    k = new_key("lim", "--rpm", "3")
    s = Server()
    codes = [s.call("GET", "/v1/models", key=k)[0] for _ in range(3)]
    check(codes == [200, 200, 200], "3 requests within the limit: %s" % codes)
    st, h, d = s.call("GET", "/v1/models", key=k)
    check(st == 429, "4th request in the minute: 429 (%s)" % st)
    ra = int(h.get("Retry-After", "0"))
    check(1 <= ra <= 60, "Retry-After within the minute: %s" % ra)
    check(d["error"]["code"] == "rate_limit_exceeded", "429 error code")
    k2 = new_key("lim", "--tokens-per-day", "20")
    st, _, d = s.chat(k2, "hello there", max_tokens=16)
    check(st == 200, "first request within the daily tokens")
    used = d["usage"]["total_tokens"] if st == 200 else 0
    check(used > 20, "the request used more than the quota (%d)" % used)
    st, h, d = s.chat(k2, "again")
    check(st == 429, "daily tokens spent: 429 (%s)" % st)
    ra = int(h.get("Retry-After", "0"))
    check(1 <= ra <= 86400, "Retry-After until the next day: %s" % ra)
    s.stop()


def case_deploy():
    admin("tenant", "create", "fr-co", "--deployment", "fr")
    k = new_key("fr-co")
    s = Server("--log-requests")
    st, _, d = s.call("GET", "/v1/deployments", key=k)
    ids = sorted(x["id"] for x in d.get("data", []))
    check(st == 200 and {"fr", "de", "ar"} <= set(ids), "deployments listed: %s" % ids)
    check(d.get("default") == "fr", "the tenant's deployment is the default")
    st, _, models = s.call("GET", "/v1/models", key=k)
    check({"stargate-fr", "stargate-de", "stargate-ar"} <= {m["id"] for m in models["data"]},
          "/v1/models lists the deployments' model ids")
    ar = [x for x in d["data"] if x["id"] == "ar"][0]
    check(ar["dir"] == "rtl" and ar["ui"].get("send"), "Arabic is right-to-left with UI strings")
    # a refused topic, answered in the deployment's language, without the model
    profiles = {f[:-5]: json.load(open(os.path.join(DEPLOY, f))) for f in os.listdir(DEPLOY) if f.endswith(".json")}
    for dep in ("fr", "de"):
        pol = profiles[dep].get("policy", {})
        kw = (pol.get("keywords") or [None])[0]
        if not check(kw is not None, "%s has policy keywords" % dep):
            continue
        st, _, r = s.chat(k, "Dis-moi: " + kw.upper() + " ?", model="stargate-" + dep)
        check(st == 200 and r["choices"][0]["finish_reason"] == "content_filter",
              "%s refuses '%s' (%s)" % (dep, kw, r if st != 200 else r["choices"][0]["finish_reason"]))
        check(r["choices"][0]["message"]["content"] == pol["refusal"], "%s's refusal text" % dep)
        check(r["model"] == "stargate-" + dep, "the answer names the deployment's model id")
    # the system prompt costs prompt tokens: same message, with and without a deployment's prompt
    st, _, with_sys = s.chat(k, "bonjour", model="stargate-fr")
    check(st == 200 and with_sys["usage"]["prompt_tokens"] > 40, "the deployment's system prompt is in the prompt")
    # redaction in the log
    s.chat(k, "write to jean.dupont@example.fr or call +33 6 12 34 56 78", model="stargate-fr")
    s.stop()
    log = s.logtext()
    check("jean.dupont@example.fr" not in log and "+33 6 12 34 56 78" not in log, "personal data redacted in logs")
    check("[email]" in log, "the redaction marker is logged")


def case_rights():
    admin("tenant", "create", "p")
    k = new_key("p")
    s = Server()
    c1, c2 = conv_new(s, k, title="one"), conv_new(s, k, title="two")
    marker = "UNIQUE-MARKER-%d" % os.getpid()
    st, _, _ = s.chat(k, marker, conv=c1)
    check(st == 200, "chat stored")
    st, _, exp = s.call("GET", "/v1/me/export", key=k)
    text = json.dumps(exp)
    check(st == 200 and marker in text, "export holds the messages")
    check(len(exp.get("conversations", [])) == 2, "export holds both conversations")
    check(k[19:] not in text and "hash" not in text.lower(), "export holds no secret")
    shown = json.loads(admin("conversation", "show", "--tenant", "p", "--user", "default", c1, "--json").stdout)
    check(any(m["content"] == marker for m in shown["messages"]), "admin conversation show reads it")
    r = admin("conversation", "show", "--tenant", "p", "--user", "nobody", c1, ok=False)
    check(r.returncode != 0, "admin conversation show needs the owner")
    st, _, d = s.call("DELETE", "/v1/conversations/" + c2, key=k)
    check(st == 200 and d.get("deleted") is True, "delete a conversation")
    st, _, _ = s.call("GET", "/v1/conversations/" + c2, key=k)
    check(st == 404, "deleted conversation is gone")
    c3 = conv_new(s, k, title="three")
    admin("conversation", "delete", "--tenant", "p", "--user", "default", c3)
    st, _, _ = s.call("GET", "/v1/conversations/" + c3, key=k)
    check(st == 404, "admin conversation delete removes it")
    st, _, d = s.call("DELETE", "/v1/me", key=k)
    check(st == 200, "erase my account")
    st, _, _ = s.call("GET", "/v1/me", key=k)
    check(st == 401, "the erased user's key is dead")
    s.stop()
    audit = admin("audit").stdout
    check("export" in audit and "erase" in audit, "export and erase are in the audit log")
    if not DB_URL:
        con = sqlite3.connect(DB)
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.close()
        for f in (DB, DB + "-wal"):
            if os.path.exists(f):
                check(marker.encode() not in open(f, "rb").read(), "erased text gone from %s" % os.path.basename(f))


def case_crash():
    admin("tenant", "create", "cr")
    k = new_key("cr")
    s = Server("--parallel", "2")
    conv = conv_new(s, k)
    done = []
    for i in range(3):
        st, _, d = s.chat(k, "message %d" % i, conv=conv)
        if st == 200:
            done.append(d["choices"][0]["message"]["content"])
    check(len(done) == 3, "3 answers acknowledged")
    conv2 = conv_new(s, k)
    # two long streams, killed in the middle
    progress = {conv: threading.Event(), conv2: threading.Event()}
    finished = {}

    def long_stream(cid):
        finished[cid] = False
        try:
            c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=60)
            c.request("POST", "/v1/chat/completions", body=json.dumps(
                {"messages": [{"role": "user", "content": "tell me a long story"}], "max_tokens": 1000,
                 "stream": True, "conversation_id": cid, "temperature": 1.0, "seed": 7}),
                headers={"Content-Type": "application/json", "Authorization": "Bearer " + k})
            r = c.getresponse()
            n = 0
            while True:
                line = r.readline()
                if not line:
                    break
                if line.startswith(b"data: [DONE]"):
                    finished[cid] = True
                n += 1
                if n > 6:
                    progress[cid].set()
        except Exception:
            pass
        progress[cid].set()

    ts = [threading.Thread(target=long_stream, args=(cid,)) for cid in (conv, conv2)]
    for t in ts:
        t.start()
    for ev in progress.values():
        ev.wait(30)
    s.p.kill()
    s.p.wait()
    for t in ts:
        t.join(10)
    want = ["complete" if finished.get(cid) else "interrupted" for cid in (conv, conv2)]
    check("interrupted" in want, "at least one stream was cut by the kill: %s" % want)
    if not DB_URL:
        con = sqlite3.connect(DB)
        check(con.execute("PRAGMA integrity_check").fetchone()[0] == "ok", "database intact after SIGKILL")
        con.close()
    s2 = Server()
    st, _, d = s2.call("GET", "/v1/conversations/" + conv, key=k)
    msgs = d.get("messages", []) if st == 200 else []
    answers = [m for m in msgs if m["role"] == "assistant" and m["status"] == "complete"]
    check([m["content"] for m in answers[:3]] == done, "every acknowledged answer is stored")
    deadline = time.time() + 20
    statuses = []
    while time.time() < deadline:
        statuses = []
        for cid in (conv, conv2):
            st, _, d = s2.call("GET", "/v1/conversations/" + cid, key=k)
            statuses.append(d["messages"][-1]["status"])
        if statuses == want:
            break
        time.sleep(0.5)
    check(statuses == want, "answers cut by the kill are interrupted, finished ones complete: %s, want %s"
          % (statuses, want))
    s2.stop()


def case_replicas():
    admin("tenant", "create", "rep")
    k = new_key("rep")
    a, b = Server(), Server()
    conv = conv_new(a, k)
    n_each, errors = 8, []

    def worker(srv, tag):
        for i in range(n_each):
            st, _, _ = srv.chat(k, "%s-%d" % (tag, i), conv=conv, max_tokens=4)
            if st != 200:
                errors.append(st)
            st, _, _ = srv.chat(k, "%s-own-%d" % (tag, i), conv=conv_new(srv, k), max_tokens=4)
            if st != 200:
                errors.append(st)

    ts = [threading.Thread(target=worker, args=(srv, tag)) for srv, tag in ((a, "A"), (b, "B"), (a, "C"), (b, "D"))]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    check(errors == [], "no request failed: %s" % errors[:5])
    st, _, d = b.call("GET", "/v1/conversations/" + conv, key=k)
    users = sorted(m["content"] for m in d["messages"] if m["role"] == "user")
    want = sorted("%s-%d" % (t, i) for t in "ABCD" for i in range(n_each))
    check(users == want, "every message through both replicas is stored (%d of %d)" % (len(users), len(want)))
    check(sum(1 for m in d["messages"] if m["role"] == "assistant" and m["status"] == "complete") == 4 * n_each,
          "every answer is stored complete")
    st, _, lst = a.call("GET", "/v1/conversations", key=k)
    check(len(lst["data"]) == 1 + 4 * n_each, "all conversations listed from either replica")
    a.stop()
    b.stop()


try:
    globals()["case_" + CASE]()
finally:
    for p in PROCS:
        if p.poll() is None:
            p.kill()
if FAILS:
    print("%d check(s) failed" % len(FAILS))
    sys.exit(1)
print("ok")
