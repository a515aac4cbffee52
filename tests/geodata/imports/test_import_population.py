"""import_population: population from a CSV, joined to the active neighborhoods by a key."""

import gzip
from io import StringIO
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from mapideas.rerouting.services import boundaries_activate
from neighborhoods.models import Neighborhood
from neighborhoods.services import population_set
from tests.layered_city import layered_version

pytestmark = pytest.mark.django_db

# The `city` fixture: West Side 12000, Enclave 800, East Side 9000, Harbor (none).


def write_csv(tmp_path: Path, text: str, name: str = "population.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run(path: Path, *args: str, key: str = "AREA", population: str = "POP") -> str:
    out = StringIO()
    call_command(
        "import_population",
        str(path),
        "--key-field",
        key,
        "--population-field",
        population,
        *args,
        stdout=out,
    )
    return out.getvalue()


def populations() -> dict[str, int | None]:
    return dict(
        Neighborhood.objects.filter(version__is_active=True).values_list("slug", "population")
    )


def test_it_reports_what_would_change_and_writes_nothing_without_commit(tmp_path, city):
    path = write_csv(tmp_path, "AREA,POP\nWest Side,12500\nEast Side,9000\n")

    output = run(path)

    assert output.splitlines() == [
        f"Read 2 rows against boundary version #{city.west.version_id} (test city).",
        "Matched 2 neighborhoods; 1 would change.",
        "  West Side: 12,000 -> 12,500",
        "Neighborhoods with no row (2): Enclave, Harbor",
        "Dry run: nothing was written. Run again with --commit to apply.",
    ]
    assert populations()["west-side"] == 12000


def test_it_writes_with_commit_matching_names_and_slugs_ignoring_case(tmp_path, city):
    path = write_csv(
        tmp_path, "AREA,POP\nwest side,12500\nEAST-SIDE,9100\n  Enclave  ,0\nharbor,4200\n"
    )

    output = run(path, "--commit")

    assert "Matched 4 neighborhoods; 4 changed." in output
    assert "  Harbor: none -> 4,200" in output
    assert "Committed: population set for 4 neighborhoods." in output
    assert populations() == {"west-side": 12500, "east-side": 9100, "enclave": 0, "harbor": 4200}


def test_it_lists_unmatched_keys_by_line_and_still_commits_the_rest(tmp_path, city):
    path = write_csv(tmp_path, "AREA,POP\nAtlantis,5\nEast Side,9500\n,7\n")

    output = run(path, "--commit")

    assert "Keys that match no neighborhood (2):\n  line 2: 'Atlantis'\n  line 4: ''\n" in output
    assert "Neighborhoods with no row (3): Enclave, Harbor, West Side" in output
    assert populations()["east-side"] == 9500


def test_it_lists_every_bad_value_and_refuses_the_whole_file_with_commit(tmp_path, city):
    path = write_csv(
        tmp_path,
        "AREA,POP\nWest Side,13000\nEast Side,lots\nEnclave,-4\nHarbor,12.5\n"
        "Atlantis,\nwest-side,1\nHarbor,99999999999\n",
    )

    out = StringIO()

    with pytest.raises(CommandError, match="6 bad population values: nothing was written"):
        call_command(
            "import_population",
            str(path),
            "--key-field=AREA",
            "--population-field=POP",
            "--commit",
            stdout=out,
        )

    output = out.getvalue()

    assert (
        "Bad population values (6):\n"
        "  line 3: 'East Side': 'lots' (not a number)\n"
        "  line 4: 'Enclave': '-4' (negative)\n"
        "  line 5: 'Harbor': '12.5' (not whole)\n"
        "  line 6: 'Atlantis': '' (not a number)\n"
        "  line 7: 'west-side': '1' (West Side already on line 2)\n"
        "  line 8: 'Harbor': '99999999999' (too large)\n"
    ) in output
    assert populations()["west-side"] == 12000


def test_it_says_a_dry_run_with_bad_values_would_be_refused(tmp_path, city):
    output = run(write_csv(tmp_path, "AREA,POP\nEast Side,n/a\n"))

    assert "line 2: 'East Side': 'n/a' (not a number)" in output
    assert "--commit refuses this file until the bad values are fixed." in output
    assert output.splitlines()[-1] == (
        "Dry run: nothing was written. Run again with --commit to apply."
    )
    assert populations()["east-side"] == 9000


def test_it_reads_gzip_a_byte_order_mark_semicolons_and_thousands(tmp_path, city):
    gz = tmp_path / "population.csv.gz"
    gz.write_bytes(gzip.compress('\ufeffAREA,POP\nEast Side,"9,250"\n'.encode()))
    semicolons = write_csv(tmp_path, "\ufeffAREA;POP\nWest Side;12345\nEnclave;1,500\n")

    run(gz, "--commit")
    with pytest.raises(CommandError):
        run(semicolons, "--commit")  # a decimal comma: 1.5 people

    assert populations()["east-side"] == 9250
    assert populations()["west-side"] == 12000


def test_it_names_a_missing_column_and_lists_the_ones_present(tmp_path, city):
    path = write_csv(tmp_path, "Name,Residents 2020\nWest Side,1\n")

    with pytest.raises(CommandError, match=r"no column 'AREA', 'POP'.*'Name', 'Residents 2020'"):
        run(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"AREA,POP\n", "no rows"),
        (b"AREA,POP\nR\xe9publique,1\n", "line 2: not valid UTF-8"),
        ("AREA,POP\n".encode("utf-16"), "UTF-16"),
    ],
    ids=["empty", "header-only", "latin-1", "utf-16"],
)
def test_it_refuses_a_file_it_cannot_read(tmp_path, city, content, message):
    path = tmp_path / "population.csv"
    path.write_bytes(content)

    with pytest.raises(CommandError, match=message):
        run(path, "--commit")
    with pytest.raises(CommandError, match="No such file"):
        run(tmp_path / "missing.csv")


def test_it_sets_the_population_of_the_active_version_only(tmp_path, city):
    layered = layered_version()
    boundaries_activate(version=layered)

    run(write_csv(tmp_path, "AREA,POP\nEast Side,7777\nOld Town,100\n"), "--commit")

    assert layered.neighborhoods.get(slug="east-side").population == 7777
    assert Neighborhood.objects.get(pk=city.east.pk).population == 9000  # the old version


def test_it_needs_active_boundaries(tmp_path, db):
    with pytest.raises(CommandError, match="No boundaries are active"):
        run(write_csv(tmp_path, "AREA,POP\nEast Side,1\n"))


# --- the service ----------------------------------------------------------------------------


def test_population_set_refuses_a_neighborhood_of_an_inactive_version(city):
    draft = layered_version(label="draft").neighborhoods.get(slug="east-side")

    with pytest.raises(ValidationError, match="Not neighborhoods of the active boundaries"):
        population_set(values={city.west.pk: 1, draft.pk: 2})

    assert populations()["west-side"] == 12000


@pytest.mark.parametrize("value", [-1, 2**31, 1.5, "12"])
def test_population_set_refuses_what_is_not_a_population_and_writes_nothing(city, value):
    with pytest.raises(ValidationError) as refused:
        population_set(values={city.east.pk: 1, city.west.pk: value})

    assert list(refused.value.message_dict) == ["population"]
    assert populations()["east-side"] == 9000


def test_population_set_returns_only_what_changed(city):
    changed = population_set(values={city.east.pk: 9000, city.west.pk: 1})

    assert [n.slug for n in changed] == ["west-side"]
    assert populations()["west-side"] == 1
