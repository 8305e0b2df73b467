#!/usr/bin/python3
"""hub_server.py -- a local stand-in for the Hugging Face hub, for the pull tests.

Serves the repositories under ROOT/<owner>/<name>/ in the hub's URL layout:

  GET /api/models/<owner>/<name>/tree/<rev>?recursive=...   JSON file list
      ({type, path, size, oid, lfs: {oid, size, pointerSize}}), paged with a
      Link: <...>; rel="next" header when page_size is set
  GET|HEAD /<owner>/<name>/resolve/<rev>/<path>
      small files (not .gguf/.safetensors): 200 with the content, ETag (git
      blob sha1) and X-Repo-Commit; LFS files: 302 to the second ("CDN")
      server with X-Linked-Etag (sha256), X-Linked-Size, X-Repo-Commit
  GET /cdn/<owner>/<name>/<path> on the CDN port: the bytes, with Range

Unknown repositories answer 401 (X-Error-Code: RepoNotFound), as the hub
does; a repository listed in `tokens` needs "Authorization: Bearer TOKEN"
(401 GatedRepo without it, 403 with a wrong one); a missing file is 404
EntryNotFound. Test knobs: drop_once (paths whose next CDN download is cut
after half its bytes), corrupt (paths served with one byte flipped). Every
request is logged (server, path, headers) for the tests to check.
"""
import hashlib
import json
import os
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def is_lfs(path):
    return path.endswith(".gguf") or path.endswith(".safetensors")


