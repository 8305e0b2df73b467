#!/usr/bin/env bash
# test_admin_cli.sh STARGATE -- `stargate admin` end to end in a temp
# STARGATE_HOME: tenants, users, keys (captured from stdout's first line),
# listings, revocation, export, erase, audit, sweep, errors. Every output of
# every command is kept, and no key secret (nor its hash) may appear anywhere
# but on `key create`'s first stdout line; nor in the database file.
set -u
S=$1
tmp=$(mktemp -d /tmp/sg-admin-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export STARGATE_HOME=$tmp/home
fails=0
passes=0
ok() { passes=$((passes + 1)); }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
all=$tmp/all-output.txt
: >"$all"

# run ARGS...: stdout in $tmp/out, stderr in $tmp/err, status in $rc; both kept in $all
run() {
  "$S" admin "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  cat "$tmp/out" "$tmp/err" >>"$all"
}
expect_ok() { run "$@"; [ "$rc" = 0 ] && ok || bad "admin $* -> rc $rc: $(cat "$tmp/err")"; }
# expect_err RC TEXT ARGS...: fails with RC and one line "stargate: error: ...TEXT..." on stderr, nothing on stdout
expect_err() {
  local want=$1 text=$2
  shift 2
  run "$@"
  if [ "$rc" = "$want" ] && [ "$(wc -l <"$tmp/err")" = 1 ] && grep -q "^stargate: error: .*$text" "$tmp/err" &&
     [ ! -s "$tmp/out" ]; then ok; else bad "admin $*: rc $rc, stderr '$(cat "$tmp/err")', want rc $want and '$text'"; fi
}
has() { grep -q -- "$2" "$1" && ok || bad "'$2' not in $(basename "$1"): $(head -c 600 "$1")"; }
hasnt() { grep -q -- "$2" "$1" && bad "'$2' unexpectedly in $(basename "$1")" || ok; }
json_check() { # json_check FILE PYTHON_EXPR (j is the parsed document)
  python3 -c "import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" "$1" && ok ||
    bad "json check '$2' on $(head -c 400 "$1")"
}

run --help
[ "$rc" = 0 ] && ok || bad "--help rc $rc"
for w in "tenant create" "tenant set-deployment" "user create" "key create" "key revoke" "conversations" \
         "export" "erase" "audit" "sweep" "migrate" "--db URL" "--json"; do has "$tmp/out" "$w"; done

expect_ok migrate
has "$tmp/out" "schema version 1 (sqlite: $STARGATE_HOME/stargate.db)"
[ -f "$STARGATE_HOME/stargate.db" ] && ok || bad "no default database file"
[ "$(stat -c %a "$STARGATE_HOME/stargate.db")" = 600 ] && ok || bad "database file mode $(stat -c %a "$STARGATE_HOME/stargate.db")"

expect_ok tenant create acme --deployment fr-public
has "$tmp/out" "created tenant acme"
expect_ok tenant create beta
expect_err 1 "tenant 'acme' already exists" tenant create acme
expect_err 1 "must be 1..64 characters" tenant create "bad name"
expect_ok tenant list
has "$tmp/out" "acme .*fr-public .*active"
expect_ok tenant set-deployment beta de-public
expect_ok tenant disable beta
expect_ok tenant list --json
json_check "$tmp/out" "[t['name'] for t in j] == ['acme','beta'] and j[1]['disabled'] and j[1]['deployment'] == 'de-public'"
expect_ok tenant enable beta
expect_err 1 "no tenant 'nope'" tenant disable nope

expect_ok user create --tenant acme alice
expect_ok user create --tenant acme bob
expect_err 1 "no tenant 'nope'" user create --tenant nope carol
expect_err 1 "already exists" user create --tenant acme alice
expect_err 2 "--tenant is required" user create alice
expect_ok user list --tenant acme --json
json_check "$tmp/out" "[u['name'] for u in j] == ['alice','bob']"
expect_ok user disable --tenant acme bob
expect_ok user list --tenant acme
has "$tmp/out" "bob .*disabled"
expect_ok user enable --tenant acme bob

# keys: the key alone on the first line of stdout, a note on stderr
keys=()
"$S" admin key create --tenant acme --user alice --rpm 10 --tokens-per-day 5000 >"$tmp/key.out" 2>"$tmp/key.err"
[ $? = 0 ] && ok || bad "key create failed: $(cat "$tmp/key.err")"
key=$(head -1 "$tmp/key.out")
keys+=("$key")
[ "$(wc -l <"$tmp/key.out")" = 1 ] && ok || bad "key create printed more than the key on stdout"
[[ $key =~ ^sk-sg-[0-9a-f]{12}_[A-Za-z0-9_-]{43}$ ]] && ok || bad "key '$key' has the wrong form"
prefix=${key:0:18}
has "$tmp/key.err" "shown only once"
has "$tmp/key.err" "$prefix"
cat "$tmp/key.err" >>"$all"
"$S" admin key create --tenant acme >"$tmp/key2.out" 2>"$tmp/key2.err" && ok || bad "key create (default user)"
key2=$(head -1 "$tmp/key2.out")
keys+=("$key2")
cat "$tmp/key2.err" >>"$all"
has "$tmp/key2.err" "user default of tenant acme"
expect_err 1 "no tenant 'nope'" key create --tenant nope
expect_err 1 "no user 'ghost' in tenant 'acme'" key create --tenant acme --user ghost
expect_err 2 "tokens-per-day" key create --tenant acme --tokens-per-day -5

expect_ok key list
has "$tmp/out" "$prefix"
has "$tmp/out" "alice .*active .*10 .*5000"
expect_ok key list --tenant acme --json
json_check "$tmp/out" "len(j) == 2 and j[0]['prefix'] == '$prefix' and j[0]['rpm'] == 10 and j[1]['user'] == 'default'"
expect_err 1 "no tenant 'nope'" key list --tenant nope
expect_ok key revoke "$prefix"
has "$tmp/out" "revoked key $prefix"
expect_ok key list --json
json_check "$tmp/out" "[k['status'] for k in j] == ['revoked','active']"
expect_ok key revoke 2
expect_err 1 "no key sk-sg-000000000000" key revoke sk-sg-000000000000
expect_err 1 "neither a key prefix nor a key id" key revoke whatever

expect_ok conversations --tenant acme --user alice
has "$tmp/out" "^ID .*DEPLOYMENT"
expect_ok conversations --tenant acme --user alice --json
json_check "$tmp/out" "j == []"
expect_err 1 "no user 'zed' in tenant 'acme'" conversations --tenant acme --user zed

expect_ok export --tenant acme --user alice -o "$tmp/alice.json"
json_check "$tmp/alice.json" "j['user']['name'] == 'alice' and j['tenant'] == 'acme' and len(j['keys']) == 1 and j['keys'][0]['prefix'] == '$prefix' and j['conversations'] == [] and 'hash' not in j['keys'][0]"
[ "$(stat -c %a "$tmp/alice.json")" = 600 ] && ok || bad "export file mode"
cat "$tmp/alice.json" >>"$all"
expect_ok export --tenant acme --user alice
json_check "$tmp/out" "j['user']['name'] == 'alice'"

expect_ok sweep --deployment fr-public --days 30
has "$tmp/out" "deleted 0 conversations"
expect_err 2 "usage: stargate admin sweep" sweep --days 3

expect_ok erase --tenant acme --user bob
has "$tmp/out" "erased user bob of tenant acme"
expect_ok user list --tenant acme --json
json_check "$tmp/out" "[u['name'] for u in j] == ['alice','default']"
expect_err 1 "no user 'bob'" erase --tenant acme --user bob

expect_ok audit --json --limit 200
json_check "$tmp/out" "set(['tenant.create','tenant.disable','tenant.enable','tenant.set_deployment','user.create','user.disable','key.create','key.revoke','user.export','user.erase']) <= set(a['action'] for a in j)"
json_check "$tmp/out" "all(a['actor'].startswith('admin') for a in j)"
json_check "$tmp/out" "not any('bob' in (a['target'] or '') + (a['detail'] or '') for a in j if a['action'] == 'user.erase')"
expect_ok audit --limit 3
[ "$(wc -l <"$tmp/out")" = 4 ] && ok || bad "audit --limit 3 printed $(wc -l <"$tmp/out") lines"

# --db: another store
expect_ok --db "$tmp/other.db" tenant list
[ -f "$tmp/other.db" ] && ok || bad "--db file not created"
expect_ok tenant list --db "sqlite:$tmp/other.db" --json
json_check "$tmp/out" "j == []"

# errors
expect_err 2 "unknown admin command 'frobnicate'" frobnicate
expect_err 2 "unknown option '--bogus'" tenant list --bogus
expect_err 2 "unknown 'tenant fly'" tenant fly
expect_err 1 "cannot connect to PostgreSQL" --db "postgresql://nobody@127.0.0.1:1/none" migrate
"$S" admin >/dev/null 2>&1
[ $? = 2 ] && ok || bad "admin with no command should exit 2"

# no secret anywhere but key create's first line: not in any other output, not
# in the database (only its BLAKE2b-256 hash is), and the hash is never printed
for k in "${keys[@]}"; do
  secret=${k:19}
  hash=$(python3 -c "import hashlib,sys; print(hashlib.blake2b(sys.argv[1].encode(), digest_size=32).hexdigest())" "$k")
  hasnt "$all" "$secret"
  hasnt "$all" "$hash"
  grep -q -a -- "$secret" "$STARGATE_HOME"/stargate.db* && bad "a key secret is in the database" || ok
  python3 - "$STARGATE_HOME/stargate.db" "$hash" "$k" <<'PY' && ok || bad "the key's hash is not stored as expected"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = db.execute("SELECT hash FROM api_keys WHERE prefix = ?", (sys.argv[3][:18],)).fetchall()
sys.exit(0 if rows == [(sys.argv[2],)] else 1)
PY
done

echo "cli.admin: $passes passed, $fails failed"
[ "$fails" = 0 ]
