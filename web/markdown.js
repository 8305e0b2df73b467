// markdown.js -- a small, safe Markdown renderer for the stargate web chat.
//
// renderMarkdown(text, doc) returns a DocumentFragment built only with
// doc.createElement / doc.createTextNode / appendChild / setAttribute: text
// from the model or the user never goes through an HTML parser (no
// innerHTML), so "<script>" or "<img onerror=...>" in an answer stays text.
//
// Supported: paragraphs (single line breaks kept as <br>), ATX headings,
// **bold** / __bold__, *italic* / _italic_, ~~strike~~, `inline code`, fenced
// code blocks (``` or ~~~, an unclosed fence runs to the end, which is what a
// streaming answer looks like), ordered and unordered lists (nested by
// indentation), blockquotes, horizontal rules, [links](url) and bare URLs.
// Links are produced only for http: and https: URLs; any other scheme
// (javascript:, data:, vbscript:, relative paths...) renders as plain text.
//
// The only elements produced are those in ALLOWED_TAGS and the only
// attributes those in ALLOWED_ATTRS.

export const ALLOWED_TAGS = Object.freeze([
    'P', 'BR', 'H1', 'H2', 'H3', 'H4', 'H5', 'H6', 'STRONG', 'EM', 'DEL', 'CODE', 'PRE',
    'UL', 'OL', 'LI', 'A', 'BLOCKQUOTE', 'HR',
]);
export const ALLOWED_ATTRS = Object.freeze(['href', 'rel', 'target', 'start', 'data-lang']);

const MAX_DEPTH = 16; // nesting limit for lists/blockquotes/emphasis (hostile input)
const MAX_SCAN = 2000; // how far a closing delimiter or "](url)" is looked for (keeps long lines linear)

const RE_FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)[^`]*$/;
const RE_HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const RE_HR = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const RE_QUOTE = /^ {0,3}> ?(.*)$/;
const RE_UL = /^( *)([-*+])[ \t]+(.*)$/;
const RE_OL = /^( *)(\d{1,9})([.)])[ \t]+(.*)$/;
const RE_BLANK = /^[ \t]*$/;

// Is url an absolute http(s) URL? Returns the normalized href or null.
export function safeHref(url) {
    const s = String(url).trim();
    if (!/^https?:\/\//i.test(s)) {
        return null;
    }
    try {
        const u = new URL(s);
        if (u.protocol !== 'http:' && u.protocol !== 'https:') {
            return null;
        }
        return u.href;
    } catch {
        return null;
    }
}

function el(doc, tag, parent) {
    const e = doc.createElement(tag);
    if (parent) {
        parent.appendChild(e);
    }
    return e;
}

function text(doc, s, parent) {
    parent.appendChild(doc.createTextNode(s));
}

function listMatch(line) {
    let m = RE_UL.exec(line);
    if (m) {
        return { ordered: false, indent: m[1].length, marker: m[2], start: 1, rest: m[3], width: m[1].length + 2 };
    }
    m = RE_OL.exec(line);
    if (m) {
        return {
            ordered: true, indent: m[1].length, marker: m[3], start: parseInt(m[2], 10), rest: m[4],
            width: m[1].length + m[2].length + 2,
        };
    }
    return null;
}

function startsBlock(line) {
    return RE_FENCE.test(line) || RE_HEADING.test(line) || RE_HR.test(line) || RE_QUOTE.test(line) ||
        listMatch(line) !== null;
}

function indentOf(line) {
    const m = /^ */.exec(line);
    return m[0].length;
}

// Block-level rendering of lines into parent.
function renderBlocks(doc, lines, parent, depth) {
    let i = 0;
    while (i < lines.length) {
        const line = lines[i];
        if (RE_BLANK.test(line)) {
            i++;
            continue;
        }
        let m = RE_FENCE.exec(line);
        if (m) {
            const fence = m[1];
            const lang = m[2].toLowerCase().replace(/[^a-z0-9_+#.-]/g, '').slice(0, 32);
            const body = [];
            i++;
            while (i < lines.length) {
                const close = lines[i].trim();
                if (close.length >= fence.length && close[0] === fence[0] && /^(`+|~+)$/.test(close)) {
                    i++;
                    break;
                }
                body.push(lines[i]);
                i++;
            }
            const pre = el(doc, 'pre', parent);
            const code = el(doc, 'code', pre);
            if (lang) {
                code.setAttribute('data-lang', lang);
            }
            text(doc, body.join('\n'), code);
            continue;
        }
        m = RE_HEADING.exec(line);
        if (m) {
            const h = el(doc, 'h' + m[1].length, parent);
            renderInline(doc, m[2] || '', h, depth);
            i++;
            continue;
        }
        if (RE_HR.test(line)) {
            el(doc, 'hr', parent);
            i++;
            continue;
        }
        if (RE_QUOTE.test(line)) {
            const inner = [];
            while (i < lines.length && !RE_BLANK.test(lines[i])) {
                const q = RE_QUOTE.exec(lines[i]);
                inner.push(q ? q[1] : lines[i]);
                i++;
            }
            const bq = el(doc, 'blockquote', parent);
            if (depth < MAX_DEPTH) {
                renderBlocks(doc, inner, bq, depth + 1);
            } else {
                text(doc, inner.join('\n'), bq);
            }
            continue;
        }
        const first = listMatch(line);
        if (first) {
            i = renderList(doc, lines, i, first, parent, depth);
            continue;
        }
        // paragraph: up to a blank line or the start of another block
        const p = el(doc, 'p', parent);
        const para = [line.trim()];
        i++;
        while (i < lines.length && !RE_BLANK.test(lines[i]) && !startsBlock(lines[i])) {
            para.push(lines[i].trim());
            i++;
        }
        para.forEach((l, k) => {
            if (k > 0) {
                el(doc, 'br', p);
            }
            renderInline(doc, l, p, depth);
        });
    }
}

