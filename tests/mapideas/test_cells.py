"""Each pin keeps the H3 cells of its location (resolutions 7 to 9), whoever writes it."""

import h3
import pytest
from django.apps import apps
from django.contrib.gis.geos import Point
from django.db import connection
from django.db.migrations import RunPython
from django.db.migrations.loader import MigrationLoader

from mapideas.cells import CELL_FIELDS, pin_cells
from mapideas.models import Idea
from mapideas.submission.services import idea_create
from tests.conftest import IN_EAST, IN_WEST

pytestmark = pytest.mark.django_db


def h3_cells_of(point: Point) -> dict[str, int]:
    """What h3 itself gives, at each stored resolution."""
    return {
        field: h3.str_to_int(h3.latlng_to_cell(point.y, point.x, resolution))
        for resolution, field in CELL_FIELDS.items()
    }


def stored_cells(idea: Idea) -> dict[str, int]:
    return dict(
        zip(
            CELL_FIELDS.values(),
            Idea.objects.values_list(*CELL_FIELDS.values()).get(pk=idea.pk),
            strict=True,
        )
    )


def create(category, location: Point) -> Idea:
    return idea_create(kind="idea", title="A bench", category=category, location=location)


def test_a_created_pin_stores_the_h3_cells_of_its_location(city, category):
    idea = create(category, IN_WEST)

    assert stored_cells(idea) == h3_cells_of(IN_WEST)
    assert pin_cells(IN_WEST.x, IN_WEST.y) == h3_cells_of(IN_WEST)


def test_moving_a_pin_moves_its_cells_even_when_saving_only_the_location(city, category):
    idea = create(category, IN_WEST)
    idea.location = IN_EAST
    idea.save(update_fields=["location"])

    assert stored_cells(idea) == h3_cells_of(IN_EAST)


def test_the_migration_fills_the_cells_of_pins_stored_without_them(city, category):
    west, east = create(category, IN_WEST), create(category, IN_EAST)
    Idea.objects.update(**dict.fromkeys(CELL_FIELDS.values()))
    migration = MigrationLoader(connection).get_migration(
        "mapideas", "0007_pin_cell_channels_confirmation"
    )
    (backfill_cells,) = (
        op.code
        for op in migration.operations
        if isinstance(op, RunPython) and op.code.__name__ == "backfill_cells"
    )

    backfill_cells(apps, None)

    assert stored_cells(west) == h3_cells_of(IN_WEST)
    assert stored_cells(east) == h3_cells_of(IN_EAST)
