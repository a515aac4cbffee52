"""ideas_import_csv(): offline input is routed like a web pin, bad rows are named by their line."""

import codecs
import gzip
from unittest import mock

import pytest

from geodata.imports import ideas as idea_import
from geodata.imports.ideas import IdeaImportError, RowProblem, ideas_import_csv
from mapideas.cells import CELL_FIELDS, pin_cells
from mapideas.models import TITLE_MAX_LENGTH, Idea
from tests.conftest import (
    IN_EAST,
    IN_EMPTY_HOLE,
    IN_ENCLAVE,
    IN_WEST,
    ON_ISLAND,
    ON_SHARED_BORDER,
    OUTSIDE_CITY,
)

pytestmark = pytest.mark.django_db

HEADER = "lat,lon,title\n"


def latlon(point) -> str:
    return f"{point.y},{point.x}"


def run_import(tmp_path, content: str | bytes, *, name: str = "ideas.csv", **options):
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    options = {"lat_field": "lat", "lon_field": "lon", "title_field": "title"} | options
    return ideas_import_csv(path=path, **options)


def test_it_routes_each_row_to_the_team_of_its_neighborhood(tmp_path, city):
    result = run_import(
        tmp_path,
        HEADER
        + f"{latlon(IN_WEST)},Bench in the west\n"
        + f"{latlon(IN_EAST)},Crossing in the east\n"
        + f"{latlon(ON_ISLAND)},Jetty on the island\n"
        + f"{latlon(IN_ENCLAVE)},Trees in the enclave\n",
    )

    assert result.imported == 4
    assert result.problems == []
    routed = {i.title: (i.neighborhood, i.team) for i in Idea.objects.all()}
    assert routed == {
        "Bench in the west": (city.west, city.west_team),
        "Crossing in the east": (city.east, city.east_team),
        "Jetty on the island": (city.harbor, city.harbor_team),
        "Trees in the enclave": (city.enclave, city.west_team),
    }
    # Imported in bulk (no Idea.save()), each still keeps its H3 cells for the heatmaps.
    for idea in Idea.objects.all():
        stored = {field: getattr(idea, field) for field in CELL_FIELDS.values()}
        assert stored == pin_cells(idea.location.x, idea.location.y)


def test_it_stores_the_channel_the_input_came_through(tmp_path, city):
    run_import(tmp_path, HEADER + f"{latlon(IN_EAST)},From the workshop\n", channel="meeting")

    assert Idea.objects.get().channel == Idea.Channel.MEETING


def test_it_stores_import_as_the_default_channel_no_event_and_no_author(tmp_path, city):
    run_import(tmp_path, HEADER + f"{latlon(IN_EAST)},From a file\n")

    idea = Idea.objects.get()
    assert idea.channel == Idea.Channel.IMPORT
    assert idea.event_name == ""
    assert idea.author is None


def test_it_stores_the_event_the_input_was_gathered_at_with_every_row(tmp_path, city):
    run_import(
        tmp_path,
        HEADER + f"{latlon(IN_EAST)},Crossing\n{latlon(IN_WEST)},Bench\n",
        channel="meeting",
        event_name="Town hall, 3 March",
    )

    assert set(Idea.objects.values_list("channel", "event_name")) == {
        ("meeting", "Town hall, 3 March")
    }


def test_it_refuses_an_event_name_too_long_up_front(tmp_path, city):
    with pytest.raises(IdeaImportError, match="at most 200"):
        run_import(tmp_path, HEADER + f"{latlon(IN_EAST)},Bench\n", event_name="x" * 201)
    assert not Idea.objects.exists()


def test_it_gives_a_readable_title_naming_the_channel_and_line_without_a_title_column(
    tmp_path, city
):
    run_import(
        tmp_path,
        f"lat,lon\n{latlon(IN_WEST)}\n{latlon(IN_EAST)}\n",
        title_field=None,
        channel="paper",
    )

    assert sorted(Idea.objects.values_list("title", flat=True)) == [
        "Paper form, line 2",
        "Paper form, line 3",
    ]


