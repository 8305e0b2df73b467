#!/usr/bin/env bash
# The main job, from a fresh Debian machine: install the packages, build
# stargate and start the default assistant.
#
# `stargate serve` with no -m serves stargate-mini, the small model trained by
# stargate itself on the project's synthetic French/English/German corpus
# (models/README.md; it ships inside the binary), with the example
# deployments (French, German, Arabic, English), the default SQLite store and
# the web chat. On loopback with no API key yet it runs in local mode (no key
# needed, and it says so); `stargate admin key create` turns keys on.
#
#   SG_DEMO_PORT       port to serve on (default 8080)
#   SG_DEMO_HOST       address to listen on (default 127.0.0.1)
#   SG_DEMO_SELFCHECK  set to 1: start the server on a free port in a
#                      throwaway STARGATE_HOME, ask it in French and in German
#                      through the HTTP API, check each answer's language,
#                      stop it and exit (0 when both answers are right)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
echo "== building stargate (build/release)"
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DSG_WERROR=ON >/dev/null
cmake --build build/release -j"$(nproc)" --target stargate
bin=build/release/stargate

if [ "${SG_DEMO_SELFCHECK:-0}" = "1" ]; then
  home=$(mktemp -d /tmp/stargate-selfcheck-XXXXXX)
  trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$home"' EXIT
  echo "== self-check: stargate serve (default model, example deployments) in $home"
  STARGATE_HOME="$home" "$bin" serve --port 0 --port-file "$home/port" >"$home/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 600); do
    [ -s "$home/port" ] && break
    kill -0 "$pid" 2>/dev/null || { cat "$home/server.log"; exit 1; }
    sleep 0.1
  done
  cat "$home/server.log"
  /usr/bin/python3 tools/demo_selfcheck.py "http://127.0.0.1:$(cat "$home/port")"
  exit $?
fi

port=${SG_DEMO_PORT:-8080}
host=${SG_DEMO_HOST:-127.0.0.1}
cat <<MSG
== stargate serve --host $host --port $port
   Open http://$host:$port/ in a browser and chat (pick a language at the top), or:
     curl -s http://$host:$port/v1/chat/completions -H 'Content-Type: application/json' \\
          -d '{"model":"stargate-fr","messages":[{"role":"user","content":"Quelle est la capitale du Japon ?"}]}'
   Ctrl-C stops the server.
MSG
exec "$bin" serve --host "$host" --port "$port"
