"""What a process keeps derived from the city's boundaries, computed as it boots
(mapideas.warmup.register, from geodata's AppConfig): the H3 cells covering the city at every
resolution the layers offer, with their polygons, areas and residents (hexagons.city_cells),
the neighborhoods' queen contiguity (coldspots.spatial_weights), and their outlines as the
planner's maps draw them (geodata.planner.maps).

Both depend on the active boundaries and populations only, never on pins, and are kept per
process under a key made of the boundaries themselves, so a later change of boundaries is
computed afresh by the request that first needs it, never served stale. Cold and slow
spots test the neighborhoods that have enough pins: in a city where every neighborhood does,
these are the weights warmed here.
"""

from geodata.engagement import coldspots, hexagons, rates
from geodata.engagement.fields import RESOLUTIONS
from geodata.planner import maps as planner_maps


def warm_up_boundaries() -> None:
    frame = rates.active_frame()
    if frame.empty:
        return
    with_population = rates.knows_population(frame)
    for resolution in RESOLUTIONS:
        hexagons.city_cells(frame, resolution, with_population)
    coldspots.spatial_weights(frame["geometry"], "queen")
    planner_maps.warm_up_outlines(frame.geometry.values)
