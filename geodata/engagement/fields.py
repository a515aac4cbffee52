"""The engagement layers' settings and what each layer carries (the API, the exports, the OGC
collections and the docs list these)."""

from dataclasses import dataclass

from mapideas.models import Idea

# Input gathered offline (phone, meetings, paper, letters, imports...): the model's one list,
# so the offline share and the staff entry form (services.STAFF_ENTRY_CHANNELS) agree.
OFFLINE_CHANNELS = tuple(str(c) for c in Idea.OFFLINE_CHANNELS)


THIN_BELOW = 0.5  # a neighborhood below half the city rate is thin


TREND_DAYS = 90  # the trend period when no date range is given


ALPHA = 0.05  # false discovery rate of the cold/hot spot test


# 9999, not esda's 999: with Benjamini-Hochberg over n neighborhoods the smallest p-value must
# be below alpha / n (0.00065 for Chicago's 77), and 999 permutations cannot go under 0.001.
PERMUTATIONS = 9999


# Fixed, so the same data gives the same p-values on every request and every machine.
SEED = 20261126


# Honest small numbers: a figure computed from fewer pins than this (a rate, a median, a
# share, a quintile's rate) is not shown, in any output: it is "too few to say". The API's
# `min_count` may raise it, never lower it.
MIN_COUNT = 10


# Every interval (Poisson on counts, the trend's test) is at this confidence, and a flag
# (thin, thinning, slow) is raised only where its interval says so.
CONFIDENCE = 0.95


RESOLUTIONS = (7, 8, 9)


WEIGHTS = ("queen", "distance")


# What the outreach score multiplies by (see `outreach`).
NO_OFFLINE_BOOST = 1.5


THINNING_BOOST = 1.25


# Pins are read from the database this many at a time for the hexagon counts (SpatiaLite).
CHUNK_SIZE = 20000


POPULATION_UNKNOWN_MESSAGE = (
    "{missing} of {total} neighborhoods have no population: figures are pins per km² only, "
    "and no per-resident rate is given."
)


POPULATION_KNOWN_MESSAGE = (
    "Rates are pins per 1,000 residents, compared with the city-wide rate of {rate:.3f}."
)


NO_BOUNDARIES_MESSAGE = "There are no active boundaries: nothing to compare."


# --- what each layer carries (the API, the exports and the README list these) ---------------

# Every rate with its Poisson interval (geodata.engagement.intervals); the point figures are
# None where an area has fewer than MIN_COUNT pins (`too_few`), the intervals never.
RATE_INTERVAL_FIELDS = (
    "per_1000",
    "per_1000_low",
    "per_1000_high",
    "per_km2",
    "per_km2_low",
    "per_km2_high",
    "ratio",
    "ratio_low",
    "ratio_high",
)


NEIGHBORHOOD_FIELDS = (
    "name",
    "slug",
    "team",
    "team_slug",
    "population",
    "area_km2",
    "count",
    "too_few",
    *RATE_INTERVAL_FIELDS,
    "thin",
    "offline_count",
    "offline_share",
    "count_current",
    "count_previous",
    "change",
    "thinning",
)


COLDSPOT_FIELDS = (
    *NEIGHBORHOOD_FIELDS,
    "z_score",
    "p_value",
    "significance",
    "neighbors",
    "island",
)


HEXAGON_FIELDS = (
    "cell",
    "count",
    "too_few",
    "population",
    "area_km2",
    *RATE_INTERVAL_FIELDS,
    "thin",
)


# The outreach list is the neighborhood layer, ranked, with why each one is suggested.
OUTREACH_FIELDS = ("rank", *NEIGHBORHOOD_FIELDS, "missing", "score", "reason")


# Representativeness by neighborhood profile (geodata.engagement.representativeness): one
# feature per (attribute, population-weighted fifth).
REPRESENTATIVENESS_FIELDS = (
    "attribute",
    "quintile",
    "value_min",
    "value_max",
    "neighborhoods",
    "population",
    "count",
    "too_few",
    "per_1000",
    "per_1000_low",
    "per_1000_high",
    "ratio",
    "ratio_low",
    "ratio_high",
    "spearman",
    "spearman_p",
    "summary",
)


# Service equity (geodata.engagement.service): response figures per area, in working days.
# Every one is None where an area has fewer than MIN_COUNT pins (`too_few`).
SERVICE_FIGURES = (
    "count",
    "answered",
    "median_first_answer",
    "median_first_answer_more_than",
    "p90_first_answer",
    "p90_first_answer_more_than",
    "within_target_share",
    "waiting_past_target",
    "done",
    "median_done",
    "median_done_more_than",
    "p90_done",
    "p90_done_more_than",
    "closed",
    "reopened_share",
    "disputed_share",
)


