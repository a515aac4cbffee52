# What the Makefile's scripts start with: the repository's root as the working directory,
# the PostgreSQL helpers (scripts/postgis.sh), the project's Python in $PY (or a clear error
# when .venv is missing), a private cluster stopped on exit, and mask for printing URLs. Sourced: source "$(dirname "${BASH_SOURCE[0]}")/common.sh" NAME
# (NAME is the make target, used in the message).
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/postgis.sh
source "$ROOT/scripts/postgis.sh"

PY="$ROOT/.venv/bin/python"
[[ -x "$PY" ]] || {
    echo "$1: .venv is missing; run 'make setup' (or 'make $1')" >&2
    exit 1
}

# A private PostgreSQL cluster the script started (scripts/postgis.sh) is stopped when it
# ends, however it ends.
cleanup() {
    if ((PG_STARTED_BY_US)); then pg_private_stop || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A database URL as it may be printed: its password masked.
mask() { sed -E 's#(://[^:/@]*):[^@/]*@#\1:***@#' <<<"$1"; }
