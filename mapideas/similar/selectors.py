"""Similar pins nearby, suggested while a citizen writes a new one, so they can support an
existing pin instead of sending a duplicate: near by place, then ranked by meaning.

How a candidate is scored (documented in README, "Similar pins"):

1. Candidates: public open pins (`selectors.public_ideas()`, status in Idea.OPEN_STATUSES)
   within `radius_m` true metres of the new pin (on the spheroid, on PostGIS and SpatiaLite
   alike), the nearest `CANDIDATES` of them.
2. Text: the title and description are split into words, lowercased with accents folded
   (mapideas.plumbing.text), short words and common English, Dutch and French words dropped, and a
   trailing plural "s"/"x" taken off ("trees" = "tree", "bancs" = "banc"). Each text becomes a
   vector of word weights: TITLE_WEIGHT for a word of the title, 1 for one of the
   description only, times the word's rarity among the candidates (smoothed inverse document
   frequency, ln((n + 1) / (df + 1)) + 1, so a word every nearby pin uses counts less). The
   text score is the cosine of the new pin's vector and the candidate's, from 0 to 1.
3. score = text + CATEGORY_BONUS when the category is the same.
4. A candidate with no word in common is left out, unless it has the same category and lies
   within NEAR_SAME_CATEGORY_M: a second report of the same broken streetlight is often worded
   differently, and at a few metres with the same category it is likely the same thing.
5. The best `LIMIT` by score, the nearer first on a tie.
"""

import math
from collections import Counter
from dataclasses import dataclass

from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import Point, Polygon
from django.contrib.gis.measure import D

from mapideas.models import Category, Idea
from mapideas.pins import selectors
from mapideas.plumbing.text import words
from neighborhoods.spatial_index import in_spatial_index

CANDIDATES = 200
LIMIT = 5
TITLE_WEIGHT = 2.0
CATEGORY_BONUS = 0.2
NEAR_SAME_CATEGORY_M = 25.0
MAX_RADIUS_M = 1000
# The search radius by the map's zoom: what a citizen sees around the pin at that zoom.
# Zoom 17 and closer shows a street or two; zoom 12 and farther a whole district.
_RADIUS_BY_ZOOM = {17: 50, 16: 100, 15: 200, 14: 400, 13: 700}

# Words too common to say what a pin is about (en, nl, fr), after normalisation.
_STOPWORD_TEXT = """
    a an the and or but of to in on at for from by with without is are was were be been it
    its this that these those there here not no very too can could should would will please
    my our your we they he she i you me us them as so if than then also more most some any
    de het een en of maar van voor naar in op aan met zonder bij is zijn was waren er hier
    niet geen heel erg te kan kunnen moet moeten zou graag mijn ons onze jullie wij we zij
    ze hij ik je u dit dat deze die als dan ook meer
    le la les l un une des du d et ou mais a au aux pour par avec sans sur sous dans est
    sont etait ete ce cet cette ces il elle ils elles on nous vous je tu y en ne pas plus
    tres trop peut faut qui que qu s n c j m se sa son ses leur leurs mon ma mes notre
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


@dataclass
class SimilarPin:
    idea: Idea
    distance_m: float
    score: float


def radius_for_zoom(zoom: int | None) -> int:
    """The search radius in metres for the map's zoom: 50 m from zoom 17, 1 km at zoom 12
    and below (and without a zoom)."""
    if zoom is None:
        return MAX_RADIUS_M
    if zoom >= 17:
        return _RADIUS_BY_ZOOM[17]
    return _RADIUS_BY_ZOOM.get(zoom, MAX_RADIUS_M)


def _stem(word: str) -> str:
    # A plural's "s" or "x" (en, fr; nl "-en" is left alone: too many words end in it).
    if len(word) > 3 and word[-1] in "sx" and word[-2] != "s":
        return word[:-1]
    return word


def terms(text: str) -> list[str]:
    """The words of `text` that say what it is about, normalised (see the module's doc)."""
    return [_stem(w) for w in words(text) if len(w) > 1 and w not in STOPWORDS]


def _weights(title: str, description: str) -> dict[str, float]:
    weights: dict[str, float] = dict.fromkeys(terms(description), 1.0)
    weights.update(dict.fromkeys(terms(title), TITLE_WEIGHT))
    return weights


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    dot = sum(weight * b[word] for word, weight in a.items() if word in b)
    if not dot:
        return 0.0
    norm = math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values()))
    return dot / norm


