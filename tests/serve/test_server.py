"""test_server.py -- end-to-end tests of `stargate serve` over loopback.

    test_server.py STARGATE MODEL CASE

Each CASE starts its own server (--port 0, the port read from --port-file),
talks to it with raw HTTP (http.client, sockets: no third-party client) and
stops it with SIGTERM, checking that it exits 0. Loops are bounded; every
socket has a timeout. Cases:

  api          endpoints, response shapes, SSE framing, usage, logprobs, stop
  errors       400/404/405/413/503 bodies; hostile inputs; server stays up
  determinism  32 concurrent greedy streams == the same requests one by one
  cancel       a client that disconnects mid-stream frees its KV blocks
  shutdown     SIGTERM with streams in flight: they finish, exit status 0
  slowloris    a client that sends headers byte by byte is cut by the timeout
  load         2,000 requests over 64 connections: no 5xx, no dropped
               stream, RSS back to its baseline afterwards
"""
import atexit
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

STARGATE, MODEL, CASE = sys.argv[1], sys.argv[2], sys.argv[3]
FAILS = []
SERVERS = []


def _cleanup():
    for s in SERVERS:
        if s.p.poll() is None:
            s.p.kill()


atexit.register(_cleanup)


def check(cond, msg):
    if not cond:
        FAILS.append(msg)
        print("FAIL:", msg, file=sys.stderr)


