"""The H3 cells each pin lies in, stored with the pin so hexagon heatmaps are a GROUP BY.

Neither PostGIS nor SpatiaLite computes H3 here (h3-pg is not packaged for Debian), so the
cells are computed in Python (h3-py, the reference library) whenever a pin's location is
written, at each resolution the heatmaps offer. One column per resolution, not the finest
cell rolled up to its parents: H3 cells do not nest exactly (a resolution-9 cell can stick
out of its parent), so a parent's count would not be the count of the pins inside it.
"""

from __future__ import annotations

from collections.abc import Iterable

import h3.api.basic_int as h3_int

# The planner's hexagon sizes: about 5.2, 0.74 and 0.11 km² a cell.
CELL_RESOLUTIONS = (7, 8, 9)
# Idea's column holding the cell at each resolution.
CELL_FIELDS = {resolution: f"h3_res{resolution}" for resolution in CELL_RESOLUTIONS}

try:
    # The compiled function under h3.api.basic_int.latlng_to_cell (which only passes its
    # integer through): the same cell, a third faster per call, for imports and backfills.
    from h3._cy import latlng_to_cell as _latlng_to_cell
except ImportError:  # h3 moved its internals: the public function gives the same cells
    _latlng_to_cell = h3_int.latlng_to_cell


def pin_cells(lon: float, lat: float) -> dict[str, int]:
    """The cells holding (lon, lat), as {Idea field: cell as a signed 64-bit integer}.

    H3 indexes keep their top bit 0, so they fit PostgreSQL's bigint and SQLite's integer."""
    return {
        field: int(_latlng_to_cell(lat, lon, resolution))
        for resolution, field in CELL_FIELDS.items()
    }


def many_pin_cells(lon_lat: Iterable[tuple[float, float]]) -> list[dict[str, int]]:
    return [pin_cells(lon, lat) for lon, lat in lon_lat]
