#!/usr/bin/env bash
# test_curl.sh STARGATE MODEL -- the server through curl: a chat answer, a
# stream read as it arrives (curl -N), an error status, and SIGTERM -> exit 0.
set -u
command -v curl >/dev/null || exit 77
STARGATE=$1
MODEL=$2
dir=$(mktemp -d)
trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
"$STARGATE" serve -m "$MODEL" --port 0 --port-file "$dir/port" -t 1 --quiet &
pid=$!
for _ in $(seq 100); do [ -s "$dir/port" ] && break; sleep 0.05; done
url="http://127.0.0.1:$(cat "$dir/port")"
fail=0
bad() { echo "FAIL: $*"; fail=1; }

out=$(curl -sS --max-time 20 "$url/v1/chat/completions" -H 'Content-Type: application/json' \
  -d '{"model":"m","messages":[{"role":"user","content":"Say hi"}],"max_tokens":5,"temperature":0}')
echo "$out" | grep -q '"object":"chat.completion"' || bad "chat: $out"
echo "$out" | grep -q '"finish_reason":"\(length\|stop\)"' || bad "chat finish: $out"

curl -sS -N --max-time 20 "$url/v1/chat/completions" -H 'Content-Type: application/json' \
  -d '{"messages":[{"role":"user","content":"Stream"}],"max_tokens":4,"temperature":0,"stream":true}' >"$dir/sse"
head -c 6 "$dir/sse" | grep -q '^data: ' || bad "stream starts with data:"
tail -c 16 "$dir/sse" | grep -q 'data: \[DONE\]' || bad "stream ends with [DONE]"
[ "$(grep -c '^data: ' "$dir/sse")" -ge 3 ] || bad "stream has chunks"

code=$(curl -s -o "$dir/err" -w '%{http_code}' --max-time 10 "$url/v1/chat/completions" -d '{"messages":')
[ "$code" = 400 ] || bad "malformed JSON gives $code"
grep -q '"error":{"message"' "$dir/err" || bad "error body: $(cat "$dir/err")"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$url/v1/embeddings" -d '{}')
[ "$code" = 404 ] || bad "unknown route gives $code"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$url/v1/models")
[ "$code" = 200 ] || bad "models gives $code"
curl -s --max-time 10 "$url/metrics" | grep -q '^stargate_requests_total{status="400"} 1$' || bad "metrics count the 400"

kill -TERM $pid
wait $pid
rc=$?
[ $rc = 0 ] || bad "exit status after SIGTERM: $rc"
[ $fail = 0 ] && echo "curl: ok"
exit $fail
