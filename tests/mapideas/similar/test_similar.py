"""Similar pins nearby (mapideas.similar) and GET /api/ideas/similar/: true metres on both
backends, ranking by text and category, only public open pins, and the API's contract."""

import pytest
from django.contrib.gis.geos import MultiPolygon, Point
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mapideas.models import Category, Idea
from mapideas.rerouting.services import boundaries_activate
from mapideas.similar import selectors as similar
from mapideas.submission.services import idea_create
from neighborhoods.services import NeighborhoodInput, boundary_version_create
from tests.conftest import IN_EAST, square
from tests.spatial_index import assert_read_through_rtree

pytestmark = pytest.mark.django_db

URL = "/api/ideas/similar/"
# At 70° N a degree of longitude is ~38 km, not ~111 km: 0.002° is ~76 m east.
ARCTIC = Point(25.05, 70.02, srid=4326)


@pytest.fixture
def arctic(db) -> None:
    version, _ = boundary_version_create(
        label="arctic town",
        items=[
            NeighborhoodInput(
                name="Tundra",
                geometry=MultiPolygon(square(25.0, 70.0, 25.1, 70.05), srid=4326),
                team_name="North Team",
            )
        ],
    )
    boundaries_activate(version=version)


def category(slug: str) -> Category:
    return Category.objects.get(slug=slug)


def pin(title: str, where: Point, *, description: str = "", slug: str = "streets-sidewalks"):
    return idea_create(
        kind="issue", title=title, description=description, category=category(slug), location=where
    )


def east_of(where: Point, degrees: float) -> Point:
    return Point(where.x + degrees, where.y, srid=4326)


def test_the_radius_is_in_true_metres_at_high_latitude(arctic):
    near = pin("Broken bench", east_of(ARCTIC, 0.002))  # ~76 m
    pin("Broken bench", east_of(ARCTIC, 0.004))  # ~153 m

    found = similar.similar_pins(location=ARCTIC, title="bench broken", radius_m=100)

    assert [p.idea for p in found] == [near]
    assert found[0].distance_m == pytest.approx(76.3, abs=1.0)
    assert similar.similar_pins(location=ARCTIC, title="bench broken", radius_m=50) == []


def test_the_textually_similar_pin_comes_first_even_when_farther(city):
    pin("Pothole in the road", east_of(IN_EAST, 0.0002))
    benches = pin(
        "Broken benches in the square",
        east_of(IN_EAST, 0.0008),
        description="The wooden bench near the fountain is broken.",
    )
    pin("Graffiti on the wall", east_of(IN_EAST, 0.0001))

    found = similar.similar_pins(
        location=IN_EAST, title="Bench broken", description="a broken wooden bench", radius_m=200
    )

    assert found[0].idea == benches
    assert found[0].score > 0.5
    # Pins sharing no word (and of another category, or not very near) are left out.
    assert [p.idea for p in found] == [benches]


def test_accents_case_and_plurals_do_not_hide_a_match(city):
    lights = pin("Éclairage cassé, lampadaires éteints", east_of(IN_EAST, 0.0003))
    found = similar.similar_pins(location=IN_EAST, title="LAMPADAIRE eteint", radius_m=100)
    assert [p.idea for p in found] == [lights]


def test_the_same_category_adds_a_bonus(city):
    same = pin("Tree fell over", east_of(IN_EAST, 0.0005), slug="parks-green-space")
    other = pin("Tree fell over", east_of(IN_EAST, 0.0003), slug="streets-sidewalks")

    found = similar.similar_pins(
        location=IN_EAST,
        title="Fallen tree",
        category=category("parks-green-space"),
        radius_m=200,
    )

    assert [p.idea for p in found] == [same, other]
    assert found[0].score == pytest.approx(found[1].score + similar.CATEGORY_BONUS, abs=0.002)


def test_a_very_near_pin_of_the_same_category_counts_without_common_words(city):
    near = pin("Lamp out", east_of(IN_EAST, 0.0001), slug="lighting-safety")  # ~7 m
    pin("Lamp out", east_of(IN_EAST, 0.001), slug="lighting-safety")  # ~72 m

    found = similar.similar_pins(
        location=IN_EAST,
        title="Dark corner at night",
        category=category("lighting-safety"),
        radius_m=200,
    )

    assert [(p.idea, p.score) for p in found] == [(near, similar.CATEGORY_BONUS)]


