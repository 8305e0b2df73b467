// test_webchat.mjs -- the web chat end to end: `stargate serve` with a store
// and the deployments, driven in headless Chromium (Debian's
// /usr/bin/chromium) by playwright-core.
//
//   node tests/web/test_webchat.mjs STARGATE MODEL DEPLOYMENTS_DIR OUT_DIR [REASONING_MODEL]
//
// Exit status: 0 passed, 1 failed, 77 skipped (no playwright-core or no
// Chromium). Screenshots are written to OUT_DIR (paths printed).
//
// Steps: the embedded files and their headers; sign-in (a wrong key is
// refused, the real one accepted); the French deployment's interface strings;
// a message streamed to completion and stored with its answer; reload keeps
// the conversation, which is in the list with both messages; Stop; the
// Markdown renderer fed hostile input inside the page; export; deleting the
// conversation (gone from the page and from the API); the Arabic deployment
// lays the page out right to left; deleting the account ends the key; a
// rate-limited key gets a polite 429 message; a --no-auth server needs no key.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CHROMIUM = process.env.SG_CHROMIUM || '/usr/bin/chromium';
const STEP_MS = 30000; // upper bound for any single wait

let fails = 0;
function check(cond, msg) {
    if (!cond) {
        fails++;
        console.error('FAIL:', msg);
    }
    return Boolean(cond);
}

function log(msg) {
    console.log(`[webchat] ${msg}`);
}

// ---------------------------------------------------------------- the server

const servers = [];
process.on('exit', () => {
    for (const s of servers) {
        if (s.proc.exitCode === null) {
            s.proc.kill('SIGKILL');
        }
    }
});

async function sleep(ms) {
    await new Promise((r) => setTimeout(r, ms));
}

async function startServer(stargate, model, extra, dir) {
    const portFile = path.join(dir, `port-${servers.length}`);
    const logFile = path.join(dir, `server-${servers.length}.log`);
    const out = fs.openSync(logFile, 'w');
    const proc = spawn(stargate, ['serve', '-m', model, '--port', '0', '--port-file', portFile, '-t', '1', ...extra],
        { stdio: ['ignore', out, out] });
    const s = { proc, logFile };
    servers.push(s);
    for (let i = 0; i < 600; i++) {
        if (fs.existsSync(portFile) && fs.readFileSync(portFile, 'utf8').trim()) {
            s.port = parseInt(fs.readFileSync(portFile, 'utf8'), 10);
            s.base = `http://127.0.0.1:${s.port}`;
            return s;
        }
        if (proc.exitCode !== null) {
            break;
        }
        await sleep(50);
    }
    throw new Error(`the server did not start:\n${fs.readFileSync(logFile, 'utf8').slice(-2000)}`);
}

async function stopServer(s) {
    if (s.proc.exitCode !== null) {
        return s.proc.exitCode;
    }
    const exited = new Promise((r) => s.proc.once('exit', (code, sig) => r(code ?? sig)));
    s.proc.kill('SIGTERM');
    const t = setTimeout(() => s.proc.kill('SIGKILL'), 15000);
    const code = await exited;
    clearTimeout(t);
    return code;
}

async function apiCall(base, key, method, p, body) {
    const headers = {};
    if (key) {
        headers.Authorization = `Bearer ${key}`;
    }
    if (body !== undefined) {
        headers['Content-Type'] = 'application/json';
    }
    const res = await fetch(base + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let json = null;
    try {
        json = JSON.parse(text);
    } catch {
        // not JSON
    }
    return { status: res.status, headers: res.headers, json, text };
}

// ---------------------------------------------------------------- the browser

// A page whose script errors, console errors (CSP violations included) and
// dialogs are collected in errors; failed loads with an expected status
// (expectedStatus, a regular expression) are not errors.
async function newPage(browser, errors, expectedStatus = /^(401|404)$/) {
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1200, height: 800 } });
    const page = await context.newPage();
    page.setDefaultTimeout(STEP_MS);
    page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
    page.on('console', (m) => {
        // CSP violations and script errors are reported on the console
        const load = /Failed to load resource: the server responded with a status of (\d+)/.exec(m.text());
        if (m.type() === 'error' && !(load && expectedStatus.test(load[1]))) {
            errors.push(`console: ${m.text()}`);
        }
    });
    page.on('dialog', async (d) => {
        errors.push(`unexpected ${d.type()} dialog: ${d.message()}`);
        await d.dismiss();
    });
    return { context, page };
}