// A list starting at lines[i]; returns the index after it.
function renderList(doc, lines, i, first, parent, depth) {
    const list = el(doc, first.ordered ? 'ol' : 'ul', parent);
    if (first.ordered && first.start !== 1) {
        list.setAttribute('start', String(first.start));
    }
    while (i < lines.length) {
        const item = listMatch(lines[i]);
        if (!item || item.ordered !== first.ordered || item.indent !== first.indent) {
            break;
        }
        // the item's lines: its first line, then continuation lines (indented
        // deeper than the marker, or lazy paragraph continuations)
        const body = [item.rest];
        i++;
        while (i < lines.length) {
            const l = lines[i];
            if (RE_BLANK.test(l)) {
                // a blank line continues the item only when indented content follows
                if (i + 1 < lines.length && !RE_BLANK.test(lines[i + 1]) && indentOf(lines[i + 1]) >= item.width) {
                    body.push('');
                    i++;
                    continue;
                }
                break;
            }
            const ind = indentOf(l);
            if (ind >= item.width) {
                body.push(l.slice(Math.min(ind, item.width)));
            } else if (ind > first.indent && listMatch(l)) {
                body.push(l.slice(ind));
            } else if (!startsBlock(l) && body.length > 0 && !RE_BLANK.test(body[body.length - 1])) {
                body.push(l.trim());
            } else {
                break;
            }
            i++;
        }
        const li = el(doc, 'li', list);
        if (depth >= MAX_DEPTH) {
            text(doc, body.join('\n'), li);
            continue;
        }
        const tmp = doc.createDocumentFragment();
        renderBlocks(doc, body, tmp, depth + 1);
        // the item's first paragraph renders inline in the <li>
        const kids = Array.from(tmp.childNodes);
        kids.forEach((c, k) => {
            if (k === 0 && c.nodeName === 'P') {
                for (const t of Array.from(c.childNodes)) {
                    li.appendChild(t);
                }
            } else {
                li.appendChild(c);
            }
        });
        // a blank line between items is allowed
        if (i < lines.length && RE_BLANK.test(lines[i]) && i + 1 < lines.length) {
            const next = listMatch(lines[i + 1]);
            if (next && next.ordered === first.ordered && next.indent === first.indent) {
                i++;
            }
        }
    }
    return i;
}

const PUNCT = /[!-/:-@[-`{-~]/;

// Find the closing delimiter `delim` in s from position `from`, not escaped,
// not inside a code span. Returns its index or -1.
function findClose(s, delim, from) {
    const end = Math.min(s.length - delim.length, from + MAX_SCAN);
    for (let j = from; j <= end; j++) {
        const c = s[j];
        if (c === '\\') {
            j++;
            continue;
        }
        if (c === '`') {
            let n = 1;
            while (s[j + n] === '`') {
                n++;
            }
            const close = s.indexOf('`'.repeat(n), j + n);
            if (close >= 0) {
                j = close + n - 1;
                continue;
            }
        }
        if (s.startsWith(delim, j)) {
            // the closing delimiter must follow a non-space and, for "_", end a word
            if (j > from && !/\s/.test(s[j - 1])) {
                if (delim[0] === '_' && /[\p{L}\p{N}]/u.test(s[j + delim.length] || '')) {
                    continue;
                }
                if (delim.length === 1 && s[j + 1] === delim) {
                    j++;
                    continue;
                }
                return j;
            }
        }
    }
    return -1;
}

