"""The conditional permutations of Gi* kept per process (geodata.engagement.coldspots): the
arrays esda draws, read-only, and the same cold spots as when they are drawn each time."""

import esda.crand
import numpy as np
import pandas as pd
import pytest

from geodata.engagement import coldspots as engagement_coldspots
from geodata.engagement import rates as engagement_rates
from geodata.engagement.query import parse_query
from tests.geodata.engagement import engagement_city as grid

pytestmark = pytest.mark.django_db


def test_the_kept_permutations_are_those_esda_draws():
    kept = esda.crand.vec_permutations(4, 30, 99, 12345)

    assert np.array_equal(kept, engagement_coldspots._draw_permutations(4, 30, 99, 12345))
    assert esda.crand.vec_permutations(4, 30, 99, 12345) is kept
    assert not kept.flags.writeable


def test_the_cold_spots_are_those_of_permutations_drawn_each_time(category, monkeypatch):
    version = grid.grid_version()
    grid.insert_pins(grid.planted_pins(), category, version)
    engagement = engagement_rates.neighborhood_engagement(
        parse_query("engagement-neighborhoods", {})[0]
    )
    kept = engagement_coldspots.coldspots(engagement, permutations=999).frame

    monkeypatch.setattr(esda.crand, "vec_permutations", engagement_coldspots._draw_permutations)
    drawn = engagement_coldspots.coldspots(engagement, permutations=999).frame

    columns = ["z_score", "p_value", "significance"]
    pd.testing.assert_frame_equal(pd.DataFrame(kept[columns]), pd.DataFrame(drawn[columns]))
