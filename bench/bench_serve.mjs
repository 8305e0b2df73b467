// bench_serve.mjs -- load generator for `stargate serve` (a benchmark, not a test).
//
//   node bench/bench_serve.mjs --url http://127.0.0.1:8080 [--concurrency 1,4,16,64]
//        [--requests N] [--prompt-len 32] [--max-tokens 32] [--chat]
//
// For each concurrency level C it keeps C streaming requests in flight until
// N requests (default C, at least 4) are done, and prints aggregate
// generated tokens/s (all streams' tokens / wall time) and p50/p99 of the
// time to first token. Prompts are distinct token-id lists (completions), so
// no prefix is shared between requests; --chat sends chat requests instead.
// Only Node's built-in http module is used.
import http from "node:http";

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith("--")) acc.push([a.slice(2), all[i + 1] && !all[i + 1].startsWith("--") ? all[i + 1] : "1"]);
  return acc;
}, []));
const url = new URL(args.url || "http://127.0.0.1:8080");
const levels = (args.concurrency || "1,4,16,64").split(",").map(Number);
const promptLen = Number(args["prompt-len"] || 32);
const maxTokens = Number(args["max-tokens"] || 32);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1024 });
process.on("unhandledRejection", (e) => { console.error("bench_serve:", e); process.exit(1); });
// a level whose requests all stall must not let node exit silently
const keepAlive = setInterval(() => {}, 1000);

let counter = Number(args.seed || Date.now() % 100000);
function oneRequest() {
  const i = counter++;
  return new Promise((resolve, reject) => {
    // distinct from the first token on: no request reuses another's prefix
    const prompt = Array.from({ length: promptLen }, (_, k) => ((i * 7919 + k * 104729 + i * k) % 150000) + 10);
    const body = args.chat
      ? { model: "m", messages: [{ role: "user", content: `request ${i} ${"x ".repeat(promptLen / 2)}` }],
          max_tokens: maxTokens, temperature: 0, stream: true }
      : { model: "m", prompt, max_tokens: maxTokens, temperature: 0, stream: true };
    const path = args.chat ? "/v1/chat/completions" : "/v1/completions";
    const t0 = performance.now();
    let ttft = null, tokens = 0, buf = "", done = false;
    const req = http.request({ host: url.hostname, port: url.port, path, method: "POST", agent,
                               headers: { "Content-Type": "application/json" } }, (res) => {
      if (res.statusCode !== 200) { res.resume(); return reject(new Error(`status ${res.statusCode}`)); }
      res.setEncoding("utf8");
      res.on("data", (d) => {
        buf += d;
        let k;
        while ((k = buf.indexOf("\n\n")) >= 0) {
          const ev = buf.slice(0, k);
          buf = buf.slice(k + 2);
          const payload = ev.slice(6);
          if (payload === "[DONE]") { done = true; continue; }
          const c = JSON.parse(payload);
          const ch = c.choices && c.choices[0];
          const text = ch && (ch.text ?? ch.delta?.content ?? ch.delta?.reasoning_content);
          if (ch && !ch.finish_reason && (text !== undefined && text !== null) && !(ch.delta && ch.delta.role)) {
            if (ttft === null) ttft = performance.now() - t0;
            tokens++;
          }
        }
      });
      res.on("end", () => done ? resolve({ ttft: ttft ?? performance.now() - t0, tokens })
                               : reject(new Error("stream ended without [DONE]")));
      res.on("error", reject);
      res.on("close", () => { if (!done) reject(new Error("connection closed mid-stream")); });
    });
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

function pct(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p / 100 * s.length))];
}

console.log(`# ${url.href} prompt ${promptLen} tokens, max_tokens ${maxTokens}${args.chat ? ", chat" : ""}`);
console.log("concurrency  requests  gen_tokens  seconds  tokens/s  ttft_p50_ms  ttft_p99_ms  errors");
let base = null;
for (const c of levels) {
  const n = Number(args.requests || Math.max(4, c));
  let next = 0, errors = 0;
  const ttfts = [];
  let tokens = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: c }, async () => {
    while (next < n) {
      next++;
      try {
        const r = await oneRequest();
        ttfts.push(r.ttft);
        tokens += r.tokens;
      } catch (e) {
        if (!errors) console.error(`bench_serve: ${e.message}`);
        errors++;
      }
    }
  }));
  const secs = (performance.now() - t0) / 1000;
  const tps = tokens / secs;
  if (base === null) base = tps;
  if (!ttfts.length) ttfts.push(NaN);
  console.log(`${String(c).padStart(11)}  ${String(n).padStart(8)}  ${String(tokens).padStart(10)}  ` +
              `${secs.toFixed(1).padStart(7)}  ${tps.toFixed(1).padStart(8)}  ` +
              `${pct(ttfts, 50).toFixed(0).padStart(11)}  ${pct(ttfts, 99).toFixed(0).padStart(11)}  ` +
              `${String(errors).padStart(6)}   (x${(tps / base).toFixed(2)})`);
}
agent.destroy();
clearInterval(keepAlive);
