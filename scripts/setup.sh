#!/usr/bin/env bash
# Idempotent install step shared by `make run` and `make test`.
#   1. system packages (apt, only what is missing)
#   2. a Python 3.11 whose sqlite3 can load extensions (SpatiaLite)
#   3. .venv with `pip install -e '.[dev]'` (skipped while pyproject.toml is unchanged)
#   4. `npm ci` for the front-end libraries (skipped while package-lock.json is unchanged)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/postgis.sh
source "$ROOT/scripts/postgis.sh"

log() { echo "setup: $*"; }
die() {
    echo "setup: ERROR: $*" >&2
    exit 1
}

# ---------------------------------------------------------------------------------------
# 1. System packages
# ---------------------------------------------------------------------------------------
pkg_installed() {
    local status
    status="$(dpkg -s "$1" 2>/dev/null)" || return 1
    [[ "$status" == *"Status: install ok installed"* ]]
}

APT_UPDATED=0
apt_install() {
    (($#)) || return 0
    local sudo=()
    if ((EUID != 0)); then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo)
        else
            die "these system packages are missing: $*
       Not root and sudo is not available. Install them as root:
         apt-get update && apt-get install -y $*"
        fi
    fi
    if ((APT_UPDATED == 0)); then
        log "apt-get update"
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        APT_UPDATED=1
    fi
    log "apt-get install $*"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        -o Dpkg::Use-Pty=0 "$@" >/dev/null
}

missing_of() {
    local p
    for p in "$@"; do pkg_installed "$p" || echo "$p"; done
}

if ! command -v dpkg >/dev/null 2>&1; then
    die "dpkg not found: this setup supports Debian 12 / Ubuntu only"
fi

# wrk: the HTTP load tool of `make bench` (pin_creation_http). gettext: msgfmt compiles the
# translations (locale/*/LC_MESSAGES/*.po) in step 5. redis-server: `make test` runs the
# Redis rate-limit counters' tests against a private one when no Redis answers.
wanted=(gdal-bin libsqlite3-mod-spatialite chromium python3-venv wrk gettext)
command -v redis-server >/dev/null 2>&1 || wanted+=(redis-server)
command -v npm >/dev/null 2>&1 || wanted+=(nodejs npm)
if majors="$(pg_majors 2>/dev/null)"; then
    # A PostgreSQL server is installed: add PostGIS for each installed major.
    for m in $majors; do wanted+=("postgresql-$m-postgis-3"); done
else
    wanted+=(postgresql)
fi
mapfile -t missing < <(missing_of "${wanted[@]}")
apt_install "${missing[@]}"

# PostgreSQL was only just installed: now its major is known.
if [[ -z "${majors:-}" ]]; then
    majors="$(pg_majors)" || die "PostgreSQL was installed but no server found in /usr/lib/postgresql"
    pg=()
    for m in $majors; do pg+=("postgresql-$m-postgis-3"); done
    mapfile -t missing < <(missing_of "${pg[@]}")
    apt_install "${missing[@]}"
fi
((APT_UPDATED)) || log "system packages present (PostgreSQL $(echo $majors | tr ' ' ','), PostGIS, GDAL, SpatiaLite, Chromium, Node, wrk, gettext, Redis)"

# ---------------------------------------------------------------------------------------
# 2. Python 3.11 with loadable sqlite3 extensions
# ---------------------------------------------------------------------------------------
python_ok() {
    "$1" - <<'PY' >/dev/null 2>&1
import sqlite3, sys
assert sys.version_info[:2] == (3, 11), sys.version
c = sqlite3.connect(":memory:")
c.enable_load_extension(True)
PY
}

pick_python() {
    local c p candidates=()
    [[ -n "${PYTHON:-}" ]] && candidates+=("$PYTHON")
    candidates+=(/usr/bin/python3.11 /usr/bin/python3 python3.11 python3)
    for c in "${candidates[@]}"; do
        p="$(command -v "$c" 2>/dev/null)" || continue
        if python_ok "$p"; then
            echo "$p"
            return 0
        fi
        [[ -n "${PYTHON:-}" && "$c" == "$PYTHON" ]] &&
            echo "setup: warning: \$PYTHON=$PYTHON is not Python 3.11 with sqlite3 extension loading; trying others" >&2
    done
    return 1
}

VENV="$ROOT/.venv"
if [[ -x "$VENV/bin/python" ]] && python_ok "$VENV/bin/python"; then
    :
else
    PY="$(pick_python)" || die "no Python 3.11 whose sqlite3 module can load extensions (needed for SpatiaLite).
       Tried: ${PYTHON:+\$PYTHON=$PYTHON, }/usr/bin/python3.11, /usr/bin/python3, python3.11, python3 on PATH.
       On Debian/Ubuntu install python3 and python3-venv, or set PYTHON=/path/to/python3.11."
    if [[ -e "$VENV" ]]; then
        log "existing .venv fails the Python 3.11 + sqlite3 extension check; recreating it"
        rm -rf "$VENV"
    fi
    log "creating .venv with $PY ($("$PY" -c 'import platform; print(platform.python_version())'))"
    "$PY" -m venv "$VENV"
fi

# ---------------------------------------------------------------------------------------
# 3. Python packages
# ---------------------------------------------------------------------------------------
py_hash="$(sha256sum pyproject.toml | cut -c1-16)"
py_stamp="$VENV/.installed-$py_hash"
if [[ -f "$py_stamp" ]]; then
    log "python packages up to date"
else
    log "pip install -e '.[dev]' (this takes a minute the first time)"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e '.[dev]'
    rm -f "$VENV"/.installed-*
    touch "$py_stamp"
fi

# ---------------------------------------------------------------------------------------
# 4. Front-end libraries from npm
# ---------------------------------------------------------------------------------------
[[ -f package-lock.json ]] || die "package-lock.json is missing"
js_hash="$(sha256sum package-lock.json | cut -c1-16)"
js_stamp="node_modules/.installed-$js_hash"
if [[ -f "$js_stamp" ]]; then
    log "node_modules up to date"
else
    log "npm ci"
    npm ci --no-audit --no-fund --loglevel=error
    touch "$js_stamp"
fi

# ---------------------------------------------------------------------------------------
# 5. Translations: the .po catalogs are committed, the compiled .mo files are not
# ---------------------------------------------------------------------------------------
compiled=0
for po in locale/*/LC_MESSAGES/*.po; do
    [[ -e "$po" ]] || continue
    mo="${po%.po}.mo"
    if [[ ! -f "$mo" || "$po" -nt "$mo" ]]; then
        # --check-format: a translation whose %(name)s placeholders differ from the English
        # one stops setup here rather than raising KeyError on a page.
        msgfmt --check-format -o "$mo" "$po" || die "msgfmt failed on $po"
        compiled=$((compiled + 1))
    fi
done
((compiled == 0)) || log "compiled $compiled translation catalog(s)"

log "done"
