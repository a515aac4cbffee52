"""geodata.engagement.warm: what a worker keeps derived from the boundaries is computed as it
boots (mapideas.warmup), so its first engagement answer does not compute it."""

import gc

import pytest

from geodata.engagement import coldspots, hexagons, rates
from geodata.engagement.fields import RESOLUTIONS
from geodata.engagement.warm import warm_up_boundaries
from mapideas import warmup


@pytest.fixture
def nothing_kept(monkeypatch):
    monkeypatch.setattr(hexagons, "_CITY_CELLS", {})
    monkeypatch.setattr(coldspots, "_WEIGHTS", {})


@pytest.mark.django_db
def test_a_booting_worker_computes_the_city_cells_and_weights(city, nothing_kept):
    # The step geodata registers (warm_up itself closes the connections, as a preloading
    # master must, which a test's transaction cannot survive).
    assert warm_up_boundaries in warmup._BOOT_STEPS
    warm_up_boundaries()
    frame = rates.active_frame()
    assert {key[0] for key in hexagons._CITY_CELLS} == set(RESOLUTIONS)
    for resolution in RESOLUTIONS:
        # The cells the first request asks for are the ones kept: no new entry.
        kept = len(hexagons._CITY_CELLS)
        hexagons.city_cells(frame, resolution, rates.knows_population(frame))
        assert len(hexagons._CITY_CELLS) == kept
    assert len(coldspots._WEIGHTS) == 1


@pytest.mark.django_db
def test_a_city_without_neighborhoods_boots_with_nothing_to_keep(nothing_kept):
    warm_up_boundaries()
    assert hexagons._CITY_CELLS == {} and coldspots._WEIGHTS == {}


def test_a_worker_that_cannot_read_the_database_boots_and_says_so(caplog, nothing_kept):
    # No database access is allowed in this test: the step fails as without a server.
    try:
        warmup.warm_up()
    finally:
        gc.unfreeze()
    assert "boot step warm_up_boundaries skipped" in caplog.text
    assert hexagons._CITY_CELLS == {}
