#!/usr/bin/env bash
# Build llama.cpp's `llama-server` (CPU only) for the local_llm test tier, and print its path.
#
# The llama.cpp sources come from the llama-cpp-python source distribution on PyPI (it vendors
# them under vendor/llama.cpp), so the only network access is pip. The binary lands in a cache
# outside the repository:
#
#   ${ASSISTANTS_LLAMA_CACHE:-$HOME/.cache/assistants-llama}/<llama-cpp-python version>/llama-server
#
# and the build is skipped when it is already there. Progress goes to stderr; stdout is only the
# binary's path, so `ASSISTANTS_LLAMA_SERVER="$(scripts/build_llama_server.sh)"` works.
#
# Environment: ASSISTANTS_LLAMA_CACHE (cache root), PYTHON (interpreter whose pip downloads the
# sdist; default python3), BUILD_JOBS (parallel compile jobs; default: the number of cores).
set -euo pipefail

# Pinned: llama-cpp-python 0.3.36 vendors llama.cpp at commit 0c1e57098.
LLAMA_CPP_PYTHON_VERSION="0.3.36"
SDIST_SHA256="832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e"

cache_root="${ASSISTANTS_LLAMA_CACHE:-$HOME/.cache/assistants-llama}"
dest_dir="$cache_root/$LLAMA_CPP_PYTHON_VERSION"
binary="$dest_dir/llama-server"

log() { printf 'build_llama_server: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

if [[ -x "$binary" ]]; then
  log "already built"
  echo "$binary"
  exit 0
fi

missing=()
for tool in cmake gcc g++ tar sha256sum; do
  command -v "$tool" > /dev/null 2>&1 || missing+=("$tool")
done
if ((${#missing[@]})); then
  die "${missing[*]} not found: install a C/C++ toolchain and CMake (Debian: apt-get install -y cmake g++ make)"
fi
python="${PYTHON:-python3}"
"$python" -m pip --version > /dev/null 2>&1 \
  || die "'$python -m pip' does not work: set PYTHON to an interpreter that has pip"
generator=()
if command -v ninja > /dev/null 2>&1; then
  generator=(-G Ninja)
elif ! command -v make > /dev/null 2>&1; then
  die "neither ninja nor make is installed (Debian: apt-get install -y make)"
fi
jobs="${BUILD_JOBS:-$(nproc 2> /dev/null || echo 2)}"

mkdir -p "$dest_dir"
work="$(mktemp -d "$dest_dir/.build.XXXXXX")"
trap 'rm -rf "$work"' EXIT

start=$SECONDS
log "downloading the llama-cpp-python $LLAMA_CPP_PYTHON_VERSION sdist"
"$python" -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
  "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" -d "$work/sdist" >&2
sdist="$work/sdist/llama_cpp_python-$LLAMA_CPP_PYTHON_VERSION.tar.gz"
[[ -f "$sdist" ]] || die "pip did not produce $sdist"
echo "$SDIST_SHA256  $sdist" | sha256sum --check --quiet - >&2 \
  || die "the sdist's sha256 is not the pinned $SDIST_SHA256"

log "extracting vendor/llama.cpp"
tar -xzf "$sdist" -C "$work" "llama_cpp_python-$LLAMA_CPP_PYTHON_VERSION/vendor/llama.cpp"
src="$work/llama_cpp_python-$LLAMA_CPP_PYTHON_VERSION/vendor/llama.cpp"
# The vendored tree's .git points into a superproject that the sdist lacks; without it the build
# info is just "unknown" instead of a git error.
rm -f "$src/.git"

log "configuring (CPU only, no web UI, no HTTPS, no tests or examples)"
cmake -S "$src" -B "$work/build" "${generator[@]}" \
  -DCMAKE_BUILD_TYPE=Release \
  -DBUILD_SHARED_LIBS=OFF \
  -DGGML_NATIVE=OFF \
  -DLLAMA_BUILD_TESTS=OFF \
  -DLLAMA_BUILD_EXAMPLES=OFF \
  -DLLAMA_BUILD_TOOLS=ON \
  -DLLAMA_BUILD_SERVER=ON \
  -DLLAMA_BUILD_APP=OFF \
  -DLLAMA_BUILD_UI=OFF \
  -DLLAMA_USE_PREBUILT_UI=OFF \
  -DLLAMA_OPENSSL=OFF \
  > "$work/configure.log" 2>&1 || { tail -n 40 "$work/configure.log" >&2; die "cmake configure failed"; }

log "building llama-server with $jobs jobs (a few minutes on 2 cores)"
cmake --build "$work/build" --target llama-server -j "$jobs" \
  > "$work/build.log" 2>&1 || { tail -n 60 "$work/build.log" >&2; die "cmake build failed"; }

built="$work/build/bin/llama-server"
[[ -x "$built" ]] || die "the build finished but $built is missing"
"$built" --version > /dev/null 2>&1 || die "the built llama-server does not run"
cp "$built" "$binary.tmp.$$"
mv -f "$binary.tmp.$$" "$binary"  # atomic: a reader never sees a half-copied binary
log "built in $((SECONDS - start)) s"
echo "$binary"