def _box_around(location: Point, radius_m: float) -> Polygon:
    """A box in degrees holding every point within radius_m of `location`: lets the database
    use its spatial index before measuring true distances (on a sphere a degree of longitude
    shrinks with the cosine of the latitude; 10% spare for the spheroid)."""
    dlat = radius_m * 1.1 / 111_000
    cos_lat = max(math.cos(math.radians(min(abs(location.y) + dlat, 90.0))), 1e-6)
    dlon = min(radius_m * 1.1 / (111_000 * cos_lat), 180.0)
    return Polygon.from_bbox(
        (location.x - dlon, location.y - dlat, location.x + dlon, location.y + dlat)
    )


def similar_pins(
    *,
    location: Point,
    title: str,
    description: str = "",
    category: Category | None = None,
    radius_m: float,
    limit: int = LIMIT,
) -> list[SimilarPin]:
    """Public open pins within radius_m metres of `location` that are probably about the same
    thing as a pin with this title, description and category, best first."""
    box = _box_around(location, radius_m)
    # The box for the spatial index: PostGIS's `intersects` uses it, SpatiaLite's R*Tree must
    # be asked (else every public pin is measured).
    nearby = in_spatial_index(
        selectors.public_ideas(), "location", box.extent, gist_lookup_follows=True
    )
    # The candidates' text only: a few columns of up to CANDIDATES rows, where model
    # instances with their category, team and neighborhood were most of the answer's time.
    # Only the best `limit` are then read whole.
    candidates = list(
        nearby.filter(status__in=Idea.OPEN_STATUSES)
        .filter(location__intersects=box)
        .filter(location__distance_lte=(location, D(m=radius_m), "spheroid"))
        .annotate(distance=Distance("location", location, spheroid=True))
        .order_by("distance", "-id")
        .values_list("pk", "title", "description", "category_id", "distance")[:CANDIDATES]
    )
    if not candidates:
        return []
    texts = [_weights(title_, description_) for _pk, title_, description_, *_ in candidates]
    document_frequency = Counter(word for text in texts for word in text)
    n = len(candidates)

    def rarity(word: str) -> float:
        return math.log((n + 1) / (document_frequency[word] + 1)) + 1

    def weighted(text: dict[str, float]) -> dict[str, float]:
        return {word: weight * rarity(word) for word, weight in text.items()}

    wanted = weighted(_weights(title, description))
    scored = []
    for nearness, ((pk, _title, _description, category_id, distance), text) in enumerate(
        zip(candidates, texts, strict=True)
    ):
        metres = float(distance.m)
        same_category = category is not None and category_id == category.pk
        text_score = _cosine(wanted, weighted(text))
        if not text_score and not (same_category and metres <= NEAR_SAME_CATEGORY_M):
            continue
        score = text_score + (CATEGORY_BONUS if same_category else 0.0)
        # The best score first, then the nearer (on a tie, the database's order: newer first).
        scored.append((-round(score, 3), metres, nearness, pk))
    best = sorted(scored)[:limit]
    ideas = selectors.public_ideas().in_bulk([pk for *_, pk in best])
    return [
        SimilarPin(idea=ideas[pk], distance_m=metres, score=-negative_score)
        for negative_score, metres, _nearness, pk in best
        if pk in ideas  # unless it was hidden or deleted in between
    ]
