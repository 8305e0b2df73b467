// dom_shim.mjs -- the smallest DOM the Markdown renderer (web/markdown.js)
// needs, for checking it in node without a browser. Every HTML-parsing entry
// point (innerHTML, outerHTML, insertAdjacentHTML, document.write) throws, so
// a renderer that used one would fail the check.

class Node {
    constructor(doc, nodeType, nodeName) {
        this.ownerDocument = doc;
        this.nodeType = nodeType;
        this.nodeName = nodeName;
        this.childNodes = [];
        this.parentNode = null;
    }

    appendChild(child) {
        if (!(child instanceof Node)) {
            throw new TypeError('appendChild: not a Node');
        }
        if (child.nodeType === 11) { // a fragment moves its children
            for (const c of [...child.childNodes]) {
                this.appendChild(c);
            }
            return child;
        }
        if (child.parentNode) {
            const sib = child.parentNode.childNodes;
            sib.splice(sib.indexOf(child), 1);
        }
        child.parentNode = this;
        this.childNodes.push(child);
        return child;
    }

    append(...nodes) {
        for (const n of nodes) {
            this.appendChild(typeof n === 'string' ? this.ownerDocument.createTextNode(n) : n);
        }
    }

    get textContent() {
        return this.childNodes.map((c) => c.textContent).join('');
    }

    set textContent(v) {
        this.childNodes = [];
        if (v !== '') {
            this.appendChild(this.ownerDocument.createTextNode(String(v)));
        }
    }

    get children() {
        return this.childNodes.filter((c) => c.nodeType === 1);
    }
}

function forbidden(name) {
    return () => {
        throw new Error(`the renderer used ${name} (HTML parsing is forbidden)`);
    };
}

class Text extends Node {
    constructor(doc, data) {
        super(doc, 3, '#text');
        this.data = String(data);
    }

    get textContent() {
        return this.data;
    }
}

class Element extends Node {
    constructor(doc, tag) {
        super(doc, 1, String(tag).toUpperCase());
        this.tagName = this.nodeName;
        this.attributes = new Map();
    }

    setAttribute(name, value) {
        this.attributes.set(String(name).toLowerCase(), String(value));
    }

    getAttribute(name) {
        return this.attributes.has(name) ? this.attributes.get(name) : null;
    }
}
for (const name of ['innerHTML', 'outerHTML']) {
    Object.defineProperty(Element.prototype, name, { get: forbidden(name), set: forbidden(name) });
}
Element.prototype.insertAdjacentHTML = forbidden('insertAdjacentHTML');

class Fragment extends Node {
    constructor(doc) {
        super(doc, 11, '#document-fragment');
    }
}

export class Document {
    createElement(tag) {
        if (!/^[a-z][a-z0-9]*$/i.test(tag)) {
            throw new Error(`createElement: bad tag name ${tag}`);
        }
        return new Element(this, tag);
    }

    createTextNode(data) {
        return new Text(this, data);
    }

    createDocumentFragment() {
        return new Fragment(this);
    }
}
Document.prototype.write = forbidden('document.write');

// Every element under root, depth first.
export function* elements(root) {
    for (const c of root.childNodes) {
        if (c.nodeType === 1) {
            yield c;
        }
        yield* elements(c);
    }
}

// A compact serialization for assertions: <tag attr="v">text</tag>.
export function serialize(node) {
    if (node.nodeType === 3) {
        return node.data;
    }
    const inner = node.childNodes.map(serialize).join('');
    if (node.nodeType !== 1) {
        return inner;
    }
    const tag = node.tagName.toLowerCase();
    const attrs = [...node.attributes].map(([k, v]) => ` ${k}="${v}"`).join('');
    return `<${tag}${attrs}>${inner}</${tag}>`;
}