class Server:
    def __init__(self, *extra):
        self.dir = tempfile.mkdtemp(prefix="sg-serve-")
        pf = os.path.join(self.dir, "port")
        self.log = open(os.path.join(self.dir, "log"), "w+")
        self.p = subprocess.Popen([STARGATE, "serve", "-m", MODEL, "--port", "0", "--port-file", pf, "-t", "1",
                                   *extra], stdout=self.log, stderr=subprocess.STDOUT)
        SERVERS.append(self)
        for _ in range(300):
            if os.path.exists(pf) and open(pf).read().strip():
                break
            if self.p.poll() is not None:
                break
            time.sleep(0.05)
        self.port = int(open(pf).read())

    def conn(self, timeout=60):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, timeout=60):
        c = self.conn(timeout)
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        c.request(method, path, body=body, headers=headers or {"Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, dict(r.getheaders()), data

    def post(self, path, obj, timeout=60):
        st, h, data = self.request("POST", path, obj, timeout=timeout)
        try:
            return st, json.loads(data)
        except ValueError:
            return st, data

    def stream(self, path, obj, conn=None, timeout=60):
        """POST with stream: true; returns (status, [parsed chunks], saw_done)."""
        c = conn or self.conn(timeout)
        c.request("POST", path, body=json.dumps(obj), headers={"Content-Type": "application/json"})
        r = c.getresponse()
        if r.status != 200:
            r.read()
            return r.status, [], False
        check(r.getheader("Content-Type") == "text/event-stream", "stream content type")
        chunks, done, buf = [], False, b""
        while True:
            line = r.readline()
            if not line:
                break
            buf += line
            if buf.endswith(b"\n\n"):
                ev = buf.decode()
                buf = b""
                check(ev.startswith("data: "), "SSE event starts with 'data: ': %r" % ev[:40])
                payload = ev[6:-2]
                if payload == "[DONE]":
                    done = True
                    break
                chunks.append(json.loads(payload))
        if done:
            # chunked encoding: read the terminating chunk so the connection can be reused
            r.read()
        if not conn:
            c.close()
        return 200, chunks, done

    def metric(self, name):
        st, h, data = self.request("GET", "/metrics")
        for line in data.decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        return None

    def rss_kb(self):
        for line in open("/proc/%d/status" % self.p.pid):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def stop(self, expect_rc=0):
        self.p.send_signal(signal.SIGTERM)
        try:
            rc = self.p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            rc = "hung"
        check(rc == expect_rc, "server exit status %r (log: %s)" % (rc, self.tail()))

    def alive(self):
        return self.p.poll() is None

    def tail(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()[-2000:]


def chat(content, **kw):
    body = {"model": "m", "messages": [{"role": "user", "content": content}], "temperature": 0}
    body.update(kw)
    return body


def stream_text(chunks, key="content"):
    out = []
    for c in chunks:
        for ch in c.get("choices", []):
            d = ch.get("delta", ch)
            v = d.get(key) if "delta" in ch else d.get("text")
            if v:
                out.append(v)
    return "".join(out)


# ---------------------------------------------------------------- cases


def case_api():
    s = Server("--parallel", "4")
    st, h, data = s.request("GET", "/health")
    check(st == 200 and json.loads(data)["status"] == "ok", "health")
    st, h, data = s.request("GET", "/v1/models")
    m = json.loads(data)
    check(st == 200 and m["object"] == "list" and m["data"][0]["object"] == "model", "models list")

    st, r = s.post("/v1/chat/completions", chat("hello", max_tokens=6))
    check(st == 200, "chat status %d %r" % (st, r))
    check(r["object"] == "chat.completion" and r["choices"][0]["message"]["role"] == "assistant", "chat shape")
    check(r["choices"][0]["finish_reason"] in ("length", "stop"), "finish_reason")
    u = r["usage"]
    check(u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"], "usage sums")
    check(u["completion_tokens"] <= 6, "max_tokens respected")
    text = r["choices"][0]["message"]["content"]

    # the same request streamed gives the same text, role first, finish last, usage when asked
    st, ch, done = s.stream("/v1/chat/completions",
                            chat("hello", max_tokens=6, stream=True, stream_options={"include_usage": True}))
    check(st == 200 and done, "stream ends with [DONE]")
    check(ch[0]["choices"][0]["delta"].get("role") == "assistant", "role in the first delta")
    check(ch[-2]["choices"][0]["finish_reason"] in ("length", "stop"), "finish_reason in the last choice chunk")
    check(ch[-1]["choices"] == [] and ch[-1]["usage"]["completion_tokens"] == u["completion_tokens"], "usage chunk")
    check(all(c["object"] == "chat.completion.chunk" for c in ch), "chunk objects")
    check(stream_text(ch) == text, "stream text == non-stream text: %r vs %r" % (stream_text(ch), text))

    # completions with token ids and with text; logprobs
    st, r = s.post("/v1/completions", {"model": "m", "prompt": [1, 2, 3], "max_tokens": 4, "temperature": 0,
                                       "logprobs": 2})
    check(st == 200 and r["object"] == "text_completion", "completion ids")
    lp = r["choices"][0]["logprobs"]
    check(len(lp["tokens"]) == r["usage"]["completion_tokens"] and len(lp["top_logprobs"][0]) >= 1,
          "completion logprobs")
    st, r2 = s.post("/v1/completions", {"model": "m", "prompt": [1, 2, 3], "max_tokens": 4, "temperature": 0})
    check(r2["choices"][0]["text"] == r["choices"][0]["text"], "greedy is repeatable")
    check(r2["usage"]["prompt_tokens_details"]["cached_tokens"] >= 2, "prefix reused from the cache")
    st, ch, done = s.stream("/v1/completions", {"prompt": "abc", "max_tokens": 3, "stream": True, "temperature": 0})
    check(done and ch[-1]["choices"][0]["finish_reason"] is not None, "completion stream")

    st, r = s.post("/v1/chat/completions", chat("hi", max_tokens=3, logprobs=True, top_logprobs=3))
    c = r["choices"][0]["logprobs"]["content"]
    check(len(c) == r["usage"]["completion_tokens"] and len(c[0]["top_logprobs"]) == 3, "chat logprobs")
    check(c[0]["logprob"] <= 0 and isinstance(c[0]["bytes"], list), "chat logprob fields")

    # seeded sampling is reproducible; extra sampler fields accepted
    a = s.post("/v1/chat/completions", chat("x", max_tokens=5, temperature=0.9, seed=42, top_k=20, min_p=0.01,
                                            repetition_penalty=1.1, presence_penalty=0.5, frequency_penalty=0.2,
                                            logit_bias={"5": -100}, user="u1"))[1]
    b = s.post("/v1/chat/completions", chat("x", max_tokens=5, temperature=0.9, seed=42, top_k=20, min_p=0.01,
                                            repetition_penalty=1.1, presence_penalty=0.5, frequency_penalty=0.2,
                                            logit_bias={"5": -100}, user="u1"))[1]
    check(a["choices"][0]["message"] == b["choices"][0]["message"], "same seed, same answer")

    # a stop string cuts the output before it
    st, r = s.post("/v1/completions", {"prompt": [7, 8], "max_tokens": 12, "temperature": 0})
    full = r["choices"][0]["text"]
    if len(full) > 4:
        stop = full[2:4]
        st, r = s.post("/v1/completions", {"prompt": [7, 8], "max_tokens": 12, "temperature": 0, "stop": [stop]})
        check(r["choices"][0]["text"] == full[:full.index(stop)] and r["choices"][0]["finish_reason"] == "stop",
              "stop string: %r in %r -> %r" % (stop, full, r["choices"][0]["text"]))

    # JSON mode: the output is always a prefix of a JSON object; with '}'
    # favoured it completes as {} and stops
    st, r = s.post("/v1/chat/completions", chat("json please", max_tokens=12,
                                                response_format={"type": "json_object"}))
    out = r["choices"][0]["message"]["content"]
    check(st == 200 and out.lstrip().startswith("{"), "json mode output starts an object: %r" % out)
    if r["choices"][0]["finish_reason"] == "stop":
        json.loads(out)
    st, r = s.post("/v1/chat/completions", chat("json please", max_tokens=12, logit_bias={"125": 100},
                                                response_format={"type": "json_object"}))
    check(r["choices"][0]["message"]["content"].strip() == "{}" and r["choices"][0]["finish_reason"] == "stop",
          "json mode completes: %r" % r["choices"][0])
    st, r = s.post("/v1/chat/completions", chat("json please", max_tokens=40, temperature=1.0, seed=3,
                                                logit_bias={"34": 8, "58": 8, "44": 4, "125": 3},
                                                response_format={"type": "json_object"}))
    out = r["choices"][0]["message"]["content"]
    if r["choices"][0]["finish_reason"] == "stop":
        try:
            json.loads(out)
        except ValueError:
            check(False, "json mode output parses: %r" % out)

    # metrics exist and count
    st, h, data = s.request("GET", "/metrics")
    t = data.decode()
    for name in ("stargate_requests_total{status=\"200\"}", "stargate_prompt_tokens_total",
                 "stargate_generation_tokens_total", "stargate_queue_depth", "stargate_running_sequences",
                 "stargate_kv_cache_usage_ratio", "stargate_time_to_first_token_seconds_bucket",
                 "stargate_inter_token_latency_seconds_count", "stargate_request_duration_seconds_sum"):
        check(name in t, "metric " + name)
    s.stop()


def case_errors():
    s = Server("--parallel", "2", "--ctx", "256", "--max-body", "65536")

    def err(method, path, body, status, param=None, headers=None):
        st, h, data = s.request(method, path, body, headers=headers)
        check(st == status, "%s %s %r: status %d, wanted %d (%r)" % (method, path, str(body)[:60], st, status,
                                                                     data[:200]))
        try:
            e = json.loads(data)["error"]
            check(isinstance(e["message"], str) and "type" in e and "param" in e and "code" in e,
                  "error object fields")
            if param:
                check(e["param"] == param, "param %r, wanted %r" % (e["param"], param))
            return e
        except (ValueError, KeyError):
            check(False, "error body is OpenAI JSON: %r" % data[:200])
            return {}

    def big(path, body):
        # the server answers 413 from Content-Length alone, before the body
        sk = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        sk.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (path.encode(), len(body)))
        try:
            sk.sendall(body[:65536])
        except OSError:
            pass
        got = b""
        try:
            while b"\r\n\r\n" not in got:
                k = sk.recv(4096)
                if not k:
                    break
                got += k
        except OSError:
            pass
        sk.close()
        check(got.startswith(b"HTTP/1.1 413"), "%d-byte body: %r" % (len(body), got[:40]))

    P = "/v1/chat/completions"
    err("POST", P, "{not json", 400)
    err("POST", P, "[1,2]", 400)
    err("POST", P, {"messages": "hi"}, 400, "messages")
    err("POST", P, {"messages": []}, 400, "messages")
    err("POST", P, {"messages": [{"role": "wizard", "content": "x"}]}, 400, "messages[0].role")
    err("POST", P, chat("x", temperature="hot"), 400, "temperature")
    err("POST", P, chat("x", temperature=5), 400, "temperature")
    err("POST", P, chat("x", max_tokens=1.5), 400, "max_tokens")
    err("POST", P, chat("x", n=2), 400, "n")
    err("POST", P, chat("x", stream="yes"), 400, "stream")
    err("POST", P, chat("x", logit_bias={"abc": 1}), 400, "logit_bias")
    err("POST", P, chat("x", response_format={"type": "yaml"}), 400, "response_format.type")
    err("POST", "/v1/completions", {"prompt": [1, 99999]}, 400, "prompt")
    err("POST", "/v1/completions", {"prompt": {"a": 1}}, 400, "prompt")
    e = err("POST", P, chat("x" * 300), 400, "messages")
    check("256" in e.get("message", ""), "context error names the numbers: %r" % e.get("message"))
    e = err("POST", P, chat("x", max_tokens=10 ** 9), 400, "max_tokens")
    check("256" in e.get("message", "") and "1000000000" in e.get("message", ""), "max_tokens error numbers")
    big(P, json.dumps(chat("x", stop=["s%d" % i for i in range(100000)])).encode())  # 1 MB: over 64 KiB
    s2_stops = ["s%d" % i for i in range(1000)]
    err("POST", P, chat("x", stop=s2_stops), 400, "stop")
    big(P, b"[" * 100000 + b"]" * 100000)
    err("POST", P, '{"messages":' + "[" * 5000 + "]" * 5000 + "}", 400)
    err("POST", P, b'{"messages":[{"role":"user","content":"\xff\xfe bad"}]}', 400, "messages[0].content")
    err("POST", P, '{"messages":[{"role":"user","content":"a\\u0000b"}]}', 400)
    big(P, b"x" * (10 << 20))
    err("GET", "/v1/nothing", None, 404)
    err("GET", P, None, 405)
    err("POST", "/v1/models", "{}", 405)
    # chunked upload over the limit (no Content-Length)
    c = s.conn()
    c.putrequest("POST", P)
    c.putheader("Transfer-Encoding", "chunked")
    c.endheaders()
    try:
        for _ in range(20):
            blk = b"x" * 8192
            c.send(b"%x\r\n%s\r\n" % (len(blk), blk))
        c.send(b"0\r\n\r\n")
        r = c.getresponse()
        check(r.status == 413, "chunked upload over the limit: %d" % r.status)
    except (ConnectionError, BrokenPipeError):
        pass  # the server may close after answering 413 early
    c.close()
    # the server is still fine
    st, r = s.post(P, chat("still there?", max_tokens=2))
    check(st == 200, "server answers after bad input")
    check(s.alive(), "server alive")
    s.stop()

    # a full queue answers 503 with Retry-After
    s = Server("--parallel", "1", "--queue", "1")
    results = []

    def slow():
        results.append(s.post("/v1/completions", {"prompt": [1, 2], "max_tokens": 500, "temperature": 0})[0])

    ts = [threading.Thread(target=slow) for _ in range(16)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    check(503 in results and 200 in results, "queue full gives 503: %r" % results)
    st, h, data = s.request("POST", "/v1/completions", json.dumps({"prompt": [1], "max_tokens": 200}))
    s.stop()


def case_determinism():
    s = Server("--parallel", "8", "--batch", "64")
    prompts = []
    for i in range(32):
        if i % 2:
            prompts.append(("/v1/completions", {"prompt": [(i * 7 + k) % 250 + 1 for k in range(3 + i % 9)],
                                                "max_tokens": 12, "temperature": 0, "stream": True}))
        else:
            prompts.append(("/v1/chat/completions",
                            chat("question %d %s" % (i, "long " * (i % 5) * 8), max_tokens=12, stream=True)))
    solo = []
    for path, body in prompts:
        st, ch, done = s.stream(path, body)
        check(st == 200 and done, "solo stream")
        solo.append(stream_text(ch))
    conc = [None] * 32
    dones = [False] * 32

    def run(i):
        path, body = prompts[i]
        st, ch, done = s.stream(path, body, timeout=120)
        conc[i] = stream_text(ch)
        dones[i] = done

    ts = [threading.Thread(target=run, args=(i,)) for i in range(32)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    check(all(dones), "every concurrent stream ends with [DONE]")
    for i in range(32):
        check(conc[i] == solo[i], "request %d: concurrent %r != solo %r" % (i, conc[i], solo[i]))
    check(s.metric("stargate_running_sequences") == 0, "nothing left running")

    # a long shared system prompt: computed once (slot reuse or sg_kv_share
    # from a running sequence), answers unchanged
    system = "You are the assistant of a national deployment. " * 4
    bodies = [{"model": "m", "messages": [{"role": "system", "content": system},
                                          {"role": "user", "content": "q%d" % i}],
               "temperature": 0, "max_tokens": 40, "logit_bias": {"256": -100, "258": -100}} for i in range(8)]
    solo = []
    for b in bodies:
        s.request("POST", "/v1/completions", {"prompt": [299] * 300, "max_tokens": 1})  # evict nothing, new slot content
        solo.append(s.post("/v1/chat/completions", b)[1]["choices"][0]["message"]["content"])
    before = s.metric("stargate_prefix_cache_hit_tokens_total")
    got, cached = [None] * 8, [0] * 8

    def run(i):
        st, r = s.post("/v1/chat/completions", bodies[i])
        got[i] = r["choices"][0]["message"]["content"]
        cached[i] = r["usage"]["prompt_tokens_details"]["cached_tokens"]

    ts = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    for t in ts:
        t.start()
        time.sleep(0.01)
    for t in ts:
        t.join()
    check(got == solo, "shared-prefix answers equal their solo runs")
    check(sum(1 for c in cached if c >= 150) >= 4, "the system prompt was reused: cached %r" % cached)
    check(s.metric("stargate_prefix_cache_hit_tokens_total") > before, "prefix cache hits counted")
    s.stop()


def case_preempt():
    # a KV pool far below 4 sequences x their length: admission control and
    # preemption (recompute) must keep every answer identical to a solo run
    s = Server("--parallel", "4", "--ctx", "512", "--kv-blocks", "40", "--batch", "64")
    reqs = [{"prompt": [(i * 13 + k) % 250 + 1 for k in range(120)], "max_tokens": 100, "temperature": 0,
             "stream": True} for i in range(6)]
    solo = [stream_text(s.stream("/v1/completions", r)[1]) for r in reqs]
    out, dones = [None] * 6, [False] * 6

    def run(i):
        st, ch, done = s.stream("/v1/completions", reqs[i], timeout=120)
        out[i], dones[i] = stream_text(ch), done

    ts = [threading.Thread(target=run, args=(i,)) for i in range(6)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    check(all(dones), "all streams done")
    for i in range(6):
        check(out[i] == solo[i], "request %d under KV pressure differs from its solo run" % i)
    print("preemptions:", s.metric("stargate_preemptions_total"))
    check(s.metric("stargate_preemptions_total") > 0, "the pool was small enough to preempt")
    s.stop()


def case_cancel():
    s = Server("--parallel", "2")
    base = s.metric("stargate_kv_cache_blocks_used")
    sk = socket.create_connection(("127.0.0.1", s.port), timeout=10)
    body = json.dumps({"prompt": [1, 2, 3] * 50, "max_tokens": 300, "temperature": 0, "stream": True}).encode()
    sk.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    got = b""
    while got.count(b"data: ") < 3:
        got += sk.recv(4096)
    check(s.metric("stargate_running_sequences") == 1, "the stream is running")
    sk.close()
    ok = False
    for _ in range(100):
        if s.metric("stargate_running_sequences") == 0 and s.metric("stargate_kv_cache_blocks_used") == base:
            ok = True
            break
        time.sleep(0.05)
    check(ok, "cancelled sequence freed: running %r, blocks %r (base %r)" % (
        s.metric("stargate_running_sequences"), s.metric("stargate_kv_cache_blocks_used"), base))
    # non-streaming request abandoned by its client
    sk = socket.create_connection(("127.0.0.1", s.port), timeout=10)
    body = json.dumps({"prompt": [4, 5] * 40, "max_tokens": 400, "temperature": 0}).encode()
    sk.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    time.sleep(0.3)
    sk.close()
    ok = False
    for _ in range(100):
        if s.metric("stargate_running_sequences") == 0:
            ok = True
            break
        time.sleep(0.05)
    check(ok, "abandoned non-streaming request cancelled")
    s.stop()


def case_shutdown():
    s = Server("--parallel", "4")
    res = []

    def run():
        res.append(s.stream("/v1/completions", {"prompt": [1, 2, 3], "max_tokens": 60, "temperature": 0,
                                                "stream": True}))

    ts = [threading.Thread(target=run) for _ in range(4)]
    for t in ts:
        t.start()
    time.sleep(0.3)
    s.stop(expect_rc=0)
    for t in ts:
        t.join()
    check(len(res) == 4 and all(r[2] for r in res), "in-flight streams finished with [DONE] on SIGTERM")
    check(all(len(r[1]) >= 2 for r in res), "in-flight streams produced tokens")


def case_slowloris():
    s = Server("--timeout", "2")
    sk = socket.create_connection(("127.0.0.1", s.port), timeout=10)
    sk.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\n")
    t0 = time.time()
    closed = False
    try:
        for ch in b"Content-Type: application/json\r\n" * 10:
            sk.sendall(bytes([ch]))
            time.sleep(0.5 if time.time() - t0 < 1 else 3)
            if time.time() - t0 > 12:
                break
    except (BrokenPipeError, ConnectionResetError):
        closed = True
    if not closed:
        sk.settimeout(5)
        try:
            closed = sk.recv(100) == b""
        except (ConnectionResetError, socket.timeout):
            closed = True
    check(closed and time.time() - t0 < 15, "slow client disconnected by the timeout")
    sk.close()
    st, r = s.post("/v1/completions", {"prompt": [1], "max_tokens": 2})
    check(st == 200, "server fine after a slow client")
    s.stop()

    # the idle timeout must not cut requests that wait (queued, long prefill)
    s = Server("--timeout", "1", "--parallel", "1")
    res = []

    def run(i):
        body = {"prompt": [1, 2, i], "max_tokens": 480, "temperature": 0, "logit_bias": {"256": -100, "257": -100, "258": -100}}
        if i % 2:
            body["stream"] = True
            st, ch, done = s.stream("/v1/completions", body)
            res.append(st == 200 and done)
        else:
            st, r = s.post("/v1/completions", body)
            res.append(st == 200 and r["usage"]["completion_tokens"] == 480)

    t0 = time.time()
    ts = [threading.Thread(target=run, args=(i,)) for i in range(40)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print("40 queued requests took %.1f s with a 1 s idle timeout" % (time.time() - t0))
    check(len(res) == 40 and all(res), "queued requests survive the idle timeout: %r" % res)
    s.stop()


def case_load():
    s = Server("--parallel", "16", "--batch", "128")
    N_CONN, N_REQ = 64, 2000
    counter = {"next": 0, "status": {}, "dropped": 0, "errors": 0}
    lock = threading.Lock()

    def worker(n_total):
        c = s.conn(120)
        while True:
            with lock:
                i = counter["next"]
                if i >= n_total:
                    break
                counter["next"] += 1
            try:
                if i % 2:
                    st, ch, done = s.stream("/v1/completions", {"prompt": [i % 250 + 1, 2, 3], "max_tokens": 4,
                                                                "temperature": 0, "stream": True}, conn=c)
                    if st == 200 and not done:
                        with lock:
                            counter["dropped"] += 1
                else:
                    c.request("POST", "/v1/chat/completions", body=json.dumps(chat("load %d" % i, max_tokens=4)),
                              headers={"Content-Type": "application/json"})
                    r = c.getresponse()
                    r.read()
                    st = r.status
            except (OSError, http.client.HTTPException):
                with lock:
                    counter["errors"] += 1
                c.close()
                c = s.conn(120)
                continue
            with lock:
                counter["status"][st] = counter["status"].get(st, 0) + 1
        c.close()

    def run(n_total):
        counter["next"] = 0
        ts = [threading.Thread(target=worker, args=(n_total,)) for _ in range(N_CONN)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()

    run(256)  # warm-up: threads, arenas, caches at their steady size
    base = s.rss_kb()
    counter["status"] = {}
    t0 = time.time()
    run(N_REQ)
    dt = time.time() - t0
    after = s.rss_kb()
    print("load: %d requests over %d connections in %.1f s: %r, dropped %d, errors %d, RSS %d -> %d KiB" % (
        N_REQ, N_CONN, dt, counter["status"], counter["dropped"], counter["errors"], base, after))
    check(sum(counter["status"].values()) == N_REQ and counter["status"].get(200, 0) == N_REQ,
          "every request answered 200: %r" % counter["status"])
    check(counter["dropped"] == 0 and counter["errors"] == 0, "no dropped stream, no connection error")
    # sanitizer runtimes (shadow memory, quarantines) grow RSS by design: the
    # memory check is for the plain build; SG_SANITIZED=1 keeps the rest
    if os.environ.get("SG_SANITIZED") != "1":
        check(after < base + 32 * 1024, "RSS back to baseline: %d KiB -> %d KiB" % (base, after))
    check(s.metric("stargate_running_sequences") == 0 and s.metric("stargate_queue_depth") == 0, "idle after")
    s.stop()


def case_reasoning():
    global MODEL
    d = tempfile.mkdtemp(prefix="sg-serve-r-")
    MODEL = os.path.join(d, "r.gguf")
    subprocess.check_call([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "make_model.py"),
                           MODEL, "--seed", "9", "--reasoning"])
    s = Server()
    st, r = s.post("/v1/chat/completions", chat("why?", max_tokens=8))
    m = r["choices"][0]["message"]
    check(st == 200 and len(m.get("reasoning_content", "")) > 0, "reasoning_content present: %r" % m)
    st, ch, done = s.stream("/v1/chat/completions", chat("why?", max_tokens=8, stream=True))
    check(done and stream_text(ch, "reasoning_content") == m["reasoning_content"] and
          stream_text(ch) == m["content"], "streamed reasoning == non-streamed")
    # user text cannot forge control tokens: "<|im_end|>" in content is plain text
    st, r1 = s.post("/v1/chat/completions", chat("<|im_end|>", max_tokens=1))
    st, r2 = s.post("/v1/chat/completions", chat("", max_tokens=1))
    check(r1["usage"]["prompt_tokens"] == r2["usage"]["prompt_tokens"] + len("<|im_end|>"),
          "control-token text in a message is encoded as bytes: %d vs %d" % (r1["usage"]["prompt_tokens"],
                                                                            r2["usage"]["prompt_tokens"]))
    s.stop()


CASES = {"reasoning": case_reasoning, "preempt": case_preempt, "api": case_api, "errors": case_errors, "determinism": case_determinism, "cancel": case_cancel,
         "shutdown": case_shutdown, "slowloris": case_slowloris, "load": case_load}

if __name__ == "__main__":
    CASES[CASE]()
    print("%s: %s" % (CASE, "ok" if not FAILS else "%d failures" % len(FAILS)))
    sys.exit(1 if FAILS else 0)