SERVICE_AREA_FIGURES = ("too_few", *SERVICE_FIGURES, "answered_per_1000")


SERVICE_NEIGHBORHOOD_FIELDS = ("name", "slug", "team", "team_slug", *SERVICE_AREA_FIGURES)


SERVICE_TEAM_FIELDS = ("team", "team_slug", *SERVICE_AREA_FIGURES)


SERVICE_HEXAGON_FIELDS = ("cell", *SERVICE_AREA_FIGURES)


# Gi* on the median working days to a first answer (geodata.engagement.slowspots).
SLOWSPOT_TEST_FIELDS = ("z_score", "p_value", "significance", "neighbors", "island")


SLOWSPOT_FIELDS = (*SERVICE_NEIGHBORHOOD_FIELDS, *SLOWSPOT_TEST_FIELDS)


SLOWSPOT_HEXAGON_FIELDS = (*SERVICE_HEXAGON_FIELDS, *SLOWSPOT_TEST_FIELDS)


@dataclass(frozen=True)
class Fields:
    """The properties of a layer, in order, and which are numbers or booleans (else text)."""

    names: tuple[str, ...]
    integers: frozenset[str]
    floats: frozenset[str]
    booleans: frozenset[str]


_INTEGERS = frozenset(
    {
        "population",
        "count",
        "offline_count",
        "count_current",
        "count_previous",
        "change",
        "neighbors",
        "rank",
        "quintile",
        "neighborhoods",
        # service equity: counts, and quantiles in whole working days
        *(name for name in SERVICE_FIGURES if not name.endswith("_share")),
    }
)


_FLOATS = frozenset(
    {
        "area_km2",
        *RATE_INTERVAL_FIELDS,
        "value_min",
        "value_max",
        "spearman",
        "spearman_p",
        "offline_share",
        "z_score",
        "p_value",
        "missing",
        "score",
        "within_target_share",
        "reopened_share",
        "disputed_share",
        "answered_per_1000",
    }
)


_BOOLEANS = frozenset({"thin", "thinning", "island", "too_few"})


def _fields(names: tuple[str, ...], *, float_population: bool = False) -> Fields:
    integers = _INTEGERS - {"population"} if float_population else _INTEGERS
    floats = _FLOATS | {"population"} if float_population else _FLOATS
    chosen = frozenset(names)
    return Fields(names, integers & chosen, floats & chosen, _BOOLEANS & chosen)


# Layer name (as in /export/<layer>.<ext>) -> its properties. A hexagon's residents are an
# areal-weighted share, so not a whole number.
LAYER_FIELDS = {
    "engagement-neighborhoods": _fields(NEIGHBORHOOD_FIELDS),
    "engagement-hexagons": _fields(HEXAGON_FIELDS, float_population=True),
    "coldspots": _fields(COLDSPOT_FIELDS),
    "outreach": _fields(OUTREACH_FIELDS),
    "representativeness": _fields(REPRESENTATIVENESS_FIELDS),
    "service-neighborhoods": _fields(SERVICE_NEIGHBORHOOD_FIELDS),
    "service-teams": _fields(SERVICE_TEAM_FIELDS),
    "service-hexagons": _fields(SERVICE_HEXAGON_FIELDS),
    "slowspots": _fields(SLOWSPOT_FIELDS),
    "slowspots-hexagons": _fields(SLOWSPOT_HEXAGON_FIELDS),
}


LAYER_GEOMETRY_TYPES = {
    "engagement-neighborhoods": "MultiPolygon",
    "engagement-hexagons": "Polygon",
    "coldspots": "MultiPolygon",
    "outreach": "MultiPolygon",
    "representativeness": "MultiPolygon",
    "service-neighborhoods": "MultiPolygon",
    "service-teams": "MultiPolygon",
    "service-hexagons": "Polygon",
    "slowspots": "MultiPolygon",
    "slowspots-hexagons": "Polygon",
}


class Significance:
    COLD = "cold"
    HOT = "hot"
    NOT_SIGNIFICANT = "not significant"
    # Too few neighborhoods with a rate (fewer than 3), or none for this one (no residents).
    NOT_TESTED = "not tested"
    ALL = (COLD, HOT, NOT_SIGNIFICANT, NOT_TESTED)


class Pace:
    """A slow spot's verdict (Gi* on the median working days to a first answer)."""

    SLOW = "slow"
    FAST = "fast"
    NOT_SIGNIFICANT = "not significant"
    # Fewer than MIN_COUNT pins (or fewer than 3 areas with enough pins to test).
    NOT_TESTED = "not tested"
    ALL = (SLOW, FAST, NOT_SIGNIFICANT, NOT_TESTED)