async function htmlAttrs(page) {
    return page.evaluate(() => ({ dir: document.documentElement.dir, lang: document.documentElement.lang }));
}

async function assistantDone(page, n) {
    // the n-th assistant message (1-based) leaves the streaming state
    // (or an error is shown: then fail at once with its text)
    await page.waitForFunction((k) => {
        const m = document.querySelectorAll('[data-testid="message"][data-role="assistant"]');
        return (m.length >= k && m[k - 1].dataset.status !== 'streaming') ||
            (!document.getElementById('error-banner').hidden &&
                document.getElementById('error-banner').dataset.kind === 'error');
    }, n, { timeout: 60000 });
    const banner = page.getByTestId('error-banner');
    if (await banner.isVisible() && await banner.getAttribute('data-kind') === 'error') {
        throw new Error(`the chat shows an error: ${await banner.textContent()}`);
    }
}

// The renderer inside the page (real DOM), on hostile input.
async function markdownInPage(page) {
    return page.evaluate(async () => {
        const { renderMarkdown, ALLOWED_TAGS, ALLOWED_ATTRS } = await import('/markdown.js');
        const inputs = [
            '<img src=x onerror=alert(1)>', '<script>alert(1)</script>', '[x](javascript:alert(1))',
            '[y](data:text/html,<script>alert(1)</script>)', '<a href="javascript:alert(1)">z</a>',
            '**<svg onload=alert(1)>**', '```\n<script>alert(1)</script>\n```', '> <iframe src=x></iframe>',
            '[ok](https://example.org/) `<b>` *<i onmouseover=alert(1)>*',
        ];
        const problems = [];
        const box = document.createElement('div');
        for (const src of inputs) {
            box.replaceChildren(renderMarkdown(src, document));
            for (const e of box.querySelectorAll('*')) {
                if (!ALLOWED_TAGS.includes(e.tagName)) {
                    problems.push(`${src}: <${e.tagName}>`);
                }
                for (const a of e.attributes) {
                    if (!ALLOWED_ATTRS.includes(a.name)) {
                        problems.push(`${src}: attribute ${a.name}`);
                    }
                }
                if (e.tagName === 'A' && !/^https?:\/\//.test(e.getAttribute('href'))) {
                    problems.push(`${src}: link ${e.getAttribute('href')}`);
                }
            }
        }
        box.replaceChildren(renderMarkdown('<img src=x onerror=alert(1)>', document));
        const kept = box.textContent === '<img src=x onerror=alert(1)>';
        return { problems, kept };
    });
}

