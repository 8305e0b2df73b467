// test_openai.mjs STARGATE MODEL -- `stargate serve` through the official
// OpenAI JavaScript client (npm "openai"): chat (plain and streamed),
// completions, the models list and an error the client must surface.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";
import OpenAI from "openai";

const [stargate, model] = process.argv.slice(2);
const dir = mkdtempSync(join(tmpdir(), "sg-openai-"));
const portFile = join(dir, "port");
const srv = spawn(stargate, ["serve", "-m", model, "--port", "0", "--port-file", portFile, "-t", "1", "--quiet"],
                  { stdio: "inherit" });
const exited = new Promise((res) => srv.on("exit", (code, sig) => res(code ?? sig)));
const killer = setTimeout(() => { srv.kill("SIGKILL"); process.exit(1); }, 50000);

for (let i = 0; i < 200 && !(existsSync(portFile) && readFileSync(portFile, "utf8").trim()); i++)
  await new Promise((r) => setTimeout(r, 50));
const port = readFileSync(portFile, "utf8").trim();
const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: "none", maxRetries: 0, timeout: 30000 });

let failed = 0;
async function test(name, fn) {
  try {
    await fn();
    console.log(`ok   ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e.stack || e}`);
  }
}

const messages = [{ role: "system", content: "You are brief." }, { role: "user", content: "Hello there" }];
let plain = null;

await test("models.list", async () => {
  const list = await client.models.list();
  assert.ok(list.data.length === 1 && list.data[0].object === "model");
});

await test("chat.completions.create", async () => {
  plain = await client.chat.completions.create({ model: "m", messages, max_tokens: 8, temperature: 0 });
  assert.equal(plain.object, "chat.completion");
  assert.equal(plain.choices[0].message.role, "assistant");
  assert.ok(["stop", "length"].includes(plain.choices[0].finish_reason));
  assert.equal(plain.usage.total_tokens, plain.usage.prompt_tokens + plain.usage.completion_tokens);
});

await test("chat.completions.create stream", async () => {
  const stream = await client.chat.completions.create({ model: "m", messages, max_tokens: 8, temperature: 0,
                                                       stream: true, stream_options: { include_usage: true } });
  let text = "", finish = null, usage = null, first = true;
  for await (const chunk of stream) {
    if (first) assert.equal(chunk.choices[0].delta.role, "assistant");
    first = false;
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      text += c.delta.content ?? "";
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  assert.equal(text, plain.choices[0].message.content);
  assert.equal(finish, plain.choices[0].finish_reason);
  assert.equal(usage.completion_tokens, plain.usage.completion_tokens);
});

await test("completions.create", async () => {
  const r = await client.completions.create({ model: "m", prompt: [1, 2, 3], max_tokens: 5, temperature: 0,
                                              logprobs: 2 });
  assert.equal(r.object, "text_completion");
  assert.equal(r.choices[0].logprobs.tokens.length, r.usage.completion_tokens);
  const s = await client.completions.create({ model: "m", prompt: [1, 2, 3], max_tokens: 5, temperature: 0,
                                              stream: true });
  let text = "";
  for await (const chunk of s) text += chunk.choices[0]?.text ?? "";
  assert.equal(text, r.choices[0].text);
});

await test("error surfaces as BadRequestError", async () => {
  await assert.rejects(client.chat.completions.create({ model: "m", messages, n: 3 }), (e) => {
    assert.ok(e instanceof OpenAI.BadRequestError, `got ${e.constructor.name}`);
    assert.equal(e.status, 400);
    assert.equal(e.param, "n");
    assert.match(e.message, /n = 3/);
    return true;
  });
});

srv.kill("SIGTERM");
const code = await exited;
clearTimeout(killer);
if (code !== 0) { failed++; console.log(`FAIL server exit status ${code}`); }
console.log(failed ? `openai: ${failed} failed` : "openai: ok");
process.exit(failed ? 1 : 0);