def test_it_reads_description_category_and_kind_columns(tmp_path, city):
    run_import(
        tmp_path,
        "lat,lon,title,text,cat,type\n"
        f"{latlon(IN_EAST)},Dark path,No light after 6pm,Lighting-Safety,ISSUE\n"
        f'{latlon(IN_WEST)},Mural,"A mural, on the wall",Community life and culture,idea\n',
        description_field="text",
        category_field="cat",
        kind_field="type",
    )

    dark, mural = Idea.objects.order_by("title")
    assert (dark.description, dark.category.slug, dark.kind) == (
        "No light after 6pm",
        "lighting-safety",
        "issue",
    )
    assert (mural.description, mural.category.slug, mural.kind) == (
        "A mural, on the wall",
        "community-culture",
        "idea",
    )


def test_it_gives_empty_category_and_kind_cells_the_defaults(tmp_path, city):
    run_import(
        tmp_path,
        f"lat,lon,title,cat,type\n{latlon(IN_EAST)},Bench,,\n",
        category_field="cat",
        kind_field="type",
        default_category="parks-green-space",
        default_kind="issue",
    )

    idea = Idea.objects.get()
    assert (idea.category.slug, idea.kind) == ("parks-green-space", "issue")


def test_it_reports_bad_rows_with_their_line_field_and_message_and_imports_the_others(
    tmp_path, city
):
    result = run_import(
        tmp_path,
        HEADER
        + f"{latlon(IN_WEST)},Good one\n"  # line 2
        + f"abc,{IN_WEST.x},Not a number\n"  # line 3
        + f"{IN_WEST.y},,Missing longitude\n"  # line 4
        + f"nan,{IN_WEST.x},NaN\n"  # line 5
        + f"95,{IN_WEST.x},Latitude off the globe\n"  # line 6
        + f"{IN_WEST.y},-181,Longitude off the globe\n"  # line 7
        + f"{latlon(IN_EAST)},Another good one\n",  # line 8
    )

    assert result.imported == 2
    assert [(p.line, p.field) for p in result.problems] == [
        (3, "lat"),
        (4, "lon"),
        (5, "lat"),
        (6, "lat"),
        (7, "lon"),
    ]
    assert result.problems[0].message == "'abc' is not a number."
    assert result.problems[1].message == "No longitude given."
    assert result.problems[2].message == "'nan' is not a finite number."
    assert result.problems[3].message == "Latitude must be between -90 and 90, not 95."
    assert result.problems[4].message == "Longitude must be between -180 and 180, not -181."
    assert set(Idea.objects.values_list("title", flat=True)) == {"Good one", "Another good one"}


def test_it_reports_every_problem_of_a_row_at_once(tmp_path, city):
    result = run_import(
        tmp_path,
        "lat,lon,title,cat\nx,y,,nope\n",
        category_field="cat",
    )

    assert [(p.line, p.field) for p in result.problems] == [
        (2, "lat"),
        (2, "lon"),
        (2, "cat"),
        (2, "title"),
    ]


def test_it_keeps_counting_physical_lines_after_a_quoted_multiline_field(tmp_path, city):
    result = run_import(
        tmp_path,
        "lat,lon,title,note\r\n"
        f'{latlon(IN_WEST)},Bench,"written over\r\nthree lines\r\nof the form"\r\n'  # 2-4
        f"{latlon(IN_EAST)},Crossing,\r\n"  # line 5
        "\r\n"  # line 6, blank
        f"oops,{IN_EAST.x},Broken,\r\n",  # line 7
        description_field="note",
    )

    assert result.imported == 2
    assert [(p.line, p.field) for p in result.problems] == [(7, "lat")]
    # Stored with newlines, as every text (docs/decisions/0016-stored-text.md).
    assert Idea.objects.get(title="Bench").description == "written over\nthree lines\nof the form"


def test_it_reports_rows_outside_every_neighborhood(tmp_path, city):
    result = run_import(
        tmp_path,
        HEADER
        + f"{latlon(OUTSIDE_CITY)},Between harbor and island\n"
        + f"{latlon(IN_EMPTY_HOLE)},In the hole nobody covers\n"
        + f"{latlon(IN_EAST)},Inside\n",
    )

    # The hole is a gap inside the service area: imported, for the triage team.
    assert result.imported == 2
    assert Idea.objects.get(title="In the hole nobody covers").team.is_triage
    assert [(p.line, p.field, p.reason) for p in result.problems] == [
        (2, "lat/lon", "outside every neighborhood"),
    ]
    assert result.problems[0].message == (
        "Latitude 50.005, longitude 4.04 is outside every neighborhood the city serves."
    )