export async function runBrowser(chromium, base, key, deployments, outDir) {
    const errors = [];
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], headless: true });
    try {
        const { context, page } = await newPage(browser, errors);
        const fr = deployments.find((d) => d.language === 'fr' || /^fr/.test(d.locale || ''));
        const ar = deployments.find((d) => d.language === 'ar' || d.dir === 'rtl');
        check(fr, 'a French deployment is listed');
        check(ar, 'an Arabic (rtl) deployment is listed');

        // --- sign-in
        await page.goto(`${base}/`);
        await page.getByTestId('signin-form').waitFor();
        await page.getByTestId('signin-key').fill('sk-sg-not-a-real-key');
        await page.getByTestId('signin-submit').click();
        await page.getByTestId('signin-error').waitFor();
        check((await page.getByTestId('signin-error').textContent()).length > 10, 'a wrong key is explained');
        check(await page.getByTestId('app').isHidden(), 'a wrong key does not open the chat');
        await page.getByTestId('signin-key').fill(key);
        await page.getByTestId('signin-key').press('Enter');
        await page.getByTestId('app').waitFor();
        check(await page.evaluate(() => sessionStorage.getItem('stargate.key')) === key,
            'the key is kept in sessionStorage');
        check(await page.evaluate(() => localStorage.length) === 0, 'nothing in localStorage');
        log('signed in');

        // --- French deployment
        if (fr) {
            await page.getByTestId('deployment-select').selectOption(fr.id);
            const attrs = await htmlAttrs(page);
            check(attrs.dir === 'ltr', `French: dir is ltr (${attrs.dir})`);
            check(/^fr/.test(attrs.lang), `French: lang is fr (${attrs.lang})`);
            check(await page.getByTestId('greeting').textContent() === fr.ui.greeting, 'French greeting shown');
            check(await page.getByTestId('send').textContent() === fr.ui.send, 'French send button');
            check(await page.getByTestId('new-chat').textContent() === fr.ui.new_chat, 'French new chat button');
            check(await page.getByTestId('composer-input').getAttribute('placeholder') === fr.ui.placeholder,
                'French placeholder');
        }

        // --- a message, streamed
        const question = 'Bonjour ! Quelle est la capitale de la France ?';
        await page.getByTestId('composer-input').fill(question);
        await page.getByTestId('composer-input').press('Enter');
        await assistantDone(page, 1);
        const status1 = await page.locator('[data-testid="message"][data-role="assistant"]').first()
            .getAttribute('data-status');
        check(['complete', 'content_filter'].includes(status1), `the answer completed (${status1})`);
        check(await page.getByTestId('send').isVisible(), 'Send is back after the answer');
        const hash = await page.evaluate(() => location.hash);
        const m = /^#(c_[0-9a-f]{32})$/.exec(hash);
        check(m, `the conversation id is in the URL (${hash})`);
        const convId = m ? m[1] : '';
        const shownAnswer = await page.locator('[data-testid="message"][data-role="assistant"] ' +
            '[data-testid="message-content"]').first().textContent();
        log(`answer streamed (${shownAnswer.length} characters shown) in ${convId}`);
        const stored = await apiCall(base, key, 'GET', `/v1/conversations/${convId}`);
        check(stored.status === 200, `GET /v1/conversations/{id}: ${stored.status}`);
        const msgs = (stored.json?.messages || []).filter((x) => x.role !== 'system');
        check(msgs.length === 2 && msgs[0].role === 'user' && msgs[0].content === question &&
            msgs[1].role === 'assistant' && msgs[1].status === 'complete',
        `stored: the question and the complete answer (${JSON.stringify(msgs).slice(0, 300)})`);
        if (fr) {
            check(stored.json?.deployment === fr.id, `the conversation belongs to ${fr.id}`);
        }
        await page.screenshot({ path: path.join(outDir, 'webchat-fr.png') });

        // --- reload: the conversation is still open and in the list
        await page.reload();
        await page.getByTestId('app').waitFor();
        await page.locator(`[data-testid="conversation-item"][data-id="${convId}"]`).waitFor();
        await page.waitForFunction(() => document.querySelectorAll('[data-testid="message"]').length === 2);
        await page.getByTestId('new-chat').click();
        check(await page.getByTestId('message').count() === 0, 'New chat empties the view');
        check(await page.getByTestId('greeting').isVisible(), 'New chat shows the greeting');
        await page.locator(`[data-testid="conversation-item"][data-id="${convId}"] button`).click();
        await page.waitForFunction(() => document.querySelectorAll('[data-testid="message"]').length === 2);
        const userText = await page.locator('[data-testid="message"][data-role="user"] [data-testid="message-content"]')
            .first().textContent();
        check(userText === question, `reopened: the question (${userText})`);
        const reText = await page.locator('[data-testid="message"][data-role="assistant"] ' +
            '[data-testid="message-content"]').first().textContent();
        check(reText === shownAnswer, `reopened: the same answer as streamed (${reText.length} characters shown ` +
            `after the reload, ${shownAnswer.length} while streaming; the server stores ` +
            `${(msgs[1]?.content || '').length})`);
        log('reload keeps the conversation');

        // --- Stop: a second message, stopped once its answer has started (the
        // request has reached the server); a fast answer may finish first
        await page.getByTestId('composer-input').fill('Raconte une longue histoire.');
        await page.getByTestId('send').click();
        await page.waitForFunction(() => {
            const m = document.querySelectorAll('[data-testid="message"][data-role="assistant"]');
            return m.length >= 2 && (m[1].dataset.status !== 'streaming' ||
                m[1].querySelector('[data-testid="message-content"]').textContent.length > 0);
        });
        await page.getByTestId('stop').click({ timeout: 2000 }).catch(() => null);
        await assistantDone(page, 2);
        await page.getByTestId('send').waitFor();
        const second = page.locator('[data-testid="message"][data-role="assistant"]').nth(1);
        const st2 = await second.getAttribute('data-status');
        check(['interrupted', 'complete', 'content_filter'].includes(st2), `after Stop: ${st2}`);
        if (st2 === 'interrupted') {
            check(await second.getByTestId('message-marker').isVisible(), 'a stopped answer carries a marker');
        }
        // the server settles the answer: interrupted, or complete when it ended as Stop was pressed
        let serverStatus = 'streaming';
        for (let i = 0; i < 100 && serverStatus === 'streaming'; i++) {
            const c = await apiCall(base, key, 'GET', `/v1/conversations/${convId}`);
            const answers = (c.json?.messages || []).filter((x) => x.role === 'assistant');
            serverStatus = answers.length === 2 ? answers[1].status : 'streaming';
            if (serverStatus === 'streaming') {
                await sleep(100);
            }
        }
        check(['interrupted', 'complete'].includes(serverStatus), `the stopped answer is stored as ${serverStatus}`);
        check(st2 !== 'interrupted' || serverStatus === 'interrupted' || serverStatus === 'complete',
            'stored status after Stop');
        await page.reload();
        await page.waitForFunction(() => document.querySelectorAll('[data-testid="message"]').length === 4);
        const reloaded = page.locator('[data-testid="message"][data-role="assistant"]').nth(1);
        check(await reloaded.getAttribute('data-status') === serverStatus,
            `after a reload the second answer is ${serverStatus}`);
        check(await reloaded.getByTestId('message-marker').isVisible() === (serverStatus === 'interrupted'),
            'after a reload an interrupted answer (only) shows its marker');
        log(`Stop: the page says ${st2}, the server ${serverStatus}`);

        // --- the Markdown renderer in the page, on hostile input
        const md = await markdownInPage(page);
        check(md.problems.length === 0, `markdown in the page: ${md.problems.join('; ')}`);
        check(md.kept, 'markdown in the page: the HTML stays visible text');

        // --- export
        await page.getByTestId('settings').locator('summary').click();
        const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export').click()]);
        const file = path.join(outDir, 'webchat-export.json');
        await download.saveAs(file);
        let exported = null;
        try {
            exported = JSON.parse(fs.readFileSync(file, 'utf8'));
        } catch (e) {
            check(false, `the export is JSON: ${e.message}`);
        }
        check(exported && JSON.stringify(exported).includes(question), 'the export holds the conversation');
        check(/\.json$/.test(download.suggestedFilename()), `export file name ${download.suggestedFilename()}`);
        log(`export downloaded (${fs.statSync(file).size} bytes)`);

        // --- delete the conversation
        await page.getByTestId('delete-chat').click();
        await page.getByTestId('confirm-ok').click();
        await page.locator(`[data-testid="conversation-item"][data-id="${convId}"]`).waitFor({ state: 'detached' });
        check(await page.getByTestId('message').count() === 0, 'the deleted conversation left the view');
        const gone = await apiCall(base, key, 'GET', `/v1/conversations/${convId}`);
        check(gone.status === 404, `deleted conversation answers 404 (${gone.status})`);
        const list = await apiCall(base, key, 'GET', '/v1/conversations');
        check(list.status === 200 && !(list.json?.data || []).some((c) => c.id === convId),
            'the deleted conversation is not listed');
        await page.reload();
        await page.getByTestId('app').waitFor();
        check(await page.locator(`[data-testid="conversation-item"][data-id="${convId}"]`).count() === 0,
            'after a reload the deleted conversation is not listed');
        log('conversation deleted');

        // --- Arabic: right to left
        if (ar) {
            await page.getByTestId('deployment-select').selectOption(ar.id);
            const attrs = await htmlAttrs(page);
            check(attrs.dir === 'rtl', `Arabic: dir is rtl (${attrs.dir})`);
            check(/^ar/.test(attrs.lang), `Arabic: lang is ar (${attrs.lang})`);
            check(await page.getByTestId('greeting').textContent() === ar.ui.greeting, 'Arabic greeting shown');
            const side = await page.getByTestId('sidebar').boundingBox();
            const chat = await page.getByTestId('messages').boundingBox();
            check(side && chat && side.x > chat.x, 'Arabic: the sidebar is on the right');
            const align = await page.getByTestId('composer-input').evaluate((e) => getComputedStyle(e).direction);
            check(align === 'rtl', `Arabic: the message box writes right to left (${align})`);
            await page.getByTestId('composer-input').fill('مرحبا');
            await page.getByTestId('composer-input').press('Enter');
            await assistantDone(page, 1);
            const user = await page.locator('[data-testid="message"][data-role="user"]').first().boundingBox();
            const bot = await page.locator('[data-testid="message"][data-role="assistant"]').first().boundingBox();
            check(user && bot && user.x < bot.x, 'Arabic: the person\'s bubble is on the left, the answer on the right');
            const shot = path.join(outDir, 'webchat-ar.png');
            await page.screenshot({ path: shot });
            log(`screenshot ${shot}`);
        }

        // --- narrow screen: the sidebar becomes a drawer
        await page.setViewportSize({ width: 390, height: 800 });
        check(await page.getByTestId('sidebar').isHidden(), 'narrow: the sidebar is folded');
        await page.locator('#open-sidebar').click();
        check(await page.getByTestId('sidebar').isVisible(), 'narrow: the menu opens the sidebar');
        await page.keyboard.press('Escape');
        await page.setViewportSize({ width: 1200, height: 800 });

        // --- delete the account: the key stops working
        await page.getByTestId('settings').evaluate((d) => { d.open = true; });
        await page.getByTestId('delete-account').click();
        await page.getByTestId('confirm-cancel').click();
        check(await page.getByTestId('app').isVisible(), 'cancelling keeps the account');
        check((await apiCall(base, key, 'GET', '/v1/me')).status === 200, 'cancel: the key still works');
        await page.getByTestId('delete-account').click();
        await page.getByTestId('confirm-ok').click();
        await page.getByTestId('signin-form').waitFor();
        check((await page.getByTestId('signin-error').textContent()).length > 0, 'account deletion is confirmed');
        check(await page.evaluate(() => sessionStorage.getItem('stargate.key')) === null, 'the key left sessionStorage');
        const after = await apiCall(base, key, 'GET', '/v1/me');
        check(after.status === 401, `the deleted account's key answers 401 (${after.status})`);
        log('account deleted');
        await context.close();
    } finally {
        await browser.close();
    }
    for (const e of errors) {
        check(false, e);
    }
}

