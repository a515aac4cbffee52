"""docs/architecture.md is the map a newcomer follows: every file it names exists, and the
import contracts it lists are the ones `make lint` checks (pyproject.toml), no more, no less."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARCHITECTURE = (ROOT / "docs" / "architecture.md").read_text()
CONTRACTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"][
    "contracts"
]


def test_every_contract_checked_is_described():
    described = re.findall(r"^\d+\. \*\*(.+?)\*\*", ARCHITECTURE, flags=re.M | re.S)
    described = [" ".join(name.split()).rstrip(".") for name in described]
    assert described == [contract["name"] for contract in CONTRACTS]


def test_no_contract_lists_exceptions():
    for contract in CONTRACTS:
        assert "ignore_imports" not in contract, contract["name"]


def test_every_file_it_names_exists():
    named = set(re.findall(r"`((?:mapideas|neighborhoods|geodata)/[\w/]*(?:\.py)?)`", ARCHITECTURE))
    assert len(named) > 20, "the paths were not found: has the document's style changed?"
    missing = sorted(path for path in named if not (ROOT / path).exists())
    assert not missing


def test_every_room_it_lists_is_a_package_with_tests():
    rooms = re.findall(r"^\| `(\w+)/` \|", ARCHITECTURE, flags=re.M)
    assert len(rooms) >= 18
    for room in rooms:
        package = next(
            ROOT / top / room
            for top in ("mapideas", "geodata", "neighborhoods")
            if (ROOT / top / room / "__init__.py").exists()
        )
        tests = ROOT / "tests" / package.relative_to(ROOT)
        assert any(tests.glob("test_*.py")), f"no tests in {tests.relative_to(ROOT)}"


def test_the_code_cites_no_tracker_numbers():
    """A reader of the repository cannot open the tracker: a decision worth keeping is a
    record in docs/decisions/, and a comment points there. Migrations keep their history."""
    word = "issue"
    cited = re.compile(rf"\b{word}s? ?#?\d+", re.IGNORECASE)
    suffixes = {".py", ".js", ".html", ".css", ".sh", ".toml", ".lua"}
    skipped = {".git", ".venv", "node_modules", "var", "staticfiles", "migrations"}
    found = []
    for path in ROOT.rglob("*"):
        relative = path.relative_to(ROOT)
        if skipped & set(relative.parts) or not path.is_file():
            continue
        if path.suffix not in suffixes and path.name != "Makefile":
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if cited.search(line):
                found.append(f"{relative}:{number}: {line.strip()}")
    assert not found, "\n".join(found)