class Hub:
    def __init__(self, root):
        self.root = root
        self.tokens = {}        # "owner/name" -> token
        self.drop_once = set()  # "owner/name/path"
        self.corrupt = set()
        self.page_size = 0
        self.log = []
        self.lock = threading.Lock()
        self.hub = ThreadingHTTPServer(("127.0.0.1", 0), self._handler("hub"))
        self.cdn = ThreadingHTTPServer(("127.0.0.1", 0), self._handler("cdn"))
        self.hub.daemon_threads = self.cdn.daemon_threads = True
        for s in (self.hub, self.cdn):
            threading.Thread(target=s.serve_forever, daemon=True).start()

    @property
    def endpoint(self):
        return "http://127.0.0.1:%d" % self.hub.server_address[1]

    @property
    def cdn_base(self):
        return "http://127.0.0.1:%d" % self.cdn.server_address[1]

    def close(self):
        for s in (self.hub, self.cdn):
            s.shutdown()
            s.server_close()

    def requests(self, server=None):
        with self.lock:
            return [r for r in self.log if server is None or r["server"] == server]

    def files(self, repo):
        base = os.path.join(self.root, repo)
        out = []
        for d, _, names in os.walk(base):
            for n in names:
                full = os.path.join(d, n)
                out.append(os.path.relpath(full, base).replace(os.sep, "/"))
        return sorted(out)

    def content(self, repo, path):
        with open(os.path.join(self.root, repo, path), "rb") as f:
            return f.read()

    def _handler(self, which):
        hub = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_HEAD(self):
                self.handle_req(head=True)

            def do_GET(self):
                self.handle_req(head=False)

            def send(self, code, body=b"", headers=(), head=False):
                self.send_response(code)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not head:
                    self.wfile.write(body)

            def error(self, code, ecode, head):
                body = json.dumps({"error": ecode}).encode()
                self.send(code, body, [("X-Error-Code", ecode), ("Content-Type", "application/json")], head)

            def auth_ok(self, repo, head):
                if not os.path.isdir(os.path.join(hub.root, repo)):
                    self.error(401, "RepoNotFound", head)
                    return False
                want = hub.tokens.get(repo)
                if want is None:
                    return True
                got = self.headers.get("Authorization")
                if got is None:
                    self.error(401, "GatedRepo", head)
                    return False
                if got != "Bearer " + want:
                    self.error(403, "GatedRepo", head)
                    return False
                return True

            def handle_req(self, head):
                url = urllib.parse.urlsplit(self.path)
                path = urllib.parse.unquote(url.path)
                with hub.lock:
                    hub.log.append({"server": which, "method": self.command, "path": path,
                                    "headers": {k.lower(): v for k, v in self.headers.items()}})
                parts = path.lstrip("/").split("/")
                if which == "cdn":
                    return self.cdn(parts, head)
                if len(parts) >= 6 and parts[0] == "api" and parts[1] == "models" and parts[4] == "tree":
                    return self.tree("/".join(parts[2:4]), url.query, head)
                if len(parts) >= 5 and parts[2] == "resolve":
                    return self.resolve("/".join(parts[:2]), "/".join(parts[4:]), head)
                self.error(404, "NotFound", head)

            def tree(self, repo, query, head):
                if not self.auth_ok(repo, head):
                    return
                entries = []
                for p in hub.files(repo):
                    data = hub.content(repo, p)
                    blob = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
                    e = {"type": "file", "oid": blob, "size": len(data), "path": p}
                    if is_lfs(p):
                        e["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}
                        e["size"] = len(data)
                    entries.append(e)
                dirs = sorted({p.rsplit("/", 1)[0] for p in hub.files(repo) if "/" in p})
                entries += [{"type": "directory", "oid": "0" * 40, "size": 0, "path": d} for d in dirs]
                headers = [("Content-Type", "application/json")]
                q = urllib.parse.parse_qs(query)
                if hub.page_size:
                    start = int(q.get("cursor", ["0"])[0])
                    page = entries[start:start + hub.page_size]
                    if start + hub.page_size < len(entries):
                        nq = dict(q)
                        nq["cursor"] = [str(start + hub.page_size)]
                        nxt = "%s/api/models/%s/tree/main?%s" % (hub.endpoint, repo, urllib.parse.urlencode(nq, doseq=True))
                        headers.append(("Link", '<%s>; rel="next"' % nxt))
                    entries = page
                self.send(200, json.dumps(entries).encode(), headers, head)

            def resolve(self, repo, fpath, head):
                if not self.auth_ok(repo, head):
                    return
                if fpath not in hub.files(repo):
                    return self.error(404, "EntryNotFound", head)
                data = hub.content(repo, fpath)
                common = [("X-Repo-Commit", COMMIT)]
                if is_lfs(fpath):
                    sha = hashlib.sha256(data).hexdigest()
                    loc = "%s/cdn/%s/%s" % (hub.cdn_base, repo, urllib.parse.quote(fpath))
                    self.send(302, b"", common + [("Location", loc), ("X-Linked-Etag", '"%s"' % sha),
                                                  ("X-Linked-Size", str(len(data))), ("ETag", '"%s"' % sha)], head)
                else:
                    blob = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
                    self.send_range(data, common + [("ETag", '"%s"' % blob)], head, drop=False)

            def cdn(self, parts, head):
                if len(parts) < 4 or parts[0] != "cdn":
                    return self.error(404, "NotFound", head)
                repo, fpath = "/".join(parts[1:3]), "/".join(parts[3:])
                if fpath not in hub.files(repo):
                    return self.error(404, "NotFound", head)
                data = hub.content(repo, fpath)
                key = repo + "/" + fpath
                if key in hub.corrupt:
                    data = bytes([data[0] ^ 0xFF]) + data[1:]
                drop = False
                with hub.lock:
                    if key in hub.drop_once:
                        hub.drop_once.discard(key)
                        drop = True
                self.send_range(data, [], head, drop)

            def send_range(self, data, headers, head, drop):
                rng = self.headers.get("Range")
                start = 0
                code = 200
                if rng and rng.startswith("bytes="):
                    start = int(rng[6:].split("-")[0])
                    if start >= len(data):
                        return self.send(416, b"", [("Content-Range", "bytes */%d" % len(data))], head)
                    code = 206
                    headers = headers + [("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))]
                body = data[start:]
                if not drop:
                    return self.send(code, body, headers + [("Accept-Ranges", "bytes")], head)
                self.send_response(code)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                import socket
                self.connection.shutdown(socket.SHUT_RDWR)

        return H
