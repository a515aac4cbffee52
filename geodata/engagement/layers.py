"""Where engagement is thin: pins relative to who lives there, by neighborhood and by hexagon.

A raw density heatmap mostly shows where people live. These functions put the pins over a
denominator instead, and say where the city hears less than it should:

- `rates.neighborhood_engagement`: per neighborhood, pins per 1,000 residents (when the
  population of every neighborhood is known) and per km², the ratio to the city-wide rate, a
  `thin` flag (ratio below `thin_below`), the trend against the previous period of the same
  length and the share of input that came from offline channels. Counts are ONE
  `GROUP BY neighborhood_id`.
- `hexagons.hexagon_engagement`: H3 cells (resolution 7-9) with pin counts; with population,
  each cell's residents by areal weighting of the neighborhood populations.
- `coldspots.coldspots`: Getis-Ord Gi* (esda) on the neighborhood rate, permutation p-values
  with a fixed seed, Benjamini-Hochberg false discovery rate: only significant cold/hot spots
  are flagged.
- `outreach.outreach`: neighborhoods ranked by how many voices an in-person event would add.
- `representativeness.representativeness`: per area attribute (median income...), the rate of
  each population-weighted fifth of residents against the city rate, and Spearman's rank
  correlation: neighborhood-level estimates, nothing about a person.

Honest small numbers (`intervals`): every rate has its exact Poisson interval; below
fields.MIN_COUNT pins the point figures are None (`too_few`); `thin` and `thinning` are raised
only where the interval or the test says so.

Which rate is compared ("basis"): pins per 1,000 residents when every active neighborhood has a
population, else pins per km² (and `population_known` is False with a message saying so):
per-capita figures are never made up from a partial or missing population.

Only what the caller's queryset holds is counted: callers pass public pins filtered by
mapideas.pins.filters.IdeaFilter (geodata.engagement.query.parse_query).
"""

import math
from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd

from geodata.engagement.coldspots import coldspots
from geodata.engagement.fields import LAYER_FIELDS
from geodata.engagement.hexagons import hexagon_engagement, pin_groups
from geodata.engagement.outreach import outreach
from geodata.engagement.rates import (
    NeighborhoodEngagement,
    Options,
    Selection,
    _missing,
    neighborhood_engagement,
)
from geodata.engagement.representativeness import representativeness
from geodata.engagement.service import (
    ServiceLayer,
    service_hexagons,
    service_neighborhoods,
    service_teams,
)
from geodata.engagement.slowspots import slowspots

# --- one entry point per layer, for the API and the exports ---------------------------------


@dataclass(frozen=True)
class EngagementLayer:
    """A computed layer: `frame` has the layer's fields and `geojson`; `about` holds the
    figures that describe the whole layer (city rate, basis, message...)."""

    name: str
    frame: pd.DataFrame
    id_field: str
    about: dict[str, object]


def _about(engagement: NeighborhoodEngagement) -> dict[str, object]:
    city = engagement.city
    period = engagement.period
    return {
        "population_known": engagement.population_known,
        "basis": engagement.basis,
        "thin_below": engagement.thin_below,
        "message": engagement.message,
        "city": {
            "count": city.count,
            "unassigned": city.unassigned,
            "population": city.population,
            "area_km2": round(city.area_km2, 6),
            "per_1000": _rounded(city.per_1000),
            "per_km2": _rounded(city.per_km2),
        },
        "period": {
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
            "previous_start": period.previous_start.isoformat(),
            "previous_end": period.previous_end.isoformat(),
        },
    }


def _rounded(value: float | None) -> float | None:
    # _missing also catches NaN; the None test is for mypy, which cannot see into _missing.
    return None if value is None or _missing(value) else round(float(value), 6)


# The service-equity layers (geodata.engagement.service, slowspots) and their id fields.
SERVICE_LAYERS = {
    "service-neighborhoods": "slug",
    "service-teams": "team_slug",
    "service-hexagons": "cell",
    "slowspots": "slug",
    "slowspots-hexagons": "cell",
}


def _service_about(service: ServiceLayer, selection: Selection) -> dict[str, object]:
    return {
        "message": service.message,
        "min_count": service.min_count,
        "as_of": service.now.isoformat(),
        "population_known": service.population_known,
        "period": {
            "start": selection.since.isoformat() if selection.since else None,
            "end": selection.until.isoformat() if selection.until else None,
        },
    }