// A key limited to 1 request per minute: the page explains the 429 politely,
// with the server's Retry-After.
export async function runRateLimited(chromium, base, key) {
    const errors = [];
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], headless: true });
    try {
        const { page } = await newPage(browser, errors, /^(401|404|429)$/);
        await page.goto(`${base}/`);
        await page.getByTestId('signin-key').fill(key);
        await page.getByTestId('signin-submit').click();
        await page.getByTestId('app').waitFor();
        const banner = page.getByTestId('error-banner');
        await banner.waitFor();
        const text = await page.getByTestId('error-text').textContent();
        check(/\d+/.test(text) && await banner.getAttribute('data-kind') === 'error',
            `429: the page asks to wait, with the delay (${text})`);
        const r = await apiCall(base, key, 'GET', '/v1/conversations');
        check(r.status === 429 && /^\d+$/.test(r.headers.get('retry-after') || ''),
            `429 with Retry-After (${r.status}, ${r.headers.get('retry-after')})`);
        check(r.json?.error?.code === 'rate_limit_exceeded', `429 code ${r.json?.error?.code}`);
        log(`rate limit explained: ${text.trim()}`);
    } finally {
        await browser.close();
    }
    for (const e of errors) {
        check(false, e);
    }
}

// A --no-auth server (its model answers inside <think>): no sign-in; the
// reasoning streams into a collapsed <details> block, kept after a reload.
export async function runNoAuth(chromium, base, deployments) {
    const errors = [];
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], headless: true });
    try {
        const { page } = await newPage(browser, errors);
        await page.goto(`${base}/`);
        await page.getByTestId('app').waitFor();
        check(await page.getByTestId('signin').isHidden(), '--no-auth: no sign-in');
        check(await page.getByTestId('sign-out').isHidden(), '--no-auth: no sign-out');
        check((await page.getByTestId('account-info').textContent()).length > 0, '--no-auth: local mode shown');
        log('no-auth mode needs no key');
        const id = await page.getByTestId('deployment-select').inputValue();
        const d = deployments.find((x) => x.id === id);
        await page.getByTestId('composer-input').fill('Why is the sky blue?');
        await page.getByTestId('send').click();
        await assistantDone(page, 1);
        const answer = page.locator('[data-testid="message"][data-role="assistant"]').first();
        const details = answer.getByTestId('reasoning');
        check(await details.isVisible(), 'reasoning: the block is shown');
        check(!await details.evaluate((e) => e.open), 'reasoning: the block starts collapsed');
        check(await details.locator('summary').textContent() === d?.ui?.reasoning,
            `reasoning: summary in the deployment's language (${d?.ui?.reasoning})`);
        const streamed = await answer.getByTestId('reasoning-text').textContent();
        check(streamed.length > 0, 'reasoning: text streamed');
        check(!await answer.getByTestId('reasoning-text').isVisible(), 'reasoning: hidden until opened');
        await details.locator('summary').click();
        check(await answer.getByTestId('reasoning-text').isVisible(), 'reasoning: shown when opened');
        await page.reload();
        await page.waitForFunction(() => document.querySelectorAll('[data-testid="message"]').length === 2);
        const again = page.locator('[data-testid="message"][data-role="assistant"]').first();
        check((await again.getByTestId('reasoning-text').textContent()).length > 0, 'reasoning: kept after a reload');
        log(`reasoning shown collapsed (${streamed.length} characters)`);
    } finally {
        await browser.close();
    }
    for (const e of errors) {
        check(false, e);
    }
}

