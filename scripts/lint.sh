#!/usr/bin/env bash
# make lint: ruff (style and bugs), import-linter (the rooms' one-way imports, as contracts in
# pyproject.toml and docs/architecture.md) and mypy (types, with the Django and DRF plugins).
# Runs every check, then fails if any failed. `make test` runs it first.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BIN="$ROOT/.venv/bin"
[[ -x "$BIN/python" ]] || {
    echo "lint: .venv is missing; run 'make setup'" >&2
    exit 1
}

failed=()
run() { # run NAME COMMAND...
    local name="$1"
    shift
    printf '\n----- %s -----\n' "$name"
    if "$@"; then
        echo "$name: OK"
    else
        echo "$name: FAILED"
        failed+=("$name")
    fi
}

run "ruff check" "$BIN/ruff" check .
run "ruff format --check" "$BIN/ruff" format --check .
# No cache in var/: a contract is judged on the files as they are.
run "import contracts (lint-imports)" "$BIN/lint-imports" --no-cache --no-logo
# mypy's Django plugin loads the settings; they need no database server to load.
run "types (mypy)" "$BIN/mypy"

if ((${#failed[@]})); then
    printf '\nlint: FAILED: %s\n' "$(IFS=,; echo "${failed[*]}")"
    exit 1
fi
printf '\nlint: OK (ruff, import contracts, mypy)\n'
