#!/usr/bin/env bash
# pg_test.sh TEST_STORE_BINARY -- runs the store test against a real PostgreSQL:
# a throwaway server in a temp dir, on 127.0.0.1 and a free port, trust auth,
# stopped and removed on exit. Exit 77 (skip) with the reason when the server
# binaries are missing or the server cannot start. PostgreSQL refuses to run as
# root: as root the server runs as the `postgres` system user (runuser/su).
set -u
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
skip() { echo "SKIP: $*"; exit 77; }

pgbin=""
for d in ${PG_BINDIR:-} $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
  if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/createdb" ]; then pgbin=$d; break; fi
done
if [ -z "$pgbin" ] && command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
  pgbin=$(dirname "$(command -v initdb)")
fi
[ -n "$pgbin" ] || skip "PostgreSQL server binaries (initdb, pg_ctl) not found"

tmp=$(mktemp -d /tmp/sg-pg-XXXXXX) || skip "cannot make a temp dir"
as_pg=()
if [ "$(id -u)" = 0 ]; then
  if ! id postgres >/dev/null 2>&1; then
    rm -rf "$tmp"
    skip "running as root (PostgreSQL refuses root) and there is no 'postgres' user to run the server as"
  fi
  if command -v runuser >/dev/null; then as_pg=(runuser -u postgres --)
  else as_pg=(su postgres -s /bin/sh -c); fi
  chown postgres "$tmp"
fi
# run as the server's user: runuser takes argv, su one command line
pg() {
  if [ "${as_pg[0]:-}" = su ]; then su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
  else "${as_pg[@]}" "$@"; fi
}
started=0
cleanup() {
  [ "$started" = 1 ] && pg "$pgbin/pg_ctl" -D "$tmp/data" -m immediate -w stop >/dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT
cd "$tmp"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null ||
       echo $((20000 + RANDOM % 30000)))
if ! pg "$pgbin/initdb" -D "$tmp/data" --auth=trust -U sg -E UTF8 --no-sync >"$tmp/initdb.log" 2>&1; then
  tail -5 "$tmp/initdb.log"
  skip "initdb failed"
fi
if ! pg "$pgbin/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -w -t 30 \
     -o "-k $tmp -p $port -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50" start >/dev/null 2>&1; then
  tail -5 "$tmp/server.log" 2>/dev/null
  skip "the PostgreSQL server did not start"
fi
started=1
if ! pg "$pgbin/createdb" -h 127.0.0.1 -p "$port" -U sg sgtest; then
  echo "FAIL: createdb on a running server"
  exit 1
fi
echo "PostgreSQL $("$pgbin/pg_ctl" --version | awk '{print $3}') on 127.0.0.1:$port (as $(pg id -un))"
"$bin" "postgresql://sg@127.0.0.1:$port/sgtest"
