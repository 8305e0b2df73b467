#!/usr/bin/env bash
# test_chat_pty.sh STARGATE PYTHON WORKDIR -- `stargate chat` end to end in a
# real pseudo-terminal (tmux): a streamed answer, multi-line input, /system,
# /save (atomic JSON with the whole conversation), /reset, Ctrl-C stopping an
# answer without ending the program, and /exit with status 0.
# Exits 77 (skip) when tmux or numpy is missing.
set -u
bin=$1 py=$2 work=$3
command -v tmux >/dev/null || exit 77
"$py" -c 'import numpy' 2>/dev/null || exit 77
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$work" && cd "$work" || exit 1
sock="$work/tmux.sock"
T="tmux -S $sock"
fail() { echo "FAIL: $*"; $T capture-pane -t chat -p -S - 2>/dev/null | tail -40; $T kill-server 2>/dev/null; exit 1; }

# a small real vocabulary and a random model that carries it
for i in $(seq 1 200); do echo "The quick brown fox $i jumps over the lazy dog. Bonjour, ça va? Très bien, merci."; done > corpus.txt
"$bin" tokenizer train --input corpus.txt --vocab-size 320 --special "<|endoftext|>" --special "<|im_start|>" \
  --special "<|im_end|>" -o vocab.gguf -q >/dev/null || fail "tokenizer train"
"$py" "$root/tools/gen_model.py" --quiet --arch llama --hidden 64 --layers 2 --heads 4 --kv-heads 2 --ff 128 \
  --ctx 4096 --tokenizer vocab.gguf --format gguf --out chat.gguf || fail "gen_model"

# wait_for TEXT [SECONDS]: poll the pane until TEXT shows up
wait_for() {
  local want=$1 t=${2:-20}
  for _ in $(seq 1 $((t * 10))); do
    $T capture-pane -t chat -p -S - | grep -qF -- "$want" && return 0
    sleep 0.1
  done
  fail "did not see '$want'"
}
prompts() { $T capture-pane -t chat -p -S - | grep -c '^>'; }
wait_prompts() { # wait until N "> " prompts are on screen
  for _ in $(seq 1 200); do [ "$(prompts)" -ge "$1" ] && return 0; sleep 0.1; done
  fail "expected $1 prompts, saw $(prompts)"
}

$T kill-server 2>/dev/null
# banning the end-of-text ids keeps answers going until -n or Ctrl-C
eog=$("$bin" tokenize -m vocab.gguf --special --ids --no-bos <<< "<|endoftext|><|im_end|>" | tr ' ' '\n' | grep -v '^$')
bans=""
for id in $eog; do bans="$bans --logit-bias $id=-inf"; done
$T new-session -d -s chat -x 200 -y 50 "$bin chat -m chat.gguf -n 12 --seed 7 -t 1 $bans --system 'Be brief.'; echo EXITED \$?; sleep 60"
wait_prompts 1
$T send-keys -t chat "Hello there" Enter
wait_for "[max tokens]"
wait_prompts 2
$T send-keys -t chat 'first line\' Enter 'second line' Enter
wait_prompts 3   # the continuation line shows ". ", then the answer and a new "> "
$T send-keys -t chat "/system Réponds en français." Enter
wait_for "(system prompt set)"
$T send-keys -t chat "/save $work/conv.json" Enter
wait_for "saved 5 messages"
"$py" - "$work/conv.json" <<'PY' || fail "saved conversation"
import json, sys
m = json.load(open(sys.argv[1]))["messages"]
roles = [x["role"] for x in m]
assert roles == ["system", "user", "assistant", "user", "assistant"], roles
assert m[0]["content"] == "Réponds en français.", m[0]
assert m[3]["content"] == "first line\nsecond line", m[3]
assert all(isinstance(x["content"], str) for x in m)
PY
$T send-keys -t chat "/reset" Enter
wait_for "(conversation cleared)"
$T send-keys -t chat "/exit" Enter
wait_for "EXITED 0"
$T kill-server

# Ctrl-C stops a long answer and the chat goes on (a fresh tmux server)
sock="$work/tmux2.sock"
T="tmux -S $sock"
$T new-session -d -s chat -x 200 -y 50 "$bin chat -m chat.gguf -n 100000 --seed 7 -t 1 $bans; echo EXITED \$?; sleep 60"
wait_prompts 1
$T send-keys -t chat "Tell me a very long story" Enter
sleep 0.5
$T send-keys -t chat C-c
wait_for "[stopped]"
wait_prompts 2
$T send-keys -t chat "/exit" Enter
wait_for "EXITED 0"
$T kill-server
echo "chat pty test: ok"
