#!/usr/bin/python3
"""run_pull.py STARGATE WORKDIR CASE -- `stargate pull` against a local hub.

Never touches the network: HF_ENDPOINT points at hub_server.py on 127.0.0.1.
Cases: gguf, safetensors, resume, checksum, token, errors, models, concurrent.
Exit 0 pass, 1 fail, 77 skip.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from hub_server import Hub  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
STARGATE, WORK, CASE = sys.argv[1], os.path.abspath(sys.argv[2]), sys.argv[3]
GGUF_REPO, ST_REPO = "tester/tiny-GGUF", "tester/tiny-llama"


def have_numpy():
    try:
        import numpy  # noqa: F401
        return True
    except ImportError:
        return False


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def gen(args, out):
    subprocess.run([sys.executable, os.path.join(ROOT, "tools", "gen_model.py"), "--quiet", "--arch", "llama",
                    "--hidden", "64", "--layers", "2", "--heads", "4", "--ff", "128", "--vocab", "301",
                    "--seed", "5"] + args + ["--out", out], check=True)


def make_repos(root, real):
    g = os.path.join(root, GGUF_REPO)
    os.makedirs(g)
    if real:
        gen(["--format", "gguf", "--dtype", "q8_0"], os.path.join(g, "tiny-q8_0.gguf"))
        gen(["--format", "gguf", "--dtype", "f32"], os.path.join(g, "tiny-f32.gguf"))
    else:
        for n, size in (("tiny-q8_0.gguf", 300001), ("tiny-f32.gguf", 700003)):
            with open(os.path.join(g, n), "wb") as f:
                f.write(b"GGUF" + os.urandom(size))
    with open(os.path.join(g, "README.md"), "w") as f:
        f.write("# tiny\n")
    s = os.path.join(root, ST_REPO)
    if real:
        gen(["--format", "hf", "--dtype", "f32", "--shards", "2"], s)
    else:
        os.makedirs(s)
        shards = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
        for n in shards:
            with open(os.path.join(s, n), "wb") as f:
                f.write(os.urandom(200000))
        with open(os.path.join(s, "config.json"), "w") as f:
            json.dump({"architectures": ["LlamaForCausalLM"]}, f)
        with open(os.path.join(s, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {}, "weight_map": {"a": shards[0], "b": shards[1], "c": shards[0]}}, f)
    with open(os.path.join(s, "tokenizer_config.json"), "w") as f:
        json.dump({"chat_template": "{{ messages }}"}, f)
    with open(os.path.join(s, "consolidated.safetensors"), "wb") as f:  # not in the index: never pulled
        f.write(os.urandom(1000))
    os.makedirs(os.path.join(s, "onnx"))
    with open(os.path.join(s, "onnx", "model.onnx"), "wb") as f:
        f.write(b"onnx")


class Env:
    def __init__(self):
        shutil.rmtree(WORK, ignore_errors=True)
        os.makedirs(WORK)
        self.real = have_numpy()
        self.repos = os.path.join(WORK, "repos")
        make_repos(self.repos, self.real)
        self.home = os.path.join(WORK, "home")
        self.hub = Hub(self.repos)

    def run(self, *args, token=None, expect=0, background=False):
        env = dict(os.environ)
        env.pop("HF_TOKEN", None)
        env.update(HF_ENDPOINT=self.hub.endpoint, STARGATE_HOME=self.home, http_proxy="", https_proxy="",
                   HTTP_PROXY="", HTTPS_PROXY="", ALL_PROXY="", all_proxy="", no_proxy="*")
        if token is not None:
            env["HF_TOKEN"] = token
        cmd = [STARGATE] + list(args)
        if background:
            return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        print("$ stargate %s -> %d\n%s%s" % (" ".join(args), p.returncode, p.stdout, p.stderr))
        if expect is not None and (p.returncode == 0) != (expect == 0):
            fail("stargate %s: exit %d, expected %s" % (" ".join(args), p.returncode, "0" if expect == 0 else "non-zero"))
        return p

    def model_dir(self, repo, rev="main"):
        return os.path.join(self.home, "models", repo.replace("/", "--"), rev)

    def one_line_error(self, p, text):
        # progress notes may come first; the error is one line, the last
        lines = p.stderr.strip().splitlines()
        errs = [l for l in lines if "error" in l]
        check(len(errs) == 1 and lines[-1] == errs[0] and errs[0].startswith("stargate: error:"),
              "not a one-line error: %r" % p.stderr)
        check(text in errs[0], "error %r lacks %r" % (errs[0], text))


def case_gguf(e):
    e.hub.page_size = 2  # the tree listing comes in pages (Link: rel="next")
    p = e.run("pull", GGUF_REPO + ":tiny-q8_0.gguf")
    path = p.stdout.strip()
    want = os.path.join(e.model_dir(GGUF_REPO), "tiny-q8_0.gguf")
    check(path == want, "printed path %r, expected %r" % (path, want))
    check(sha(path) == sha(os.path.join(e.repos, GGUF_REPO, "tiny-q8_0.gguf")), "content differs")
    check(not os.path.exists(path + ".part"), ".part left behind")
    cdn = e.hub.requests("cdn")
    check(len(cdn) == 1, "expected one CDN download, got %d" % len(cdn))
    m = json.load(open(os.path.join(e.home, "models", "tester--tiny-GGUF", "manifest.json")))
    f = m["revisions"]["main"]["files"][0]
    check(m["repo"] == GGUF_REPO and f["path"] == "tiny-q8_0.gguf" and f["sha256"] == sha(path), "manifest %r" % m)
    check(m["revisions"]["main"]["commit"].startswith("0123456789abcdef"), "commit not recorded")
    # again: up to date, nothing downloaded
    p = e.run("pull", GGUF_REPO + ":tiny-q8_0.gguf")
    check("up to date" in p.stderr and len(e.hub.requests("cdn")) == 1, "second pull downloaded again")
    # a glob
    p = e.run("pull", GGUF_REPO + ":*F32.gguf", expect=1)
    p = e.run("pull", GGUF_REPO + ":*f32.gguf")
    check(p.stdout.strip().endswith("tiny-f32.gguf"), "glob pulled %r" % p.stdout)
    p = e.run("pull", GGUF_REPO + ":*.gguf", expect=1)
    e.one_line_error(p, "matches 2 files")
    # the repository alone has no safetensors model: list the GGUF choices
    p = e.run("pull", GGUF_REPO, expect=1)
    e.one_line_error(p, "pick one")
    check("tiny-q8_0.gguf" in p.stderr and "tiny-f32.gguf" in p.stderr, "choices not listed")
    if e.real:
        p = e.run("info", GGUF_REPO + ":tiny-q8_0.gguf")
        check("llama" in p.stdout, "info of the pulled model")
        p = e.run("info", GGUF_REPO, expect=1)  # two GGUF files pulled: ambiguous
        e.one_line_error(p, "ambiguous")


def case_safetensors(e):
    p = e.run("pull", ST_REPO)
    d = p.stdout.strip()
    check(d == e.model_dir(ST_REPO), "printed %r" % d)
    got = sorted(os.listdir(d))
    want = sorted(["config.json", "tokenizer_config.json", "model.safetensors.index.json",
                   "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
                  + [n for n in ("generation_config.json", "tokenizer.json") if os.path.exists(os.path.join(e.repos, ST_REPO, n))])
    check(got == want, "files %r, expected %r" % (got, want))
    for n in got:
        check(sha(os.path.join(d, n)) == sha(os.path.join(e.repos, ST_REPO, n)), n + " differs")
    paths = [r["path"] for r in e.hub.requests("cdn")]
    check(not any("consolidated" in x for x in paths), "a file outside the index was downloaded")
    if e.real:
        p = e.run("info", ST_REPO)
        check("llama" in p.stdout, "info of the pulled safetensors model")


def case_resume(e):
    name = "tiny-f32.gguf"
    e.hub.drop_once.add(GGUF_REPO + "/" + name)
    p = e.run("pull", GGUF_REPO + ":" + name, expect=1)
    e.one_line_error(p, "resume")
    part = os.path.join(e.model_dir(GGUF_REPO), name + ".part")
    check(os.path.exists(part), "no .part kept")
    kept = os.path.getsize(part)
    total = os.path.getsize(os.path.join(e.repos, GGUF_REPO, name))
    check(0 < kept < total, "kept %d of %d bytes" % (kept, total))
    p = e.run("pull", GGUF_REPO + ":" + name)
    last = e.hub.requests("cdn")[-1]
    check(last["headers"].get("range") == "bytes=%d-" % kept, "second run sent Range %r" % last["headers"].get("range"))
    check(sha(p.stdout.strip()) == sha(os.path.join(e.repos, GGUF_REPO, name)), "resumed file differs")
    check(not os.path.exists(part), ".part left behind")


def case_checksum(e):
    name = "tiny-q8_0.gguf"
    e.hub.corrupt.add(GGUF_REPO + "/" + name)
    p = e.run("pull", GGUF_REPO + ":" + name, expect=1)
    e.one_line_error(p, "checksum mismatch")
    check("deleted" in p.stderr, "does not say the partial file was deleted")
    d = e.model_dir(GGUF_REPO)
    check(not os.path.exists(os.path.join(d, name + ".part")), ".part not deleted")
    check(not os.path.exists(os.path.join(d, name)), "corrupt file moved into place")
    e.hub.corrupt.clear()
    e.run("pull", GGUF_REPO + ":" + name)


def case_token(e):
    e.hub.tokens[GGUF_REPO] = "hf_secret"
    p = e.run("pull", GGUF_REPO + ":tiny-q8_0.gguf", expect=1)
    e.one_line_error(p, "repository not found or gated: set HF_TOKEN")
    p = e.run("pull", GGUF_REPO + ":tiny-q8_0.gguf", token="hf_wrong", expect=1)
    e.one_line_error(p, "gated")
    n0 = len(e.hub.log)
    e.run("pull", GGUF_REPO + ":tiny-q8_0.gguf", token="hf_secret")
    reqs = e.hub.log[n0:]
    hub = [r for r in reqs if r["server"] == "hub"]
    cdn = [r for r in reqs if r["server"] == "cdn"]
    check(hub and all(r["headers"].get("authorization") == "Bearer hf_secret" for r in hub), "token not sent to the hub")
    check(cdn and all("authorization" not in r["headers"] for r in cdn), "token leaked to the redirect host")


def case_errors(e):
    p = e.run("pull", "nobody/nothing:x.gguf", expect=1)
    e.one_line_error(p, "repository not found or gated: set HF_TOKEN")
    p = e.run("pull", "nobody/nothing", expect=1)
    e.one_line_error(p, "repository not found or gated: set HF_TOKEN")
    p = e.run("pull", GGUF_REPO + ":missing.gguf", expect=1)
    e.one_line_error(p, "missing.gguf")
    p = e.run("pull", "../etc:x", expect=1)
    e.one_line_error(p, "not a repository name")
    p = e.run("info", "tester/never-pulled", expect=1)
    e.one_line_error(p, "stargate pull tester/never-pulled")
    # the hub itself unreachable
    port = e.hub.hub.server_address[1]
    e.hub.close()
    p = e.run("pull", GGUF_REPO + ":tiny-q8_0.gguf", expect=1)
    e.one_line_error(p, "127.0.0.1:%d" % port)


def case_models(e):
    p = e.run("models")
    check("no models" in p.stdout, "empty cache listing")
    e.run("pull", GGUF_REPO + ":tiny-q8_0.gguf")
    e.run("pull", ST_REPO)
    p = e.run("models")
    lines = p.stdout.splitlines()
    check(lines[0].split() == ["NAME", "FORMAT", "SIZE", "PATH"], "header %r" % lines[0])
    names = {l.split()[0]: l.split()[1] for l in lines[1:]}
    check(names == {GGUF_REPO + ":tiny-q8_0.gguf": "gguf", ST_REPO: "safetensors"}, "listed %r" % names)
    if e.real:
        e.run("info", GGUF_REPO)  # the only GGUF pulled
        e.run("tokenize", "-m", GGUF_REPO + ":tiny-q8_0.gguf", "--ids")
    e.run("rm", GGUF_REPO + ":tiny-q8_0.gguf")
    check(not os.path.exists(os.path.join(e.model_dir(GGUF_REPO), "tiny-q8_0.gguf")), "rm left the file")
    p = e.run("models")
    check(GGUF_REPO not in p.stdout and ST_REPO in p.stdout, "listing after rm: %r" % p.stdout)
    e.run("models", "rm", ST_REPO)
    check(not os.path.exists(os.path.join(e.home, "models", "tester--tiny-llama")), "models rm left the directory")
    p = e.run("rm", ST_REPO, expect=1)
    e.one_line_error(p, "not in the cache")


def case_concurrent(e):
    ps = [e.run("pull", "-q", GGUF_REPO + ":tiny-f32.gguf", background=True) for _ in range(3)]
    for p in ps:
        out, err = p.communicate(timeout=120)
        print(out, err)
        check(p.returncode == 0, "a concurrent pull failed: %s" % err)
    path = os.path.join(e.model_dir(GGUF_REPO), "tiny-f32.gguf")
    check(sha(path) == sha(os.path.join(e.repos, GGUF_REPO, "tiny-f32.gguf")), "content differs")
    check(len(e.hub.requests("cdn")) == 1, "downloaded %d times" % len(e.hub.requests("cdn")))


CASES = {n[5:]: f for n, f in globals().items() if n.startswith("case_")}

if __name__ == "__main__":
    if CASE not in CASES:
        fail("unknown case " + CASE)
    env = Env()
    try:
        CASES[CASE](env)
    finally:
        try:
            env.hub.close()
        except Exception:
            pass
    print("PASS", CASE)