def service_layer(name: str, selection: Selection, options: Options) -> EngagementLayer:
    """A service-equity layer: response times by neighborhood, team or hexagon, or their
    slow spots (neighborhoods, or hexagons at `options.resolution`)."""
    hexagons = name in ("service-hexagons", "slowspots-hexagons")
    if name == "service-teams":
        service = service_teams(selection, min_count=options.min_count)
    elif hexagons:
        service = service_hexagons(
            selection, resolution=options.resolution, min_count=options.min_count
        )
    else:
        service = service_neighborhoods(selection, min_count=options.min_count)
    about = _service_about(service, selection)
    if hexagons:
        about["resolution"] = options.resolution
    if name.startswith("slowspots"):
        spots = slowspots(service, hexagons=hexagons, alpha=options.alpha)
        about |= {
            "message": f"{spots.message} {service.message}",
            "alpha": spots.alpha,
            "permutations": spots.permutations,
            "seed": spots.seed,
        }
        return EngagementLayer(name, spots.frame, SERVICE_LAYERS[name], about)
    return EngagementLayer(name, service.frame, SERVICE_LAYERS[name], about)


def engagement_layer(name: str, selection: Selection, options: Options) -> EngagementLayer:
    if name in SERVICE_LAYERS:
        return service_layer(name, selection, options)
    hexagon_layer = name == "engagement-hexagons"
    # The hexagons publish no neighborhood's trend: their counts can come from the totals
    # kept on write, or else from the one scan that also counts the cells.
    groups = (
        pin_groups(selection, options.resolution)
        if hexagon_layer and selection.kept is None
        else None
    )
    engagement = neighborhood_engagement(
        selection,
        thin_below=options.thin_below,
        min_count=options.min_count,
        trends=not hexagon_layer,
        counted=None if groups is None else groups.neighborhoods,
    )
    about = _about(engagement)
    if name == "engagement-neighborhoods":
        return EngagementLayer(name, engagement.frame, "slug", about)
    if name == "coldspots":
        spots = coldspots(engagement, weights=options.weights, alpha=options.alpha)
        about |= {
            "message": f"{spots.message} {engagement.message}",
            "weights": spots.weights,
            "alpha": spots.alpha,
            "permutations": spots.permutations,
            "seed": spots.seed,
        }
        return EngagementLayer(name, spots.frame, "slug", about)
    if name == "engagement-hexagons":
        hexagons = hexagon_engagement(
            selection, engagement, resolution=options.resolution, groups=groups
        )
        about |= {"message": hexagons.message, "resolution": hexagons.resolution}
        return EngagementLayer(name, hexagons.frame, "cell", about)
    if name == "outreach":
        ranked = outreach(engagement, limit=options.limit)
        return EngagementLayer(name, ranked, "slug", about)
    if name == "representativeness":
        profile = representativeness(
            engagement, attribute=options.attribute, min_count=options.min_count
        )
        about |= {
            "message": profile.message,
            "attributes": {
                summary.name: {
                    "neighborhoods": summary.neighborhoods,
                    "spearman": _rounded(summary.spearman),
                    # Significant figures, not decimals: a p-value may be 1e-9.
                    "spearman_p": None
                    if summary.spearman_p is None
                    else float(f"{summary.spearman_p:.6g}"),
                    "summary": summary.summary,
                }
                for summary in profile.attributes.values()
            },
        }
        return EngagementLayer(name, profile.frame, "key", about)
    raise ValueError(f"No engagement layer {name!r}.")


def plain_properties(layer: EngagementLayer) -> Iterator[tuple[int | str, dict[str, object]]]:
    """(id, properties) per feature, as JSON-ready Python values: None for no value (never
    NaN), ints, floats rounded to 6 decimals, booleans."""
    fields = LAYER_FIELDS[layer.name]
    frame = layer.frame
    columns = {name: frame[name].tolist() for name in fields.names}
    ids = frame[layer.id_field].tolist()
    for i, feature_id in enumerate(ids):
        properties: dict[str, object] = {}
        for name in fields.names:
            value = columns[name][i]
            if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
                properties[name] = None
            elif name in fields.integers:
                properties[name] = int(value)
            elif name in fields.floats:
                properties[name] = round(float(value), 6)
            elif name in fields.booleans:
                properties[name] = bool(value)
            else:
                properties[name] = str(value)
        yield feature_id, properties