def test_it_reports_an_unknown_category_or_kind(tmp_path, city):
    result = run_import(
        tmp_path,
        "lat,lon,title,cat,type\n"
        f"{latlon(IN_EAST)},Pothole,Potholes,issue\n"
        f"{latlon(IN_EAST)},Bench,parks-green-space,complaint\n",
        category_field="cat",
        kind_field="type",
    )

    assert result.imported == 0
    assert [(p.line, p.field, p.reason) for p in result.problems] == [
        (2, "cat", "category unknown"),
        (3, "type", "kind unknown"),
    ]
    assert "'Potholes'" in result.problems[0].message
    assert result.problems[1].message == "Unknown kind 'complaint'; use idea or issue."


def test_it_reports_an_empty_or_overlong_title(tmp_path, city):
    long_title = "x" * (TITLE_MAX_LENGTH + 1)
    result = run_import(
        tmp_path,
        HEADER + f"{latlon(IN_EAST)},  \n" + f"{latlon(IN_EAST)},{long_title}\n",
    )

    assert result.imported == 0
    assert [(p.line, p.field, p.reason) for p in result.problems] == [
        (2, "title", "title missing"),
        (3, "title", "title too long"),
    ]
    assert str(TITLE_MAX_LENGTH) in result.problems[1].message


def test_it_reports_a_row_whose_values_have_shifted(tmp_path, city):
    result = run_import(
        tmp_path,
        HEADER
        + f"{latlon(IN_EAST)},Bench, by the pond\n"  # an unquoted comma
        + f"{latlon(IN_EAST)},Trailing commas,,\n",  # harmless
    )

    assert result.imported == 1
    assert [(p.line, p.field) for p in result.problems] == [(2, "row")]


def test_it_reads_gzipped_csv(tmp_path, city):
    content = gzip.compress((HEADER + f"{latlon(IN_EAST)},Zipped\n").encode())

    result = run_import(tmp_path, content, name="ideas.csv.gz")

    assert result.imported == 1
    assert Idea.objects.get().title == "Zipped"


def test_it_reads_utf8_with_a_byte_order_mark(tmp_path, city):
    content = codecs.BOM_UTF8 + (HEADER + f"{latlon(IN_EAST)},Café terrace\n").encode()

    result = run_import(tmp_path, content)

    assert result.imported == 1
    assert Idea.objects.get().title == "Café terrace"


def test_it_reads_semicolons_and_decimal_commas_from_european_spreadsheets(tmp_path, city):
    content = f"lat;lon;title\n{str(IN_EAST.y).replace('.', ',')};4,015;Bench\n"

    result = run_import(tmp_path, content)

    assert result.problems == []
    assert Idea.objects.get().team == city.east_team


def test_it_refuses_a_file_that_is_not_utf8_naming_the_line(tmp_path, city):
    content = (HEADER + f"{latlon(IN_EAST)},Fine\n").encode() + "3,4,Caf\xe9\n".encode("latin-1")

    with pytest.raises(IdeaImportError, match=r"line 3: not valid UTF-8"):
        run_import(tmp_path, content)
    assert not Idea.objects.exists()


def test_it_refuses_a_missing_column_listing_the_columns_the_file_has(tmp_path, city):
    with pytest.raises(IdeaImportError) as error:
        run_import(tmp_path, "LATITUDE,LONGITUDE,CASE_TITLE\n1,2,x\n")

    message = str(error.value)
    assert "'lat', 'lon', 'title'" in message
    assert "'LATITUDE', 'LONGITUDE', 'CASE_TITLE'" in message


@pytest.mark.parametrize("content", ["", "\n\n", codecs.BOM_UTF8.decode()])
def test_it_refuses_an_empty_file(tmp_path, city, content):
    with pytest.raises(IdeaImportError, match="empty"):
        run_import(tmp_path, content)


def test_it_refuses_a_file_with_a_header_and_no_rows(tmp_path, city):
    with pytest.raises(IdeaImportError, match="no rows"):
        run_import(tmp_path, HEADER)


def test_it_refuses_a_missing_file(tmp_path, city):
    with pytest.raises(IdeaImportError, match="No such file"):
        ideas_import_csv(path=tmp_path / "nope.csv", lat_field="lat", lon_field="lon")


