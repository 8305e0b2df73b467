// test_markdown.mjs -- the web chat's Markdown renderer (web/markdown.js) in
// node, on a DOM shim whose HTML-parsing entry points throw.
//
//   node tests/web/test_markdown.mjs
//
// Checks the supported syntax renders to the expected elements, and that
// hostile input (HTML tags, event handlers, javascript:/data: links) yields
// only allowed elements and attributes, with the hostile text kept as text.
import fs from 'node:fs';
import { Document, elements, serialize } from './dom_shim.mjs';

// web/markdown.js is an ES module served to browsers; web/ has no
// package.json saying so, so it is loaded from its source as a module (any
// node version, with or without module syntax detection).
const source = fs.readFileSync(new URL('../../web/markdown.js', import.meta.url), 'utf8');
const { renderMarkdown, ALLOWED_TAGS, ALLOWED_ATTRS, safeHref } =
    await import(`data:text/javascript;base64,${Buffer.from(source).toString('base64')}`);

const doc = new Document();
let fails = 0;

function render(src) {
    const root = doc.createElement('div');
    root.appendChild(renderMarkdown(src, doc));
    return root;
}

function check(cond, msg) {
    if (!cond) {
        fails++;
        console.error('FAIL:', msg);
    }
}

function expect(src, want) {
    const got = render(src).childNodes.map(serialize).join('');
    check(got === want, `${JSON.stringify(src)}\n   got  ${got}\n   want ${want}`);
}

// Only allowed elements/attributes; links only http(s); no "on*" anywhere.
function checkSafe(src, label) {
    const root = render(src);
    for (const e of elements(root)) {
        check(ALLOWED_TAGS.includes(e.tagName), `${label}: element <${e.tagName}> produced`);
        for (const [k, v] of e.attributes) {
            check(ALLOWED_ATTRS.includes(k), `${label}: attribute ${k}="${v}" on <${e.tagName}>`);
            check(!k.startsWith('on'), `${label}: event handler attribute ${k}`);
        }
        if (e.tagName === 'A') {
            const href = e.getAttribute('href') || '';
            check(/^https?:\/\//.test(href), `${label}: link to ${href}`);
            check(e.getAttribute('rel') === 'noopener noreferrer', `${label}: link rel`);
            check(e.getAttribute('target') === '_blank', `${label}: link target`);
        }
    }
    return root;
}

// --- supported syntax ---
expect('Hello *world*', '<p>Hello <em>world</em></p>');
expect('**bold** and __also__ and _it_ and ~~no~~', '<p><strong>bold</strong> and <strong>also</strong> and ' +
    '<em>it</em> and <del>no</del></p>');
expect('snake_case_name stays', '<p>snake_case_name stays</p>');
expect('2 * 3 * 4', '<p>2 * 3 * 4</p>');
expect('# Title\n### Sub', '<h1>Title</h1><h3>Sub</h3>');
expect('#hashtag', '<p>#hashtag</p>');
expect('line one\nline two\n\nnext', '<p>line one<br></br>line two</p><p>next</p>');
expect('use `a < b` here', '<p>use <code>a &lt; b</code> here</p>'.replace('&lt;', '<'));
expect('```js\nlet x = "<b>";\n```\nafter', '<pre><code data-lang="js">let x = "<b>";</code></pre><p>after</p>');
expect('```\nunclosed **not bold**', '<pre><code>unclosed **not bold**</code></pre>');
expect('- a\n- b *c*', '<ul><li>a</li><li>b <em>c</em></li></ul>');
expect('3. x\n4. y', '<ol start="3"><li>x</li><li>y</li></ol>');
expect('1. one\n   - nested\n2. two', '<ol><li>one<ul><li>nested</li></ul></li><li>two</li></ol>');
expect('> quoted\n> **text**', '<blockquote><p>quoted<br></br><strong>text</strong></p></blockquote>');
expect('---', '<hr></hr>');
expect('[site](https://example.org/a?b=1)', '<p><a href="https://example.org/a?b=1" rel="noopener noreferrer" ' +
    'target="_blank">site</a></p>');
expect('see https://example.org/x.', '<p>see <a href="https://example.org/x" rel="noopener noreferrer" ' +
    'target="_blank">https://example.org/x</a>.</p>');
expect('\\*not em\\*', '<p>*not em*</p>');
expect('', '');

// --- hostile input ---
const hostile = [
    '<img src=x onerror=alert(1)>',
    '<script>alert(1)</script>',
    '[x](javascript:alert(1))',
    '[x](JaVaScRiPt:alert(1))',
    '[x]( javascript:alert(1) )',
    '[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)',
    '[x](vbscript:msgbox(1))',
    '[x](//evil.example/path)',
    '[x](/relative)',
    'javascript:alert(1)',
    '<a href="javascript:alert(1)">x</a>',
    '<svg onload=alert(1)>',
    '<iframe src="https://evil.example"></iframe>',
    '**<b onmouseover=alert(1)>x</b>**',
    '```html\n<script>alert(1)</script>\n```',
    '```"><script>alert(1)</script>\ncode\n```',
    '> <style>body{display:none}</style>',
    '- <form action=https://evil.example><input name=p></form>',
    '[<img src=x onerror=alert(1)>](https://example.org)',
    '[a](https://example.org" onclick="alert(1))',
    'https://example.org/"onmouseover="alert(1)',
    '`<img src=x onerror=alert(1)>`',
    '<!-- comment --> &lt;b&gt; &#60;script&#62;',
    '['.repeat(2000) + 'x' + ']'.repeat(2000) + '(https://e.org)',
    '>'.repeat(500) + ' deep',
    '*'.repeat(3000),
    '- '.repeat(400) + 'deep list',
];
for (const src of hostile) {
    const root = checkSafe(src, JSON.stringify(src.slice(0, 60)));
    if (/<img|<script/.test(src) && !/^(\[|```")/.test(src)) {
        check(root.textContent.includes(src.match(/<(img|script)[^>]*>/)[0]),
            `${JSON.stringify(src.slice(0, 60))}: the tag is kept as visible text`);
    }
}
// a link with a forbidden scheme keeps its label as text and has no <a>
for (const src of ['[x](javascript:alert(1))', '[x](data:text/html,hi)']) {
    const root = render(src);
    check([...elements(root)].every((e) => e.tagName !== 'A'), `${src}: no link element`);
    check(root.textContent === 'x', `${src}: label kept (${root.textContent})`);
}
check(safeHref('https://example.org') === 'https://example.org/', 'safeHref https');
check(safeHref('javascript:alert(1)') === null, 'safeHref javascript');
check(safeHref('http://') === null, 'safeHref malformed');

// Big input renders in bounded time (no quadratic blow-up in practice).
const t0 = Date.now();
render(('word **bold** `code` [l](https://e.org) _em_\n').repeat(3000));
check(Date.now() - t0 < 5000, `large input took ${Date.now() - t0} ms`);

// Pathological long lines (unmatched delimiters, brackets, URLs) stay fast.
for (const unit of ['*a', '_b ', '[x', '**', '`', 'http://e.org/ ', '](', '~~q', '\\*']) {
    const line = unit.repeat(Math.ceil(60000 / unit.length));
    const t1 = Date.now();
    checkSafe(line, `long line of ${JSON.stringify(unit)}`);
    check(Date.now() - t1 < 3000, `a 60,000-character line of ${JSON.stringify(unit)} took ${Date.now() - t1} ms`);
}

if (fails) {
    console.error(`${fails} markdown check(s) failed`);
    process.exit(1);
}
console.log('markdown: all checks passed');
