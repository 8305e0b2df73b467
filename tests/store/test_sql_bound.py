"""test_sql_bound.py SRC_DIR -- the store builds no SQL from data.

Every statement of src/store/ must be a compile-time string (literals and
macros of literals) executed with bound parameters. This check fails when:
  - a string-building call (snprintf, sprintf, asprintf, strcat, strcpy,
    memcpy) writes something that looks like SQL, or formats with a SQL
    keyword in its format string;
  - db_exec / change_audited receive a SQL argument that is neither a
    literal nor a `sql` parameter passed through from such a literal;
  - the backends run text through an API that takes no parameters with a
    non-literal statement (PQexec, sqlite3_exec).
It is a source check, so it fails the day someone adds string-built SQL.
"""
import os
import re
import sys

SRC = sys.argv[1]
SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|WHERE|VALUES|CREATE|DROP|ALTER)\b")
BUILD = re.compile(r"\b(snprintf|sprintf|asprintf|strcat|strncat|strcpy|memcpy)\s*\(([^;]*);", re.S)
bad = []
for name in sorted(os.listdir(SRC)):
    if not name.endswith(".c"):
        continue
    text = open(os.path.join(SRC, name)).read()
    code = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    for m in BUILD.finditer(code):
        args = m.group(2)
        if SQL.search(args):
            line = code[:m.start()].count("\n") + 1
            bad.append("%s:%d: %s builds SQL text" % (name, line, m.group(1)))
    for m in re.finditer(r"\bdb_exec\s*\(\s*\w+\s*,\s*\w+\s*,\s*([^,]+),", code):
        arg = m.group(1).strip()
        # literals, macros of literals, a `sql` parameter, an element of a
        # static table of literals, and schema.c's migration DDL (compiled-in
        # text with the engine's id type substituted) are all constants
        ok = (arg.startswith('"') or arg == "sql" or re.fullmatch(r"[A-Z_]+", arg) or arg.startswith("s->ops->")
              or re.fullmatch(r"\w+\[\w+\]", arg) or (name == "schema.c" and arg == "ddl"))
        if not ok:
            line = code[:m.start()].count("\n") + 1
            bad.append("%s:%d: db_exec with a computed statement %r" % (name, line, arg))
    for m in re.finditer(r"\b(PQexec|sqlite3_exec)\s*\(\s*[^,]+,\s*([^,]+),", code):
        arg = m.group(2).strip()
        if not (arg.startswith('"') or re.fullmatch(r"\w+\[\w+\]", arg)):
            line = code[:m.start()].count("\n") + 1
            bad.append("%s:%d: %s with a non-literal statement %r" % (name, line, m.group(1), arg))
    # callers of helpers taking `const char *sql` must pass literals
    for m in re.finditer(r"\bchange_audited\s*\(\s*\w+\s*,\s*([^,]+),", code):
        arg = m.group(1).strip()
        if not (arg.startswith('"') or arg == "sql"):
            line = code[:m.start()].count("\n") + 1
            bad.append("%s:%d: change_audited with a computed statement %r" % (name, line, arg))
for b in bad:
    print("FAIL:", b)
print("%d finding(s) in %s" % (len(bad), SRC))
sys.exit(1 if bad else 0)
