#!/usr/bin/env bash
# The main job, from a fresh Debian machine: install the packages, build
# stargate, make a small model and serve it with the OpenAI-compatible API.
#
# Until the default assistant (trained by stargate itself) ships, the model is
# a small random Llama-architecture network carrying a real byte-level BPE
# vocabulary that stargate trains on this repository's own documentation, so
# every layer runs for real (tokenizer, chat template, sampler, continuous
# batching) even though the answers are noise.
#
#   SG_DEMO_PORT   port to serve on (default 8080)
#   SG_DEMO_SERVE  set to 0 to stop after the offline demo (no server)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh build/release
bin=build/release/stargate
models=build/demo-models
port=${SG_DEMO_PORT:-8080}
mkdir -p "$models"
if [ ! -f "$models/demo-q8_0.gguf" ]; then
  echo "== training a 2048-token vocabulary on the repository's docs (stargate tokenizer train)"
  cat README.md docs/*.md configs/README.md > "$models/corpus.txt"
  "$bin" tokenizer train --input "$models/corpus.txt" --vocab-size 2048 --special "<|endoftext|>" \
    --special "<|im_start|>" --special "<|im_end|>" -o "$models/vocab.gguf" -q
  echo "== generating a small random llama model with that vocabulary (tools/gen_model.py)"
  common=(--arch llama --hidden 256 --layers 4 --heads 8 --kv-heads 2 --ff 768 --ctx 2048 --seed 42
          --tokenizer "$models/vocab.gguf" --quiet)
  /usr/bin/python3 tools/gen_model.py "${common[@]}" --format gguf --dtype q8_0 --out "$models/demo-q8_0.gguf"
fi
model="$models/demo-q8_0.gguf"
echo "== stargate info $model"
"$bin" info "$model"
echo
echo "== stargate generate -m $model -p \"Hello\" -n 16"
"$bin" generate -m "$model" -p "Hello" -n 16
echo
if [ "${SG_DEMO_SERVE:-1}" = "0" ]; then exit 0; fi
cat <<MSG
== stargate serve -m $model --port $port
   Try, from another terminal:
     curl -s http://127.0.0.1:$port/v1/chat/completions -H 'Content-Type: application/json' \\
          -d '{"messages":[{"role":"user","content":"Bonjour !"}],"max_tokens":32}'
     curl -sN http://127.0.0.1:$port/v1/chat/completions -H 'Content-Type: application/json' \\
          -d '{"messages":[{"role":"user","content":"Hello"}],"max_tokens":32,"stream":true}'
   Ctrl-C stops the server.
MSG
exec "$bin" serve -m "$model" --port "$port"
