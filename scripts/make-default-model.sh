#!/usr/bin/env bash
# make-default-model.sh -- build stargate's default assistant model, models/stargate-mini.gguf,
# from nothing but this repository: stargate trains it itself.
#
#   scripts/make-default-model.sh [--stargate BUILD/stargate] [--work DIR] [--out FILE]
#                                 [--deployments DIR] [--threads N] [--pre-steps N] [--sft-steps N]
#
# Exact command that made the committed file (seed 1 for the corpus, 1337 for both trainings):
#   scripts/make-default-model.sh --stargate build/stargate
#
# Defaults: --work build-default-model (ignored by git), --out models/stargate-mini.gguf,
# --deployments deployments, --threads 2, steps from configs/default-model-{pretrain,sft}.conf
# (--pre-steps/--sft-steps: a quick trial, warmup 1 and no validation).
# Steps (all deterministic for a given thread count):
#   1. tools/make_instruct_corpus.py --seed 1 --meta --system-prompts DEPLOYMENTS
#      --system-prompts-share 0.05 (fr/en/de synthetic corpus; 5 % of the conversations start
#      with a deployment's exact system message, answered in the user's language as those
#      prompts ask; the held-out conversations ask the same facts in unseen phrasings)
#   2. stargate tokenizer train: byte-level BPE, 4096 tokens, on pretrain.txt plus the deployments'
#      system messages (repeated, so their words, Arabic included, get merges and the messages
#      stay short in tokens); ChatML specials; the ChatML template is added to the vocabulary
#      (tokenizer.chat_template) so every export carries it
#   3. stargate data prepare: pretrain.txt and pretrain.val.txt to token shards
#   4. stargate train configs/default-model-pretrain.conf (Llama, 4.3M parameters, from scratch)
#   5. stargate finetune configs/default-model-sft.conf (sft.jsonl, loss on the answers only)
#   6. stargate quantize ... q8_0 -> OUT; stargate perplexity of F32 and Q8_0 on held-out text
# Then evaluate with tools/eval_default_model.py (models/README.md has the figures).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SG=$ROOT/build/stargate
WORK=$ROOT/build-default-model
OUT=$ROOT/models/stargate-mini.gguf
DEPLOY=$ROOT/deployments
THREADS=2
PRE_STEPS=
SFT_STEPS=
SEED=1
VOCAB=4096
SYS_REPEAT=200
SYS_SHARE=0.05

while [ $# -gt 0 ]; do
    case $1 in
        --stargate) SG=$(realpath "$2"); shift 2 ;;
        --work) WORK=$(realpath -m "$2"); shift 2 ;;
        --out) OUT=$(realpath -m "$2"); shift 2 ;;
        --deployments) DEPLOY=$(realpath "$2"); shift 2 ;;
        --threads) THREADS=$2; shift 2 ;;
        --pre-steps) PRE_STEPS=$2; shift 2 ;;
        --sft-steps) SFT_STEPS=$2; shift 2 ;;
        -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
        *) echo "make-default-model.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
[ -x "$SG" ] || { echo "make-default-model.sh: no stargate binary at $SG (build first, or --stargate)" >&2; exit 1; }
[ -d "$DEPLOY" ] || { echo "make-default-model.sh: no deployments directory $DEPLOY" >&2; exit 1; }
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

rm -rf "$WORK"
mkdir -p "$WORK/runs" "$(dirname "$OUT")"
cd "$WORK"
t_start=$(date +%s)
stamp() { echo "== $(date -u +%H:%M:%S) (+$(( $(date +%s) - t_start ))s) $*"; }

stamp "1. corpus"
"$PY" "$ROOT/tools/make_instruct_corpus.py" --out corpus --seed "$SEED" --meta --system-prompts "$DEPLOY" \
    --system-prompts-share "$SYS_SHARE"