// The embedded files and their headers.
async function checkAssets(base) {
    const index = await fetch(`${base}/`);
    const html = await index.text();
    check(index.status === 200, `GET / ${index.status}`);
    check(/^text\/html/.test(index.headers.get('content-type') || ''), 'GET /: text/html');
    check(html.includes('data-testid="composer"'), 'GET / is the web chat');
    check(/default-src 'self'/.test(index.headers.get('content-security-policy') || ''), 'GET /: CSP default-src self');
    check(index.headers.get('x-content-type-options') === 'nosniff', 'GET /: nosniff');
    const etag = index.headers.get('etag');
    check(etag && /^"[0-9a-f]{16}"$/.test(etag), `GET /: ETag ${etag}`);
    if (etag) {
        const again = await fetch(`${base}/`, { headers: { 'If-None-Match': etag } });
        check(again.status === 304, `GET / If-None-Match: ${again.status}`);
    }
    for (const [p, type] of [['/app.js', 'text/javascript'], ['/markdown.js', 'text/javascript'],
        ['/style.css', 'text/css'], ['/favicon.svg', 'image/svg+xml']]) {
        const r = await fetch(base + p);
        const body = Buffer.from(await r.arrayBuffer());
        check(r.status === 200 && (r.headers.get('content-type') || '').startsWith(type), `GET ${p}: ${r.status}`);
        const disk = fs.readFileSync(path.join(HERE, '..', '..', 'web', p.slice(1)));
        check(body.equals(disk), `GET ${p}: the embedded bytes are web${p}`);
    }
    const missing = await fetch(`${base}/no-such-file.js`);
    check(missing.status === 404, `GET /no-such-file.js: ${missing.status}`);
}

