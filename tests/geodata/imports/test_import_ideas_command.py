"""manage.py import_ideas: options in, a readable report out."""

import io

import pytest
from django.core.management import CommandError, call_command

from mapideas.models import Idea
from tests.conftest import IN_EAST, IN_WEST, OUTSIDE_CITY

pytestmark = pytest.mark.django_db


def latlon(point) -> str:
    return f"{point.y},{point.x}"


def write_csv(tmp_path, text: str, name: str = "forms.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run(path, *args: str, commit: bool = True) -> str:
    out = io.StringIO()
    call_command(
        "import_ideas",
        str(path),
        "--lat-field",
        "LAT",
        "--lon-field",
        "LON",
        *args,
        *(["--commit"] if commit else []),
        stdout=out,
    )
    return out.getvalue()


def test_it_imports_the_rows_and_says_how_many(tmp_path, city):
    path = write_csv(tmp_path, f"LAT,LON,TITLE\n{latlon(IN_WEST)},Bench\n{latlon(IN_EAST)},Tree\n")

    output = run(path, "--title-field", "TITLE", "--channel", "meeting", "--kind", "issue")

    assert output == "Imported 2 ideas.\n"
    assert set(Idea.objects.values_list("channel", "kind")) == {("meeting", "issue")}
    assert Idea.objects.get(title="Tree").team == city.east_team


def test_it_lists_each_problem_by_line_and_field_then_counts_them_by_reason(tmp_path, city):
    path = write_csv(
        tmp_path,
        "LAT,LON\n"
        f"{latlon(IN_EAST)}\n"
        f"95,{IN_EAST.x}\n"
        f"{latlon(OUTSIDE_CITY)}\n"
        f"{latlon(OUTSIDE_CITY)}\n",
    )

    output = run(path)

    assert output.splitlines() == [
        "Imported 1 idea.",
        "3 rows could not be imported (3 problems):",
        "line 3: LAT: Latitude must be between -90 and 90, not 95.",
        "line 4: LAT/LON: Latitude 50.005, longitude 4.04 is outside every neighborhood the "
        "city serves.",
        "line 5: LAT/LON: Latitude 50.005, longitude 4.04 is outside every neighborhood the "
        "city serves.",
        "Problems by reason:",
        "        2  outside every neighborhood",
        "        1  latitude out of range",
    ]
    # Without --channel the rows came from an imported file, and the title says so.
    assert Idea.objects.get().title == "Imported file, line 2"
    assert Idea.objects.get().channel == Idea.Channel.IMPORT


def test_it_caps_the_list_of_problems(tmp_path, city):
    bad_rows = "".join(f"x,{IN_EAST.x}\n" for _ in range(60))
    path = write_csv(tmp_path, f"LAT,LON\n{latlon(IN_EAST)}\n{bad_rows}")

    output = run(path)

    assert output.count("is not a number") == 50
    assert "… and 10 more." in output
    assert "       60  latitude not a number" in output
    assert Idea.objects.count() == 1


def test_it_lists_the_categories_once_when_rows_name_unknown_ones(tmp_path, city):
    path = write_csv(
        tmp_path,
        "LAT,LON,CAT\n"
        f"{latlon(IN_EAST)},Pothole\n"
        f"{latlon(IN_EAST)},Pothole\n"
        f"{latlon(IN_EAST)},Streets and sidewalks\n",
    )

    output = run(path, "--category-field", "CAT")

    assert "line 2: CAT: Unknown category 'Pothole'" in output
    assert "line 3: CAT: Unknown category 'Pothole'" in output
    assert output.count("Categories (slug: name): ") == 1
    assert "streets-sidewalks: Streets and sidewalks" in output
    assert Idea.objects.get().category.slug == "streets-sidewalks"


def test_it_says_nothing_was_written_on_a_dry_run(tmp_path, city):
    path = write_csv(tmp_path, f"LAT,LON\n{latlon(IN_EAST)}\n")

    output = run(path, commit=False)

    assert output == (
        "1 idea would be imported.\n"
        "Dry run: nothing was written. Run again with --commit to apply.\n"
    )
    assert not Idea.objects.exists()


def test_a_dry_run_lists_the_rows_it_would_refuse_and_writes_nothing(tmp_path, city):
    path = write_csv(
        tmp_path,
        f"LAT,LON\n{latlon(IN_WEST)}\n{latlon(IN_EAST)}\n95,{IN_EAST.x}\n{latlon(OUTSIDE_CITY)}\n",
    )

    output = run(path, commit=False)

    assert output.splitlines() == [
        "2 ideas would be imported.",
        "2 rows could not be imported (2 problems):",
        "line 4: LAT: Latitude must be between -90 and 90, not 95.",
        "line 5: LAT/LON: Latitude 50.005, longitude 4.04 is outside every neighborhood the "
        "city serves.",
        "Problems by reason:",
        "        1  latitude out of range",
        "        1  outside every neighborhood",
        "Dry run: nothing was written. Run again with --commit to apply.",
    ]
    assert not Idea.objects.exists()
    assert run(path).startswith("Imported 2 ideas.\n")
    assert Idea.objects.count() == 2


def test_the_old_dry_run_option_still_writes_nothing_and_refuses_commit(tmp_path, city):
    # Scripts written when --dry-run was how a file was checked keep working.
    path = write_csv(tmp_path, f"LAT,LON\n{latlon(IN_EAST)}\n")

    output = run(path, "--dry-run", commit=False)

    assert output.endswith("Dry run: nothing was written. Run again with --commit to apply.\n")
    assert not Idea.objects.exists()
    with pytest.raises(CommandError, match="contradict"):
        run(path, "--dry-run")
    assert not Idea.objects.exists()


def test_it_fails_when_no_row_could_be_imported(tmp_path, city):
    path = write_csv(tmp_path, f"LAT,LON\n{latlon(OUTSIDE_CITY)}\n")

    with pytest.raises(CommandError, match="No row could be imported"):
        run(path)


def test_it_turns_a_missing_column_into_a_command_error_listing_the_columns(tmp_path, city):
    path = write_csv(tmp_path, "latitude,longitude\n1,2\n")

    with pytest.raises(CommandError, match="Its columns are: 'latitude', 'longitude'"):
        run(path)


def test_it_stores_the_event_with_every_row(tmp_path, city):
    path = write_csv(tmp_path, f"LAT,LON\n{latlon(IN_WEST)}\n{latlon(IN_EAST)}\n")

    output = run(path, "--channel", "meeting", "--event", "  Town hall, 3 March ")

    assert output == "Imported 2 ideas.\n"
    assert set(Idea.objects.values_list("channel", "event_name")) == {
        ("meeting", "Town hall, 3 March")
    }


def test_it_refuses_an_event_name_too_long_to_store(tmp_path, city):
    path = write_csv(tmp_path, f"LAT,LON\n{latlon(IN_EAST)}\n")

    with pytest.raises(CommandError, match="at most 200"):
        run(path, "--event", "x" * 201)
    assert not Idea.objects.exists()


def test_its_help_names_the_default_channel_and_the_event(capsys):
    with pytest.raises(SystemExit):
        call_command("import_ideas", "--help")

    help_text = " ".join(capsys.readouterr().out.split())
    assert "(default: import;" in help_text
    assert "--event NAME" in help_text
    assert "A dry run unless --commit" in help_text
    # One way to say it: the old --dry-run is accepted but not offered.
    assert "--dry-run" not in help_text


def test_it_turns_an_unknown_channel_into_a_command_error(tmp_path, city):
    path = write_csv(tmp_path, f"LAT,LON\n{latlon(IN_EAST)}\n")

    with pytest.raises(CommandError, match="Unknown channel 'fax'"):
        run(path, "--channel", "fax")


def test_it_reports_a_missing_file(tmp_path, city):
    with pytest.raises(CommandError, match="No such file"):
        run(tmp_path / "missing.csv")


def test_it_requires_the_coordinate_columns(tmp_path, city):
    path = write_csv(tmp_path, f"LAT,LON\n{latlon(IN_EAST)}\n")

    with pytest.raises(CommandError, match="--lat-field"):
        call_command("import_ideas", str(path), "--lon-field", "LON")