stamp "2. tokenizer"
# the deployments' system messages (as the server prepends them), one file each, and all of
# them SYS_REPEAT times after the pretraining text as the tokenizer's input
"$PY" -c '
import importlib.util, sys
spec = importlib.util.spec_from_file_location("mic", sys.argv[1])
mic = importlib.util.module_from_spec(spec); spec.loader.exec_module(mic)
deps = mic.load_system_prompts(sys.argv[2])
for i, _, m in deps:
    open("corpus/system-" + i + ".txt", "w", encoding="utf-8").write(m)
open("corpus/system-messages.txt", "w", encoding="utf-8").write("\n\n".join([m for _, _, m in deps] * int(sys.argv[3])) + "\n")
' "$ROOT/tools/make_instruct_corpus.py" "$DEPLOY" "$SYS_REPEAT"
cat corpus/pretrain.txt corpus/system-messages.txt > corpus/tokenizer-input.txt
"$SG" tokenizer train --input corpus/tokenizer-input.txt --vocab-size "$VOCAB" -q \
    --special '<|endoftext|>' --special '<|im_start|>' --special '<|im_end|>' -o vocab-plain.gguf
# add tokenizer.chat_template (ChatML) to the vocabulary file: a new last key/value pair
"$PY" -c '
import struct, sys
sys.path.insert(0, sys.argv[1])
from gguf_reader import GGUFReader
src, dst = sys.argv[2], sys.argv[3]
r = GGUFReader(src)
assert not r.tensors and "tokenizer.chat_template" not in r.metadata
tmpl = ("{%- for message in messages %}"
        "{{- \x27<|im_start|>\x27 + message[\x27role\x27] + \x27\\n\x27 + message[\x27content\x27] + \x27<|im_end|>\\n\x27 }}"
        "{%- endfor %}"
        "{%- if add_generation_prompt %}{{- \x27<|im_start|>assistant\\n\x27 }}{%- endif %}")
def s(x):
    b = x.encode("utf-8")
    return struct.pack("<Q", len(b)) + b
buf = bytes(r.buf[:r.pos])
n_kv = struct.unpack_from("<Q", buf, 16)[0]
buf = buf[:16] + struct.pack("<Q", n_kv + 1) + buf[24:] + s("tokenizer.chat_template") + struct.pack("<I", 8) + s(tmpl)
open(dst, "wb").write(buf)
' "$ROOT/tools" vocab-plain.gguf vocab.gguf
for f in corpus/system-*.txt; do
    [ "$f" = corpus/system-messages.txt ] && continue
    echo "   $f: $("$SG" tokenize -m vocab.gguf --no-bos --ids < "$f" | wc -w) tokens"
done

stamp "3. data prepare"
"$SG" data prepare --tokenizer vocab.gguf --input corpus/pretrain.txt --out data/pretrain --threads "$THREADS"
"$SG" data prepare --tokenizer vocab.gguf --input corpus/pretrain.val.txt --out data/pretrain-val --threads "$THREADS"

stamp "4. pretrain"
"$SG" train "$ROOT/configs/default-model-pretrain.conf" --threads "$THREADS" ${PRE_STEPS:+--max_steps "$PRE_STEPS" --warmup_steps 1 --val_every 0}

stamp "5. finetune"
"$SG" finetune "$ROOT/configs/default-model-sft.conf" --threads "$THREADS" ${SFT_STEPS:+--max_steps "$SFT_STEPS" --warmup_steps 1 --val_every 0}

stamp "6. quantize"
"$SG" quantize runs/sft/model.gguf model-q8_0.gguf q8_0 -t "$THREADS"
for m in runs/sft/model.gguf model-q8_0.gguf; do
    echo "   perplexity of $m on pretrain.val.txt:"
    "$SG" perplexity -m "$m" -f corpus/pretrain.val.txt --ctx 512 -t "$THREADS" 2>&1 | grep "^perplexity:"
done
echo "   the export's own chat template:"
echo '[{"role":"system","content":"S"},{"role":"user","content":"Q"}]' > conv.json
"$SG" template -m model-q8_0.gguf --messages conv.json --add-generation-prompt
cp model-q8_0.gguf "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
stamp "done: $OUT ($(stat -c %s "$OUT") bytes)"
