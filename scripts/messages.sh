#!/usr/bin/env bash
# Extract every translatable string into locale/<lang>/LC_MESSAGES: django.po (Python and
# templates) and djangojs.po (the map's scripts), for each language of settings.LANGUAGES but
# the default. Translators then fill the empty msgstr; `make setup` compiles the .mo files.
# tests/test_translations.py fails while a string is missing from a catalog or untranslated.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="$ROOT/.venv/bin/python"
mapfile -t langs < <("$PY" - <<'PY'
import os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mapideas.settings")
import django
django.setup()
from django.conf import settings
for code, _ in settings.LANGUAGES:
    if code != settings.LANGUAGE_CODE:
        print(code)
PY
)
args=()
for l in "${langs[@]}"; do args+=(-l "$l"); done
ignore=(--ignore=.venv --ignore=node_modules --ignore=var --ignore=staticfiles --ignore=tests
    --ignore=bench --ignore=build --ignore=test-results)
mkdir -p locale
"$PY" manage.py makemessages "${args[@]}" "${ignore[@]}" --no-obsolete --add-location=file
"$PY" manage.py makemessages -d djangojs "${args[@]}" "${ignore[@]}" --no-obsolete --add-location=file