async function main() {
    let [stargate, model, deployDir, outDir, reasoningModel] = process.argv.slice(2);
    if (!stargate || !model || !deployDir || !outDir) {
        console.error('usage: test_webchat.mjs STARGATE MODEL DEPLOYMENTS_DIR OUT_DIR [REASONING_MODEL]');
        process.exit(2);
    }
    const major = parseInt(process.versions.node, 10);
    if (major < 20) {
        console.log(`SKIP: playwright-core needs node >= 20 (this is ${process.versions.node})`);
        process.exit(77);
    }
    let chromium;
    try {
        ({ chromium } = await import('playwright-core'));
    } catch {
        console.log('SKIP: playwright-core is not installed (npm ci --prefix tests/web)');
        process.exit(77);
    }
    if (!fs.existsSync(CHROMIUM)) {
        console.log(`SKIP: no Chromium at ${CHROMIUM} (apt-get install chromium)`);
        process.exit(77);
    }
    outDir = path.resolve(outDir);
    fs.mkdirSync(outDir, { recursive: true });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sg-web-'));
    const db = path.join(dir, 'store.db');
    const admin = (...args) => execFileSync(stargate, ['admin', ...args, '--db', db], { encoding: 'utf8' });
    admin('tenant', 'create', 't1');
    const key = admin('key', 'create', '--tenant', 't1').split('\n')[0].trim();
    check(/^sk-sg-/.test(key), `admin key create prints the key first (${key.slice(0, 10)}…)`);

    const server = await startServer(stargate, model, ['--db', db, '--deployments', deployDir, '--ctx', '4096'], dir);
    log(`server on ${server.base}`);
    try {
        await checkAssets(server.base);
        const dl = await apiCall(server.base, key, 'GET', '/v1/deployments');
        check(dl.status === 200 && Array.isArray(dl.json?.data), `GET /v1/deployments: ${dl.status}`);
        await runBrowser(chromium, server.base, key, dl.json?.data || [], outDir);
        admin('user', 'create', '--tenant', 't1', 'limited');
        const limited = admin('key', 'create', '--tenant', 't1', '--user', 'limited', '--rpm', '1').split('\n')[0].trim();
        await runRateLimited(chromium, server.base, limited);
    } finally {
        const code = await stopServer(server);
        check(code === 0, `the server exits 0 on SIGTERM (${code})`);
    }

    const open = await startServer(stargate, reasoningModel || model, ['--no-auth', '--db', path.join(dir, 'local.db'),
        '--deployments', deployDir, '--ctx', '4096'], dir);
    try {
        const dl = await apiCall(open.base, null, 'GET', '/v1/deployments');
        await runNoAuth(chromium, open.base, dl.json?.data || []);
    } finally {
        check(await stopServer(open) === 0, 'the --no-auth server exits 0');
    }

    if (fails) {
        for (const s of servers) {
            console.error(`--- ${s.logFile}\n${fs.readFileSync(s.logFile, 'utf8').slice(-3000)}`);
        }
        console.error(`${fails} web chat check(s) failed`);
        process.exit(1);
    }
    fs.rmSync(dir, { recursive: true, force: true });
    console.log(`webchat: all checks passed; screenshots in ${outDir}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
    const deadline = setTimeout(() => {
        console.error('FAIL: the web chat test ran past 100 s');
        process.exit(1);
    }, 100000);
    deadline.unref();
    main().catch((e) => {
        console.error('FAIL:', e.stack || e);
        for (const s of servers) {
            try {
                console.error(`--- ${s.logFile}\n${fs.readFileSync(s.logFile, 'utf8').slice(-3000)}`);
            } catch {
                // no log
            }
        }
        process.exit(1);
    });
}