// [label](url): returns {label, url, end} or null. Balanced brackets, URL
// without spaces (an optional "title" is accepted and ignored).
function parseLink(s, i) {
    let depth = 0;
    let j = i;
    const end = Math.min(s.length, i + MAX_SCAN);
    for (; j < end; j++) {
        if (s[j] === '\\') {
            j++;
        } else if (s[j] === '[') {
            depth++;
        } else if (s[j] === ']') {
            depth--;
            if (depth === 0) {
                break;
            }
        }
    }
    if (j >= end || s[j + 1] !== '(') {
        return null;
    }
    RE_LINK_DEST.lastIndex = j + 1;
    const m = RE_LINK_DEST.exec(s);
    if (!m) {
        return null;
    }
    return { label: s.slice(i + 1, j), url: m[1], end: j + 1 + m[0].length };
}

const RE_LINK_DEST = /\(\s*<?([^\s()<>]*(?:\([^\s()<>]*\)[^\s()<>]*)*)>?(?:\s+(?:"[^"]*"|'[^']*'))?\s*\)/y;
const RE_AUTOLINK = /https?:\/\/[^\s<>"'`]+/iy;

// Inline rendering of one line of text into parent.
function renderInline(doc, s, parent, depth) {
    let buf = '';
    const flush = () => {
        if (buf) {
            text(doc, buf, parent);
            buf = '';
        }
    };
    let i = 0;
    while (i < s.length) {
        const c = s[i];
        if (c === '\\' && i + 1 < s.length && PUNCT.test(s[i + 1])) {
            buf += s[i + 1];
            i += 2;
            continue;
        }
        if (c === '`') {
            let n = 1;
            while (s[i + n] === '`') {
                n++;
            }
            const ticks = '`'.repeat(n);
            const end = s.indexOf(ticks, i + n);
            if (end >= 0) {
                flush();
                let body = s.slice(i + n, end);
                if (body.length > 2 && body[0] === ' ' && body[body.length - 1] === ' ') {
                    body = body.slice(1, -1);
                }
                text(doc, body, el(doc, 'code', parent));
                i = end + n;
                continue;
            }
            buf += ticks;
            i += n;
            continue;
        }
        if (c === '[') {
            const link = parseLink(s, i);
            if (link) {
                flush();
                const href = safeHref(link.url);
                if (href) {
                    const a = el(doc, 'a', parent);
                    a.setAttribute('href', href);
                    a.setAttribute('rel', 'noopener noreferrer');
                    a.setAttribute('target', '_blank');
                    renderInline(doc, link.label, a, depth + 1);
                } else {
                    // not a web link: keep the label as text, drop the URL
                    renderInline(doc, link.label, parent, depth + 1);
                }
                i = link.end;
                continue;
            }
        }
        if ((c === 'h' || c === 'H') && (i === 0 || !/[\p{L}\p{N}]/u.test(s[i - 1]))) {
            RE_AUTOLINK.lastIndex = i;
            const m = RE_AUTOLINK.exec(s);
            if (m) {
                let url = m[0].replace(/[.,;:!?)\]}]+$/, '');
                // keep a closing parenthesis that balances one in the URL
                const extra = m[0].slice(url.length);
                if (extra.startsWith(')') && (url.split('(').length - 1) > (url.split(')').length - 1)) {
                    url += ')';
                }
                const href = safeHref(url);
                if (href) {
                    flush();
                    const a = el(doc, 'a', parent);
                    a.setAttribute('href', href);
                    a.setAttribute('rel', 'noopener noreferrer');
                    a.setAttribute('target', '_blank');
                    text(doc, url, a);
                    i += url.length;
                    continue;
                }
            }
        }
        if ((c === '*' || c === '_' || c === '~') && depth < MAX_DEPTH) {
            const two = s.startsWith(c + c, i);
            const opensWord = c !== '_' || i === 0 || !/[\p{L}\p{N}]/u.test(s[i - 1]);
            if (two && opensWord && i + 2 < s.length && !/\s/.test(s[i + 2])) {
                const end = findClose(s, c + c, i + 2);
                if (end > i + 2) {
                    flush();
                    const tag = c === '~' ? 'del' : 'strong';
                    renderInline(doc, s.slice(i + 2, end), el(doc, tag, parent), depth + 1);
                    i = end + 2;
                    continue;
                }
            } else if (!two && c !== '~' && opensWord && i + 1 < s.length && !/\s/.test(s[i + 1])) {
                const end = findClose(s, c, i + 1);
                if (end > i + 1) {
                    flush();
                    renderInline(doc, s.slice(i + 1, end), el(doc, 'em', parent), depth + 1);
                    i = end + 1;
                    continue;
                }
            }
        }
        buf += c;
        i++;
    }
    flush();
}

// Renders Markdown source text to a DocumentFragment of doc (default: the
// page's document).
export function renderMarkdown(src, doc = globalThis.document) {
    const frag = doc.createDocumentFragment();
    const lines = String(src ?? '').replace(/\r\n?/g, '\n').replace(/\t/g, '    ').split('\n');
    renderBlocks(doc, lines, frag, 0);
    return frag;
}