@pytest.mark.parametrize(
    ("options", "listed"),
    [
        ({"channel": "carrier-pigeon"}, "paper"),
        ({"default_category": "potholes"}, "streets-sidewalks"),
        ({"default_kind": "complaint"}, "issue"),
    ],
)
def test_it_refuses_unknown_options_up_front_listing_the_valid_values(
    tmp_path, city, options, listed
):
    with pytest.raises(IdeaImportError, match=listed):
        run_import(tmp_path, HEADER + f"{latlon(IN_EAST)},Bench\n", **options)


def test_it_writes_nothing_on_a_dry_run_but_reports_what_would_happen(tmp_path, city):
    result = run_import(
        tmp_path,
        HEADER + f"{latlon(IN_EAST)},Bench\n" + f"{latlon(OUTSIDE_CITY)},Lost\n",
        dry_run=True,
    )

    assert result.imported == 1
    assert [p.line for p in result.problems] == [3]
    assert not Idea.objects.exists()


def test_it_writes_nothing_when_an_unexpected_error_happens_mid_file(tmp_path, city):
    # Routing fails on the third batch, after two were inserted: the whole file rolls back.
    route = idea_import.BatchRouter.route
    calls = []

    def route_then_fail(router, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return route(router, *args, **kwargs)

    rows = "".join(f"{latlon(IN_EAST)},Row {n}\n" for n in range(5))
    with (
        mock.patch.object(idea_import, "BATCH_SIZE", 2),
        mock.patch.object(idea_import.BatchRouter, "route", route_then_fail),
        pytest.raises(RuntimeError, match="disk full"),
    ):
        run_import(tmp_path, HEADER + rows)

    assert len(calls) == 3
    assert not Idea.objects.exists()


def test_it_routes_every_row_as_route_would_and_records_why(tmp_path, city):
    from neighborhoods.routing import route

    # On the shared border East Side owns the pin and West Team has it "also in their area".
    points = [IN_WEST, IN_EAST, ON_ISLAND, IN_ENCLAVE, IN_EMPTY_HOLE, ON_SHARED_BORDER]
    rows = "".join(f"{latlon(p)},Pin {n}\n" for n, p in enumerate(points))
    result = run_import(tmp_path, HEADER + rows)

    assert result.imported == len(points)
    for n, point in enumerate(points):
        idea = Idea.objects.get(title=f"Pin {n}")
        expected = route(point, idea.category.slug)
        assert (idea.neighborhood, idea.team) == (expected.neighborhood, expected.team)
        assert set(idea.also_in_teams.all()) == set(expected.also_in)
        event = idea.routing_events.get()
        assert (event.cause, event.reason, event.to_team) == ("created", expected.reason, idea.team)


def test_it_keeps_the_rows_before_and_after_a_refused_row(tmp_path, city):
    result = run_import(
        tmp_path,
        HEADER
        + f"{latlon(IN_EAST)},Before\n"
        + f"{latlon(OUTSIDE_CITY)},Refused by routing\n"
        + f"{latlon(IN_EAST)},After\n",
    )

    assert result.imported == 2
    assert result.problems == [
        RowProblem(
            3,
            "lat/lon",
            "Latitude 50.005, longitude 4.04 is outside every neighborhood the city serves.",
            "outside every neighborhood",
        )
    ]
    assert set(Idea.objects.values_list("title", flat=True)) == {"Before", "After"}


def test_it_applies_category_rules_like_route(tmp_path, city):
    from neighborhoods.models import CategoryRule
    from neighborhoods.routing import route

    CategoryRule.objects.create(category="other", team=city.harbor_team)
    CategoryRule.objects.create(category="other", team=city.east_team, neighborhood_slugs="enclave")
    rows = f"{latlon(IN_WEST)},Anywhere\n{latlon(IN_ENCLAVE)},In the enclave\n"
    run_import(tmp_path, HEADER + rows)

    for title, point in (("Anywhere", IN_WEST), ("In the enclave", IN_ENCLAVE)):
        idea = Idea.objects.get(title=title)
        expected = route(point, "other")
        assert idea.team == expected.team
        assert idea.routing_events.get().reason == expected.reason
    assert Idea.objects.get(title="In the enclave").team == city.east_team
