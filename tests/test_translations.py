"""Every string of the code is in each language's catalog, translated, with the same
placeholders; pages and API answers come in the language the visitor chose.

The catalogs are locale/<lang>/LC_MESSAGES/django.po (Python and templates) and djangojs.po
(the scripts); `make messages` updates them and `make setup` compiles them (msgfmt)."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

ROOT = Path(__file__).resolve().parent.parent
OTHER_LANGUAGES = [code for code, _ in settings.LANGUAGES if code != settings.LANGUAGE_CODE]
DOMAINS = ["django", "djangojs"]
PLACEHOLDER = re.compile(r"%\([a-z_0-9]+\)[sdif]|%[sdif]|\{[a-z_0-9]*\}")


def catalog(language: str, domain: str) -> polib.POFile:
    path = ROOT / "locale" / language / "LC_MESSAGES" / f"{domain}.po"
    assert path.exists(), f"{path} is missing: run `make messages` and translate it"
    return polib.pofile(str(path))


def keys(po: polib.POFile) -> set[tuple[str, str, str]]:
    return {(e.msgctxt or "", e.msgid, e.msgid_plural or "") for e in po if not e.obsolete}


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_every_message_is_translated(language, domain):
    po = catalog(language, domain)
    untranslated = [e.msgid for e in po.untranslated_entries() if not e.obsolete]
    fuzzy = [e.msgid for e in po.fuzzy_entries()]
    assert not untranslated, f"{len(untranslated)} untranslated in {language}: {untranslated[:10]}"
    assert not fuzzy, f"{len(fuzzy)} fuzzy (unchecked) in {language}: {fuzzy[:10]}"


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_translations_keep_the_placeholders(language, domain):
    """A missing %(team)s would drop the value; an extra one raises KeyError on the page."""
    wrong = []
    for entry in catalog(language, domain):
        if entry.obsolete:
            continue
        wanted = sorted(PLACEHOLDER.findall(entry.msgid))
        if entry.msgid_plural:
            # Plural forms may drop the count ("one pin"), never add an unknown name.
            allowed = set(PLACEHOLDER.findall(entry.msgid_plural)) | set(wanted)
            for text in entry.msgstr_plural.values():
                if set(PLACEHOLDER.findall(text)) - allowed:
                    wrong.append(entry.msgid)
        elif sorted(PLACEHOLDER.findall(entry.msgstr)) != wanted:
            wrong.append(entry.msgid)
    assert not wrong, f"placeholders differ in {language}: {wrong[:10]}"


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="gettext tools not installed")
def test_the_catalogs_hold_every_string_of_the_code(tmp_path):
    """makemessages over a copy of the code finds no message the committed catalogs lack:
    a string marked for translation but never extracted would stay English."""
    skip = {".git", ".venv", "node_modules", "var", "staticfiles", "tests", "bench", "locale"}
    copy = tmp_path / "code"
    shutil.copytree(
        ROOT,
        copy,
        ignore=lambda directory, names: [
            n for n in names if n in skip or n.endswith((".pyc", ".sqlite3"))
        ],
    )
    language = OTHER_LANGUAGES[0]
    for domain in DOMAINS:
        subprocess.run(  # noqa: S603 (our own manage.py, fixed arguments)
            [sys.executable, "manage.py", "makemessages", "-l", language, "-d", domain],
            cwd=copy,
            check=True,
            capture_output=True,
        )
        fresh = polib.pofile(str(copy / "locale" / language / "LC_MESSAGES" / f"{domain}.po"))
        missing = keys(fresh) - keys(catalog(language, domain))
        assert not missing, (
            f"{len(missing)} strings not in {domain}.po: run `make messages` and translate "
            f"them: {sorted(m[1] for m in missing)[:10]}"
        )


@pytest.mark.django_db
@pytest.mark.parametrize("language", [code for code, _ in settings.LANGUAGES])
def test_the_page_says_its_language_from_accept_language(language, city):
    response = Client(HTTP_ACCEPT_LANGUAGE=f"{language},en;q=0.5").get("/")
    assert response.status_code == 200
    assert f'<html lang="{language}">' in response.text
    assert response["Content-Language"] == language
    with translation.override(language):
        assert translation.gettext("Skip to content") in response.text


@pytest.mark.django_db
def test_the_switcher_outranks_the_browser(city):
    client = Client(HTTP_ACCEPT_LANGUAGE="fr")
    response = client.post("/i18n/setlang/", {"language": "nl", "next": "/alerts/"})
    assert response.status_code == 302 and response["Location"] == "/alerts/"
    page = client.get("/alerts/")
    assert '<html lang="nl">' in page.text
    assert 'value="nl" lang="nl" selected' in page.text


@pytest.mark.django_db
def test_an_unknown_language_falls_back_to_the_default(city):
    response = Client(HTTP_ACCEPT_LANGUAGE="tlh").get("/")
    assert f'<html lang="{settings.LANGUAGE_CODE}">' in response.text


@pytest.mark.django_db
def test_the_scripts_get_their_strings_in_the_page_language():
    response = Client(HTTP_ACCEPT_LANGUAGE="fr").get("/jsi18n/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    po = catalog("fr", "djangojs")
    translated = next(e for e in po if e.msgstr and e.msgstr != e.msgid and not e.msgid_plural)
    assert json.dumps(translated.msgstr) in response.content.decode()


@pytest.mark.django_db
def test_each_language_is_offered_in_its_own_name(city):
    page = Client(HTTP_ACCEPT_LANGUAGE="fr").get("/").text
    assert '<option value="en" lang="en">English</option>' in page
    assert '<option value="nl" lang="nl">Nederlands</option>' in page
    assert '<option value="fr" lang="fr" selected>français</option>' in page
