"""import_population --attribute NAME=COLUMN: other area attributes (median income, share of
renters...) from the same file as the population, written in the same transaction."""

from io import StringIO
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from mapideas.rerouting.services import boundaries_activate
from neighborhoods.models import Neighborhood
from neighborhoods.services import attributes_set
from tests.layered_city import layered_version

pytestmark = pytest.mark.django_db

# The `city` fixture: West Side 12000, Enclave 800, East Side 9000, Harbor (none).


def write_csv(tmp_path: Path, text: str, name: str = "population.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run(path: Path, *args: str) -> str:
    out = StringIO()
    call_command(
        "import_population",
        str(path),
        "--key-field=AREA",
        "--population-field=POP",
        *args,
        stdout=out,
    )
    return out.getvalue()


def attributes() -> dict[str, dict]:
    return dict(
        Neighborhood.objects.filter(version__is_active=True).values_list("slug", "attributes")
    )


INCOME = "--attribute=median_income=MEDIAN_INC"
RENTERS = "--attribute=renter_share=PCT_RENT"


def test_attributes_are_read_beside_the_population_and_written_with_commit(tmp_path, city):
    path = write_csv(
        tmp_path,
        'AREA,POP,MEDIAN_INC,PCT_RENT\nWest Side,12000,"41,250",0.62\nEast Side,9100,38000,\n',
    )

    dry = run(path, INCOME, RENTERS)
    assert "Attributes (median_income, renter_share) would change for 2 neighborhoods." in dry
    assert attributes()["west-side"] == {}

    committed = run(path, INCOME, RENTERS, "--commit")

    assert "Committed: population set for 1 neighborhood, attributes for 2." in committed
    assert attributes()["west-side"] == {"median_income": 41250, "renter_share": 0.62}
    # An empty cell: unknown there, not zero.
    assert attributes()["east-side"] == {"median_income": 38000}
    assert attributes()["harbor"] == {}
    assert Neighborhood.objects.get(pk=city.east.pk).population == 9100


def test_an_empty_cell_removes_a_known_value_and_other_attributes_are_kept(tmp_path, city):
    run(write_csv(tmp_path, "AREA,POP,INC,OLD\nEast Side,9000,1,65\n"),
        "--attribute=income=INC", "--attribute=over_65=OLD", "--commit")  # fmt: skip

    emptied = write_csv(tmp_path, "AREA,POP,INC\nEast Side,9000,\n")
    run(emptied, "--attribute=income=INC", "--commit")

    assert attributes()["east-side"] == {"over_65": 65}


def test_a_bad_attribute_refuses_the_whole_file_naming_line_column_and_reason(tmp_path, city):
    path = write_csv(
        tmp_path,
        "AREA,POP,MEDIAN_INC,PCT_RENT\nWest Side,13000,n/a,0.5\nEast Side,9000,NaN,1e400x\n"
        "Enclave,-1,5,0.1\n",
    )
    out = StringIO()

    with pytest.raises(CommandError, match="4 bad values: nothing was written"):
        call_command(
            "import_population", str(path), "--key-field=AREA", "--population-field=POP",
            INCOME, RENTERS, "--commit", stdout=out,
        )  # fmt: skip

    assert (
        "Bad values (4):\n"
        "  line 2: 'West Side': MEDIAN_INC 'n/a' (not a number)\n"
        "  line 3: 'East Side': MEDIAN_INC 'NaN' (not a number)\n"
        "  line 3: 'East Side': PCT_RENT '1e400x' (not a number)\n"
        "  line 4: 'Enclave': POP '-1' (negative)\n"
    ) in out.getvalue()
    assert Neighborhood.objects.get(pk=city.west.pk).population == 12000
    assert attributes()["west-side"] == {}


def test_a_semicolon_file_reads_a_decimal_comma(tmp_path, city):
    path = write_csv(tmp_path, "AREA;POP;PCT_RENT\nWest Side;12000;62,5\n")

    run(path, RENTERS, "--commit")

    assert attributes()["west-side"] == {"renter_share": 62.5}


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        ("income", "write NAME=COLUMN"),
        ("=INC", "write NAME=COLUMN"),
        ("Median Income=INC", "cannot name an attribute"),
        ("population=INC", "cannot name an attribute"),
        ("income=NOPE", "no column 'NOPE'"),
    ],
)
def test_a_bad_declaration_is_refused_before_anything_is_read(tmp_path, city, declared, message):
    path = write_csv(tmp_path, "AREA,POP,INC\nWest Side,1,2\n")

    with pytest.raises(CommandError, match=message):
        run(path, f"--attribute={declared}", "--commit")


def test_an_attribute_declared_twice_is_refused(tmp_path, city):
    path = write_csv(tmp_path, "AREA,POP,INC\nWest Side,1,2\n")

    with pytest.raises(CommandError, match="given twice"):
        run(path, "--attribute=income=INC", "--attribute=income=POP")


def test_attributes_follow_population_into_a_new_boundary_version(tmp_path, city):
    run(
        write_csv(tmp_path, "AREA,POP,INC\nEast Side,9000,38000\n"),
        "--attribute=median_income=INC",
        "--commit",
    )

    layered = layered_version()  # redrawn boundaries: East Side again, by slug
    boundaries_activate(version=layered)

    east = layered.neighborhoods.get(slug="east-side")
    assert east.population == 9000
    assert east.attributes == {"median_income": 38000}
    assert layered.neighborhoods.get(slug="old-town").attributes == {}


# --- the service ----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["12", float("nan"), float("inf"), True])
def test_attributes_set_refuses_what_is_not_a_number_and_writes_nothing(city, value):
    with pytest.raises(ValidationError):
        attributes_set(
            names=["income"], values={city.east.pk: {"income": 1}, city.west.pk: {"income": value}}
        )

    assert attributes()["east-side"] == {}


def test_attributes_set_refuses_a_neighborhood_of_an_inactive_version(city):
    draft = layered_version(label="draft").neighborhoods.get(slug="east-side")

    with pytest.raises(ValidationError, match="Not neighborhoods of the active boundaries"):
        attributes_set(names=["income"], values={draft.pk: {"income": 1}})


def test_attributes_set_returns_only_what_changed(city):
    attributes_set(names=["income"], values={city.east.pk: {"income": 5}})

    changed = attributes_set(
        names=["income"], values={city.east.pk: {"income": 5}, city.west.pk: {"income": 7}}
    )

    assert [n.slug for n in changed] == ["west-side"]
