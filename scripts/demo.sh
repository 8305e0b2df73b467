#!/usr/bin/env bash
# The main job, from a fresh Debian machine: install the packages, build
# stargate, generate a small random Llama-architecture model (both as a
# Hugging Face directory and as a Q8_0 GGUF), describe it and run it.
# (Until the server and the default assistant exist, this is what stargate does.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh build/release
bin=build/release/stargate
models=build/demo-models
mkdir -p "$models"
if [ ! -f "$models/demo-q8_0.gguf" ]; then
  echo "== generating a small random llama model (tools/gen_model.py)"
  common=(--arch llama --hidden 256 --layers 4 --heads 8 --kv-heads 2 --ff 768 --vocab 2048 --ctx 1024 --seed 42)
  /usr/bin/python3 tools/gen_model.py "${common[@]}" --format hf --dtype f32 --out "$models/demo-hf"
  /usr/bin/python3 tools/gen_model.py "${common[@]}" --format gguf --dtype q8_0 --out "$models/demo-q8_0.gguf"
fi
echo "== stargate info $models/demo-q8_0.gguf"
"$bin" info "$models/demo-q8_0.gguf"
echo
echo "== greedy generation from tokens \"1 2 3 4\", Hugging Face f32 and GGUF Q8_0"
"$bin" generate -m "$models/demo-hf" --tokens "1 2 3 4" -n 16
"$bin" generate -m "$models/demo-q8_0.gguf" --tokens "1 2 3 4" -n 16