def test_hidden_awaiting_and_closed_pins_are_not_suggested(city):
    hidden = pin("Broken bench", east_of(IN_EAST, 0.0001))
    awaiting = pin("Broken bench", east_of(IN_EAST, 0.0002))
    done = pin("Broken bench", east_of(IN_EAST, 0.0003))
    declined = pin("Broken bench", east_of(IN_EAST, 0.0004))
    shown = pin("Broken bench", east_of(IN_EAST, 0.0005))
    Idea.objects.filter(pk=hidden.pk).update(hidden_by_moderation_at=timezone.now())
    Idea.objects.filter(pk=awaiting.pk).update(awaiting_confirmation=True)
    Idea.objects.filter(pk=done.pk).update(status=Idea.Status.DONE)
    Idea.objects.filter(pk=declined.pk).update(status=Idea.Status.DECLINED)

    found = similar.similar_pins(location=IN_EAST, title="Broken bench", radius_m=200)

    assert [p.idea for p in found] == [shown]


def test_at_most_five_best_first(city):
    for i in range(8):
        pin(f"Broken bench number{i}", east_of(IN_EAST, 0.0001 * (i + 1)))
    found = similar.similar_pins(location=IN_EAST, title="Broken bench", radius_m=500)
    assert len(found) == similar.LIMIT
    # Equal scores: the nearer first.
    assert [p.distance_m for p in found] == sorted(p.distance_m for p in found)


@pytest.mark.parametrize(
    ("zoom", "metres"),
    [(None, 1000), (5, 1000), (12, 1000), (13, 700), (15, 200), (17, 50), (20, 50)],
)
def test_the_radius_follows_the_zoom(zoom, metres):
    assert similar.radius_for_zoom(zoom) == metres


# --- the API ------------------------------------------------------------------------------


def test_the_api_answers_the_documented_fields(client, city):
    bench = pin("Broken bench", east_of(IN_EAST, 0.0005), slug="parks-green-space")  # ~36 m
    response = client.get(
        URL,
        {
            "lat": IN_EAST.y,
            "lon": IN_EAST.x,
            "title": "bench",
            "category": "parks-green-space",
            "zoom": "16",
        },
    )
    assert response.status_code == 200
    (found,) = response.json()
    assert found == {
        "id": bench.pk,
        "title": "Broken bench",
        "status": "new",
        "category": "parks-green-space",
        "distance_m": pytest.approx(35.8, abs=1.0),
        "score": pytest.approx(0.707 + 0.2, abs=0.001),  # cos 1/√2, same category
        "url": f"/ideas/{bench.pk}/",
        "support_count": 0,
        "support_url": f"/ideas/{bench.pk}/support/",
    }


def test_the_api_radius_comes_from_the_zoom_or_radius_m(client, city):
    pin("Broken bench", east_of(IN_EAST, 0.001))  # ~72 m
    ask = {"lat": IN_EAST.y, "lon": IN_EAST.x, "title": "bench"}
    assert client.get(URL, {**ask, "zoom": 17}).json() == []
    assert len(client.get(URL, {**ask, "zoom": 16}).json()) == 1
    assert client.get(URL, {**ask, "radius_m": 60}).json() == []
    assert len(client.get(URL, {**ask, "zoom": 17, "radius_m": 80}).json()) == 1


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"lon": 4.015}, "lat"),
        ({"lat": 50.005}, "lon"),
        ({"lat": 91, "lon": 4.0}, "lat"),
        ({"lat": 50.0, "lon": "east"}, "lon"),
        ({"lat": "nan", "lon": 4.0}, "lat"),
        ({"lat": 50.0, "lon": "inf"}, "lon"),
        ({"lat": 50.0, "lon": 4.0, "title": "a\x00b"}, "title"),
        ({"lat": 50.0, "lon": 4.0, "zoom": 30}, "zoom"),
        ({"lat": 50.0, "lon": 4.0, "radius_m": 5000}, "radius_m"),
        ({"lat": 50.0, "lon": 4.0, "category": "no-such"}, "category"),
        ({"lat": 50.0, "lon": 4.0, "title": "x" * 1000}, "title"),
    ],
)
def test_the_api_names_a_bad_field(client, city, query, field):
    response = client.get(URL, query)
    assert response.status_code == 400
    assert field in response.json()


def test_the_api_is_not_taken_for_a_pin_id(client, city):
    # api/ideas/similar/ comes before any api/ideas/<int:pk>/... pattern.
    assert client.get(URL, {"lat": 50.0, "lon": 4.0}).status_code == 200


def test_the_candidates_are_read_through_the_spatial_index(city):
    near = pin("Broken bench", east_of(IN_EAST, 0.001))  # ~72 m
    pin("Broken bench", east_of(IN_EAST, 0.0016))  # ~114 m

    with CaptureQueriesContext(connection) as queries:
        found = similar.similar_pins(location=IN_EAST, title="bench broken", radius_m=100)

    assert [p.idea for p in found] == [near]
    assert_read_through_rtree(queries.captured_queries, "mapideas_idea", "location")
