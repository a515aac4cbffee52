"""The README is the front door and docs/ holds the rest: the README stays short and points to
the guides and the architecture, every relative link in README.md and docs/ leads to a file
that exists, and no page cites a tracker number (docs/decisions/ holds the decisions)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README, *sorted(DOCS.rglob("*.md"))]

FENCED_CODE = re.compile(r"^(```|~~~).*?^\1", flags=re.M | re.S)
INLINE_CODE = re.compile(r"`+[^`\n]*`+")
# [text](target) and [text](target "title"); images too (![alt](target)).
INLINE_LINK = re.compile(r"\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
# [label]: target
REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]\n]+\]:\s*<?(\S+?)>?(?:\s|$)", flags=re.M)
EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//)", flags=re.I)
TRACKER_NUMBER = re.compile(r"\b[Ii]ssues? ?#?\d+")


def prose(page: Path) -> str:
    """The page's text without its code: a link in a code sample is not a link."""
    text = FENCED_CODE.sub("", page.read_text(encoding="utf-8"))
    return INLINE_CODE.sub("", text)


def relative_links(page: Path) -> list[str]:
    text = prose(page)
    targets = INLINE_LINK.findall(text) + REFERENCE_LINK.findall(text)
    return [target for target in targets if not EXTERNAL.match(target)]


def test_the_pages_are_found():
    names = {page.relative_to(ROOT).as_posix() for page in PAGES}
    assert {"README.md", "docs/README.md", "docs/architecture.md"} <= names
    assert len(list((DOCS / "guides").glob("*.md"))) >= 3


def test_the_readme_is_short():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) < 250, f"README.md has {len(lines)} lines: move the details to docs/"


def test_the_readme_links_to_every_guide_and_the_architecture():
    targets = {(ROOT / link.split("#")[0]).resolve() for link in relative_links(README)}
    expected = [*sorted((DOCS / "guides").glob("*.md")), DOCS / "architecture.md"]
    missing = [page.relative_to(ROOT).as_posix() for page in expected if page not in targets]
    assert not missing, f"README.md does not link to {missing}"


def test_the_readme_keeps_the_two_commands_and_what_they_need():
    text = README.read_text(encoding="utf-8")
    for words in ("make run", "make test", "Debian", "sudo", "demo city"):
        assert words in text, words


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(ROOT).as_posix())
def test_every_relative_link_leads_to_a_file(page):
    broken = []
    for link in relative_links(page):
        path = link.split("#")[0].split("?")[0]
        if not path:
            continue  # an anchor in the same page
        target = (page.parent / path).resolve()
        if target.exists():
            continue
        broken.append(link)
    assert not broken, f"{page.relative_to(ROOT)}: no such file for {broken}"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(ROOT).as_posix())
def test_no_page_cites_a_tracker_number(page):
    cited = TRACKER_NUMBER.findall(page.read_text(encoding="utf-8"))
    assert not cited, f"{page.relative_to(ROOT)} cites {cited}: link a decision instead"
