"""Every parameter of every form and API, with the worst a client can send in it.

`TABLE` lists every endpoint and method with the parameters the property test drives, each
with a valid value (so that a refusal is the hostile value's doing), the roles that get past
the endpoint's permission check, and how its body travels. The meta-tests compare it with
what tests/parameter_inventory.py finds in the URLconf, the OpenAPI schema, the forms, the
pages' <form>s and the source: a parameter found there and missing here fails, saying what
to add.

The property test sends values of every hostile class to every parameter: extreme dates,
integers beyond 64 bits, floats that are no numbers, empty and invalid geometries, text with
characters XML cannot carry, and bytes that are not UTF-8, in url-encoded, multipart and JSON
bodies built by hand, as each role that reaches the form. One request carries one class in
every parameter at once; the parameters an answer names are set aside and the rest sent
again, and a 500 or an answer naming none of them is split in halves until the parameter it
is about is found (Prober). Every answer is below 500; a 4xx names the parameter (in the JSON
errors, the Open311 or OGC description, next to the field on the page, or in the plain-text
answer), unless the endpoint refuses that role anyway, the body is not JSON at all, or the
parameter is part of the path (a 404: no such thing). No stored text holds a character the
stored-text rule refuses, or U+FFFD where bytes were not UTF-8; whatever was stored is read
back, once per test, by every export format (through `ogrinfo`, all at once) and every XML
output (parsed).

Derandomized: the same examples on every run; a few per endpoint keep both databases fast.
"""

import itertools
import json
import re
import secrets
import subprocess
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote, quote_from_bytes

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from django.utils.html import escape
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from geodata.exports import formats as export_formats
from mapideas.answers.services import template_save
from mapideas.backoffice.forms import OTHER_STATUSES, attribute_field
from mapideas.handoffs import services as handoffs
from mapideas.models import (
    BackofficeEndpoint,
    BackofficeForward,
    FixCheck,
    Flag,
    Idea,
    WebhookEndpoint,
)
from mapideas.moderation.services import idea_flag
from mapideas.open311.services import open311_client_create
from mapideas.outcomes import fix_checks
from mapideas.outcomes.services import feedback_give
from mapideas.participation.services import comment_add
from mapideas.pins.default_categories import DEFAULT_CATEGORIES
from mapideas.submission.services import idea_create
from mapideas.workflow.services import idea_status_change
from neighborhoods.models import BoundaryVersion, Team
from tests import parameter_inventory as inventory
from tests.conftest import IN_EAST

pytestmark = pytest.mark.django_db

LON, LAT = IN_EAST.x, IN_EAST.y
EXAMPLES = 2  # per endpoint and role; each example sends every hostile class to every parameter

# --- The hostile values --------------------------------------------------------------------

DATES = [
    "0001-01-01",
    "9999-12-31",
    "10000-01-01",
    "-1",
    "2015-02-30",
    "99999999-12-31",
    "0000-00-00",
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00Z/9999-12-31T23:59:59Z",
    "../9999-12-31T23:59:59+14:00",
]
INTEGERS = [str(2**63), str(-(2**63) - 1), str(10**30), str(2**64), "-1", "0"]
FLOATS = ["nan", "inf", "-inf", "1e309", "-1e309", "1e-400"]
GEOMETRIES = [
    "POINT EMPTY",
    "GEOMETRYCOLLECTION EMPTY",
    "POLYGON((0 0, 1 1, 1 0, 0 1, 0 0))",  # a bow tie: self-intersecting
    "POINT(200 100)",
    "SRID=4326;POINT(4.015 95)",
    "-181,-91,181,91",
    "4.02,50.0,4.0,50.01",
    "junk(((",
    '{"type": "Point", "coordinates": []}',
    '{"type": "Polygon", "coordinates": "x"}',
    '{"type": "GeometryCollection", "geometries": []}',
    '{"type": "Point", "coordinates": [200, 100]}',
]
# As JSON bodies carry them: objects, not text.
JSON_GEOMETRIES = [
    {"type": "Point", "coordinates": []},
    {"type": "Point"},
    {"type": "GeometryCollection", "geometries": []},
    {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},
    {"type": "Point", "coordinates": [200, 100]},
    {"type": "LineString", "coordinates": "x"},
    {"type": "Point", "coordinates": [LON, LAT, 1e309]},
]
# Characters XML 1.0 cannot carry, or that no stored text should hold; a lone surrogate goes
# over the wire as the bytes it would be (not UTF-8).
XML_INVALID = ["\x00", "\x01", "\x0b", "\x1f", "\x85", "\x9f", "\ufffe", "\uffff", "\ud800"]
NOT_UTF8 = [b"\xff\xfe", b"bad \xff\xfe bytes", b"\xc3(", b"\xed\xa0\x80", b"\xc0\x80", b"\xe2\x82"]


@dataclass(frozen=True)
class Raw:
    """A JSON token written as it is: numbers beyond a double, and NaN and Infinity, which
    Python writes but JSON has not."""

    token: str


Value = str | bytes | int | float | dict | list | Raw | None
# A parameter the valid request leaves out (an optional one whose empty value means
# something else, or that this endpoint takes only from some clients); sent when hostile.
ABSENT = Raw("absent")

hostile_text = st.builds(
    lambda prefix, char, suffix: prefix + char + suffix,
    st.sampled_from(["", "Swing ", "parks-green-space"]),
    st.sampled_from(XML_INVALID),
    st.sampled_from(["", " by the pond"]),
)
CLASSES: dict[str, st.SearchStrategy] = {
    "date": st.sampled_from(DATES),
    "integer": st.sampled_from(INTEGERS),
    "float": st.sampled_from(FLOATS),
    "geometry": st.sampled_from(GEOMETRIES),
    "xml_invalid": hostile_text,
    "not_utf8": st.sampled_from(NOT_UTF8),
}
JSON_CLASSES: dict[str, st.SearchStrategy] = {
    **CLASSES,
    "integer": st.sampled_from([2**63, -(2**63) - 1, 10**30, 2**64]),
    "float": st.sampled_from(
        [Raw(t) for t in ("1e309", "-1e309", "1e-400", "NaN", "Infinity", "-Infinity")]
    ),
    "geometry": st.sampled_from(JSON_GEOMETRIES),
}

# --- The endpoints ----------------------------------------------------------------------------

ANONYMOUS, CITIZEN, MEMBER, STAFF = "anonymous", "citizen", "member", "staff"
EVERYONE = (ANONYMOUS, CITIZEN)
SIGNED_IN = (CITIZEN,)
TEAM = (MEMBER, STAFF)
PLANNERS = (STAFF,)

Base = str | Callable[[dict], Value]


@dataclass(frozen=True)
class Endpoint:
    """One URL and method: its parameters with a valid value each, by where they travel."""

    roles: tuple[str, ...]
    path: dict[str, Base] = field(default_factory=dict)
    query: dict[str, Base] = field(default_factory=dict)
    body: dict[str, Base] = field(default_factory=dict)
    headers: dict[str, Base] = field(default_factory=dict)
    # How the body travels: "form" (url-encoded and multipart, each example draws one),
    # "json", or "json+multipart" (an API that takes both).
    encoding: str = "form"
    files: tuple[str, ...] = ()  # body parameters sent as uploaded files in multipart
    # A fresh pin (and comment) per request: a write changes what the next one may do.
    fresh: bool = False
    # Refusals of a path parameter that name nothing: 404, or the page's own "bad link" 400.
    path_refusals: tuple[int, ...] = (404,)
    # False where no valid value is at hand (a signed link's token): the request as sent is
    # refused, and a hostile value must be refused the same way or naming the parameter.
    valid: bool = True

    def parameters(self) -> dict[str, str]:
        """name -> where it travels."""
        return (
            {n: "path" for n in self.path}
            | {n: "query" for n in self.query}
            | {n: "body" for n in self.body}
            | {n: "header" for n in self.headers}
        )


def pin(o: dict) -> str:
    return str(o["pin"].pk)


PIN = {"pk": pin}
PIN_FILTERS: dict[str, Base] = {
    "bbox": "3.9,49.9,4.1,50.1",
    "category": "parks-green-space",
    "channel": "web",
    "created_after": "2000-01-01",
    "created_before": "2999-12-31",
    "kind": "issue",
    "neighborhood": "east-side",
    "status": "new",
    "team": "east-team",
}
ENGAGEMENT: dict[str, Base] = {
    "category": "parks-green-space",
    "channel": "web",
    "created_after": "2000-01-01",
    "created_before": "2999-12-31",
    "kind": "issue",
    "status": "new",
    "thin_below": "0.5",
    "trend_days": "30",
}
# The service-equity layers take the pin filters only (no thin_below, no trend).
PIN_FILTERS_CITY = {k: v for k, v in ENGAGEMENT.items() if k not in ("thin_below", "trend_days")}
# The ideas collection's items: its own parameters; the engagement collections' parameters
# (read by the same reader as /api/engagement/, driven there) are unknown to it, so a 400
# naming each.
OGC_ITEMS: dict[str, Base] = {
    **{name: ABSENT for name in ENGAGEMENT},
    **{name: ABSENT for name in ("resolution", "weights", "alpha", "attribute", "min_count")},
    **{k: v for k, v in PIN_FILTERS.items() if not k.startswith("created_")},
    "f": "json",
    "bbox-crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
    "datetime": "2000-01-01T00:00:00Z/..",
    "limit": "10",
    "offset": "0",
    # From a `next` link, and not with `offset`: left out of the valid request.
    "cursor": ABSENT,
}
# One pin: `f` only.
OGC_FEATURE: dict[str, Base] = {
    **{name: ABSENT for name in ENGAGEMENT},
    **{name: ABSENT for name in ("resolution", "weights", "alpha", "attribute", "min_count")},
    "f": "json",
}
OPEN311_QUERY: dict[str, Base] = {
    "jurisdiction_id": "",
    "service_code": "parks-green-space",
    "status": "open",
    "start_date": "2000-01-01T00:00:00Z",
    "end_date": "2000-03-01T00:00:00Z",
    "service_request_id": pin,
}
OPEN311_POST: dict[str, Base] = {
    "api_key": lambda o: o["open311_key"],
    "jurisdiction_id": "",
    "service_code": "parks-green-space",
    "lat": str(LAT),
    "long": str(LON),
    "address_string": "Pond road 1",
    "address_id": "a1",
    "email": "ann@mail.example",
    "device_id": "d1",
    "account_id": "u1",
    "first_name": "Ann",
    "last_name": "Lee",
    "phone": "+32 2 555 01 01",
    "description": "Broken swing",
    "media_url": "https://media.example/swing.jpg",
}
OGC_ACCEPT = {"Accept": "application/json"}
IDEMPOTENCY = {"Idempotency-Key": lambda o: f"key-{o['serial']}"}
PIN_FORM: dict[str, Base] = {
    "kind": "issue",
    "title": "Broken swing",
    "description": "The chain is gone.",
    "category": "parks-green-space",
    "latitude": str(LAT),
    "longitude": str(LON),
    "photo": ABSENT,
}


AUDIT_FILTERS: dict[str, Base] = {
    "action": "status",
    "actor": lambda o: str(o["staff_id"]),
    "since": "2020-01-01",
    "until": "2999-12-31",
    "pin": "1",
    "page": "1",
}
WEBHOOK: dict[str, Base] = {"pk": lambda o: str(o["webhook"].pk)}
HANDOFF: dict[str, Base] = {"pk": pin, "handoff_pk": lambda o: str(o["handoff"].pk)}
HANDOFF_LINK: dict[str, Base] = {
    "pk": lambda o: str(o["handoff"].pk),
    "token": lambda o: o["handoff_token"],
}
WEBHOOK_FORM: dict[str, Base] = {
    "url": "https://8.8.8.8/hook",
    "description": "Works orders",
    "events": "pin.created",
    "active": "on",
}
BACKOFFICE: dict[str, Base] = {"pk": lambda o: str(o["backoffice"].pk)}
HELD_FORWARD: dict[str, Base] = {"pk": lambda o: str(o["held_forward"].pk)}
LEFT_FORWARD: dict[str, Base] = {"pk": lambda o: str(o["left_forward"].pk)}
# A public address given as a literal (no DNS): never called by these pages.
BACKOFFICE_SETTINGS: dict[str, Base] = {
    "name": "Works orders",
    "base_url": "https://8.8.8.8/open311/",
    "jurisdiction_id": "city.example",
    "api_key": "k3y-of-the-works-orders",
    "api_key_env": "",
    "searchable": "on",
    "listing_delay": "600",
    "reads_updates": "",
}


def fresh_team(o: dict) -> str:
    """A team of its own for each new back office (a team has one for its pins)."""
    return Team.objects.create(name=f"Team {o['serial']}", slug=f"team-{o['serial']}").slug


# Each category's service, the required value of the one chosen, and the statuses.
BACKOFFICE_MAPPING: dict[str, Base] = {
    **{f"service_{slug}": "" for slug in DEFAULT_CATEGORIES},
    "service_parks-green-space": "TREE",
    attribute_field("TREE", "crew"): "North crew",
    "status_open": "",
    "status_closed": "done",
    **{f"other_status_{n}": "" for n in range(1, OTHER_STATUSES + 1)},
    **{f"other_pin_status_{n}": "" for n in range(1, OTHER_STATUSES + 1)},
    "other_status_1": "in_progress",
    "other_pin_status_1": "in_progress",
}
TEMPLATE = {"slug": "east-team", "pk": lambda o: str(o["template"].pk)}
TEMPLATE_FORM: dict[str, Base] = {
    "name": lambda o: f"Template {o['serial']}",
    "category": "parks-green-space",
    "status": "acknowledged",
    "texts_en": "Thank you: {team} has pin #{pin_number}.",
    "texts_fr": "Merci : {team} a le signalement n°{pin_number}.",
    "texts_nl": "",
}


def unique_email(o: dict) -> str:
    return f"person{o['serial']}@mail.example"


def closed_pin(o: dict) -> str:
    return str(o["closed"].pk)


CLOSED_PIN = {"pk": closed_pin}
CHECK = {"slug": "east-team", "pk": closed_pin}
FEEDBACK: dict[str, Base] = {
    "verdict": "still_there",
    "note": "The bench still wobbles.",
    "photo": ABSENT,
    "email": unique_email,
}


_asked = itertools.count()


def fix_check_token(o: dict) -> str:
    """The token of a fresh "Is it fixed?" question about the world's pin marked done, as if
    emailed (a link works once: each request gets its own)."""
    token = secrets.token_urlsafe(32)
    closed = Idea.objects.get(pk=o["closed"].pk)
    FixCheck.objects.create(
        idea=closed,
        person_hash=f"asked-{next(_asked)}",
        token_hash=fix_checks.token_hash(token),
        closed_at=closed.closed_at,
        expires_at=timezone.now() + timedelta(days=30),
    )
    return token


TABLE: dict[tuple[str, str], Endpoint] = {
    # --- Citizens: the map, its form, a pin's page and API ---
    ("home", "POST"): Endpoint(
        EVERYONE,
        body={
            **PIN_FORM,
            "email": "",
            "name": "Ann",
            "contact_shared_with_city": "on",
            "submission_token": lambda o: f"token-{o['serial']}",
        },
        files=("photo",),
    ),
    # The place search above the map (the script asks /api/places/; the page reads no query).
    ("home", "GET"): Endpoint(EVERYONE, query={"q": "East"}),
    ("api-ideas", "GET"): Endpoint(
        EVERYONE,
        # `cursor` comes from a `next` link, and not with `page`: left out of the valid request.
        query={**PIN_FILTERS, "page": "1", "page_size": "10", "cursor": ABSENT},
    ),
    ("api-ideas", "POST"): Endpoint(
        EVERYONE,
        body={
            "kind": "issue",
            "title": "Broken swing",
            "description": "The chain is gone.",
            "category": "parks-green-space",
            "location": lambda o: {"type": "Point", "coordinates": [LON, LAT]},
            "email": "",
            "name": "Ann",
            "contact_shared_with_city": lambda o: True,
            "photo": ABSENT,
        },
        headers=IDEMPOTENCY,
        encoding="json+multipart",
        files=("photo",),
    ),
    ("api-ideas-viewport", "GET"): Endpoint(EVERYONE, query={**PIN_FILTERS, "zoom": "14"}),
    ("api-ideas-similar", "GET"): Endpoint(
        EVERYONE,
        query={
            "lon": str(LON),
            "lat": str(LAT),
            "title": "Swing",
            "description": "chain",
            "category": "parks-green-space",
            "radius_m": "200",
            "zoom": "14",
        },
    ),
    ("api-route", "GET"): Endpoint(
        EVERYONE, query={"lon": str(LON), "lat": str(LAT), "category": "parks-green-space"}
    ),
    ("api-places", "GET"): Endpoint(EVERYONE, query={"q": "East"}),
    ("api-subscriptions", "POST"): Endpoint(
        EVERYONE,
        body={
            "email": "ann@mail.example",
            "neighborhood": ABSENT,  # a point or a neighborhood, not both
            "point": lambda o: {"type": "Point", "coordinates": [LON, LAT]},
            "radius_m": lambda o: 500,
            "frequency": "immediate",
        },
        encoding="json",
    ),
    ("idea-detail", "GET"): Endpoint(EVERYONE + TEAM, path=PIN),
    ("idea-detail", "POST"): Endpoint(EVERYONE, path=PIN),
    # The pin has no photo: a 404 whatever the path says.
    ("idea-photo", "GET"): Endpoint(EVERYONE, path=PIN, valid=False),
    # An answer's photo: the pin's answers have none, a 404 whatever the path says.
    ("idea-timeline-photo", "GET"): Endpoint(
        EVERYONE, path={"pk": pin, "photo_pk": "1"}, valid=False
    ),
    ("api-idea", "GET"): Endpoint(EVERYONE, path=PIN),
    ("idea-support", "POST"): Endpoint(EVERYONE, path=PIN, fresh=True),
    ("idea-unsupport", "POST"): Endpoint(SIGNED_IN, path=PIN, fresh=True),
    ("idea-follow", "POST"): Endpoint(
        EVERYONE, path=PIN, body={"email": "ann@mail.example"}, fresh=True
    ),
    ("idea-unfollow", "POST"): Endpoint(SIGNED_IN, path=PIN, fresh=True),
    ("idea-flag", "POST"): Endpoint(
        EVERYONE, path=PIN, body={"reason": "spam", "text": "An advert."}, fresh=True
    ),
    ("comment-add", "POST"): Endpoint(SIGNED_IN, path=PIN, body={"text": "Me too."}, fresh=True),
    ("comment-hide", "POST"): Endpoint(
        TEAM,
        path={"pk": pin, "comment_pk": lambda o: str(o["comment"].pk)},
        body={"reason": "Rude."},
        fresh=True,
    ),
    ("api-idea-comments", "GET"): Endpoint(EVERYONE, path=PIN),
    ("api-idea-comments", "POST"): Endpoint(
        SIGNED_IN, path=PIN, body={"text": "Me too."}, encoding="json", fresh=True
    ),
    ("api-idea-support", "POST"): Endpoint(EVERYONE, path=PIN, encoding="json", fresh=True),
    ("api-idea-follow", "POST"): Endpoint(
        EVERYONE, path=PIN, body={"email": "ann@mail.example"}, encoding="json", fresh=True
    ),
    ("api-idea-flag", "POST"): Endpoint(
        EVERYONE,
        path=PIN,
        body={"reason": "spam", "text": "An advert."},
        encoding="json",
        fresh=True,
    ),
    # Links in emails: a bad token is the page's own 400 ("this link is not valid").
    **{
        (name, method): Endpoint(
            EVERYONE, path={"token": "forged"}, path_refusals=(400, 404), valid=False
        )
        for name in (
            "idea-confirm",
            "follow-confirm",
            "unsubscribe",
            "team-unsubscribe",
            "alert-confirm",
            "alert-unsubscribe",
            "feedback-confirm",
        )
        for method in ("GET", "POST")
    },
    # The photo of the pin a confirmation link names: a bad token is a 404, as a pin's photo.
    ("idea-confirm-photo", "GET"): Endpoint(
        EVERYONE, path={"token": "forged"}, path_refusals=(404,), valid=False
    ),
    # --- "Is it really fixed?": residents' verdicts on a closed pin ---
    ("idea-feedback", "POST"): Endpoint(
        EVERYONE,
        path=CLOSED_PIN,
        body=FEEDBACK,
        files=("photo",),
        fresh=True,
    ),
    ("api-idea-feedback", "POST"): Endpoint(
        EVERYONE,
        path=CLOSED_PIN,
        body=FEEDBACK,
        encoding="json+multipart",
        files=("photo",),
        fresh=True,
    ),
    # The page an "Is it fixed?" email's links open; a token never sent is a 404.
    ("fix-check", "GET"): Endpoint(
        EVERYONE, path={"token": fix_check_token}, query={"answer": "no"}
    ),
    ("fix-check", "POST"): Endpoint(
        EVERYONE,
        path={"token": fix_check_token},
        body={"answer": "no", "note": "The bench still wobbles.", "photo": ABSENT},
        files=("photo",),
    ),
    ("alerts", "POST"): Endpoint(
        EVERYONE,
        body={
            "email": "ann@mail.example",
            "frequency": "immediate",
            "neighborhood": "",
            "latitude": str(LAT),
            "longitude": str(LON),
            "radius_m": "500",
        },
    ),
    # --- Accounts ---
    ("login", "GET"): Endpoint((ANONYMOUS,), query={"next": "/alerts/"}),
    ("login", "POST"): Endpoint(
        (ANONYMOUS,),
        body={"username": "cindy", "password": "not-the-password", "next": "/alerts/"},
    ),
    ("signup", "GET"): Endpoint((ANONYMOUS,), query={"next": "/alerts/"}),
    ("signup", "POST"): Endpoint(
        (ANONYMOUS,),
        query={"next": "/alerts/"},
        body={
            "username": lambda o: f"person{o['serial']}",
            "email": unique_email,
            "next": "/alerts/",
        },
    ),
    # The wrong password: the account must outlive the test (and it stores no text); a 400
    # naming the password whatever is sent.
    ("account-delete", "POST"): Endpoint(
        SIGNED_IN, body={"password": "not-the-password"}, valid=False
    ),
    ("signup-confirm", "GET"): Endpoint(
        (ANONYMOUS,), path={"uid": "1", "token": "forged"}, path_refusals=(400, 404), valid=False
    ),
    ("signup-confirm", "POST"): Endpoint(
        (ANONYMOUS,),
        path={"uid": "1", "token": "forged"},
        body={"password": "a long enough password 1", "password_again": "a long enough password 1"},
        path_refusals=(400, 404),
        valid=False,
    ),
    ("set_language", "POST"): Endpoint(EVERYONE, body={"language": "fr", "next": "/alerts/"}),
    # --- District teams ---
    ("team-workspace", "GET"): Endpoint(
        TEAM,
        path={"slug": "east-team"},
        query={
            "q": "swing",
            "status": "new",
            "category": "parks-green-space",
            "kind": "issue",
            "neighborhood": "east-side",
            "assignee": "eddie",
            "created_after": "2000-01-01",
            "created_before": "2999-12-31",
            "overdue": "",
            "disputed": "",
            "reopened": "",
            "sort": "newest",
            "page": "1",
        },
    ),
    ("team-workspace", "POST"): Endpoint(TEAM, path={"slug": "east-team"}),
    ("team-bulk", "POST"): Endpoint(
        TEAM,
        path={"slug": "east-team"},
        body={
            "ideas": pin,
            "action": "status",
            "status": "acknowledged",
            "answer": "Seen by the team.",
            "template": lambda o: str(o["template"].pk),
            "assignee": "eddie",
            "query": "status=new",
        },
        fresh=True,
    ),
    # A team's response templates (mapideas.answers).
    ("answer-templates", "GET"): Endpoint(TEAM, path={"slug": "east-team"}),
    ("answer-template-new", "GET"): Endpoint(TEAM, path={"slug": "east-team"}),
    ("answer-template-new", "POST"): Endpoint(TEAM, path={"slug": "east-team"}, body=TEMPLATE_FORM),
    ("answer-template-edit", "GET"): Endpoint(TEAM, path=TEMPLATE),
    ("answer-template-edit", "POST"): Endpoint(TEAM, path=TEMPLATE, body=TEMPLATE_FORM, fresh=True),
    ("answer-template-delete", "POST"): Endpoint(TEAM, path=TEMPLATE, fresh=True),
    ("team-offline-input", "GET"): Endpoint(TEAM, path={"slug": "east-team"}, query={"saved": pin}),
    ("team-offline-input", "POST"): Endpoint(
        TEAM,
        path={"slug": "east-team"},
        body={
            **PIN_FORM,
            "channel": "phone",
            "event_name": "Town hall",
            "gathered_on": "2024-05-01",
            "contact_name": "Ann",
            "contact_email": "ann@mail.example",
            "contact_phone": "+32 2 555 01 01",
            "send_follow_link": "",
        },
        files=("photo",),
    ),
    ("idea-status", "POST"): Endpoint(
        TEAM,
        path=PIN,
        body={
            "status": "acknowledged",
            "answer": "Seen.",
            "template": lambda o: str(o["template"].pk),
            "photo_before": ABSENT,
            "photo_after": ABSENT,
        },
        files=("photo_before", "photo_after"),
        fresh=True,
    ),
    ("idea-note", "POST"): Endpoint(
        TEAM, path=PIN, body={"text": "Ask the parks crew."}, fresh=True
    ),
    ("idea-assign", "POST"): Endpoint(TEAM, path=PIN, body={"assignee": "eddie"}, fresh=True),
    ("idea-duplicate", "POST"): Endpoint(
        TEAM,
        path=PIN,
        body={"duplicate_of": lambda o: str(o["original"].pk), "answer": "Same swing."},
        fresh=True,
    ),
    ("idea-reassign", "POST"): Endpoint(
        TEAM, path=PIN, body={"team": "west-team", "reason": "Not ours."}, fresh=True
    ),
    ("api-idea-status", "POST"): Endpoint(
        TEAM,
        path=PIN,
        body={"status": "acknowledged", "public_answer": "Seen.", "duplicate_of": ABSENT},
        encoding="json",
        fresh=True,
    ),
    ("api-idea-notes", "GET"): Endpoint(TEAM, path=PIN),
    ("api-idea-notes", "POST"): Endpoint(
        TEAM, path=PIN, body={"text": "Ask the parks crew."}, encoding="json", fresh=True
    ),
    ("moderation-decide", "POST"): Endpoint(
        TEAM, path=PIN, body={"decision": "keep", "reason": "Fine."}, fresh=True
    ),
    # The check queue: closed pins residents dispute, and the team's decisions.
    ("check-queue", "GET"): Endpoint(TEAM, path={"slug": "east-team"}),
    ("check-reopen", "POST"): Endpoint(
        TEAM, path=CHECK, body={"answer": "We go back."}, fresh=True
    ),
    ("check-keep-closed", "POST"): Endpoint(
        TEAM, path=CHECK, body={"answer": "It was repaired on Monday."}, fresh=True
    ),
    ("check-dismiss", "POST"): Endpoint(
        TEAM, path={**CHECK, "feedback_pk": lambda o: str(o["dispute"].pk)}, fresh=True
    ),
    # The dispute has no photo: a 404 whatever the path says.
    ("dispute-photo", "GET"): Endpoint(TEAM, path={"photo_pk": "1"}, valid=False),
    # --- Open311 ---
    **{
        (f"open311-requests-{suffix}", "GET"): Endpoint(EVERYONE, query=OPEN311_QUERY)
        for suffix in ("json", "xml")
    },
    **{
        (f"open311-requests-{suffix}", "POST"): Endpoint(
            (ANONYMOUS,), body=OPEN311_POST, headers=IDEMPOTENCY, encoding="form+json"
        )
        for suffix in ("json", "xml")
    },
    **{
        (f"open311-request-{suffix}", "GET"): Endpoint(
            EVERYONE, path={"service_request_id": pin}, query={"jurisdiction_id": ""}
        )
        for suffix in ("json", "xml")
    },
    **{
        (f"open311-services-{suffix}", "GET"): Endpoint(EVERYONE, query={"jurisdiction_id": ""})
        for suffix in ("json", "xml")
    },
    **{
        (f"open311-service-{suffix}", "GET"): Endpoint(
            EVERYONE, path={"service_code": "parks-green-space"}, query={"jurisdiction_id": ""}
        )
        for suffix in ("json", "xml")
    },
    # --- Planners and GIS tools ---
    **{
        (f"api-engagement-{layer}", "GET"): Endpoint(EVERYONE, query={**ENGAGEMENT, **extra})
        for layer, extra in (
            ("neighborhoods", {}),
            ("hexagons", {"resolution": "8"}),
            ("coldspots", {"weights": "queen", "alpha": "0.05"}),
            ("outreach", {"limit": "20"}),
            ("representativeness", {"attribute": "median_income"}),
        )
    },
    **{
        (f"api-engagement-{name}", "GET"): Endpoint(EVERYONE, query={**PIN_FILTERS_CITY, **extra})
        for name, extra in (
            ("service-neighborhoods", {"min_count": "10"}),
            ("service-teams", {"min_count": "10"}),
            ("service-hexagons", {"min_count": "10", "resolution": "8"}),
            ("slowspots", {"min_count": "10", "alpha": "0.05"}),
            ("slowspots-hexagons", {"min_count": "10", "alpha": "0.05", "resolution": "8"}),
        )
    },
    ("export-layer", "GET"): Endpoint(
        EVERYONE,
        path={"layer": "ideas", "extension": "geojson"},
        query={
            **PIN_FILTERS,
            "lang": "fr",
            "thin_below": "0.5",
            "trend_days": "30",
            "resolution": "8",
            "weights": "queen",
            "alpha": "0.05",
            "limit": "20",
            "min_count": "10",
            "attribute": "median_income",
        },
    ),
    ("export-layer", "POST"): Endpoint(EVERYONE, path={"layer": "ideas", "extension": "csv"}),
    ("planner", "GET"): Endpoint(
        PLANNERS,
        query={
            **{k: v for k, v in ENGAGEMENT.items() if k != "trend_days"},
            "resolution": "8",
            "bbox": "",
            "neighborhood": "",
            "team": "",
        },
    ),
    ("boundaries", "POST"): Endpoint(
        PLANNERS,
        body={
            "file": lambda o: o["boundary_file"],
            "name_field": "name",
            "team_field": "",
            "population_field": "",
            "priority_field": "",
            "source_srid": "",
            "repair": "on",
        },
        files=("file",),
    ),
    ("boundaries-commit", "POST"): Endpoint(PLANNERS, body={"token": "none-staged"}),
    ("boundary-activate", "POST"): Endpoint(
        PLANNERS, path={"pk": lambda o: str(o["version"].pk)}, body={"reason": "Back."}
    ),
    # Hand-offs to an outside body: the team's forms on the pin's page (a fresh pin with a
    # reported hand-off each; a spare one with none, to hand), and the body's pages behind the
    # emailed link (its id and token).
    ("handoff-create", "POST"): Endpoint(
        TEAM,
        path={"pk": lambda o: str(o["spare"].pk)},
        body={
            "body_name": "Gas Co",
            "body_email": "works@gas.example",
            "message": "Fix the valve.",
            "days": "14",
        },
        fresh=True,
    ),
    ("handoff-approve", "POST"): Endpoint(
        TEAM, path=HANDOFF, body={"answer": "Done by the water works."}, fresh=True
    ),
    ("handoff-return", "POST"): Endpoint(
        TEAM, path=HANDOFF, body={"note": "It still drips."}, fresh=True
    ),
    ("handoff-withdraw", "POST"): Endpoint(TEAM, path=HANDOFF, fresh=True),
    # The hand-off has no photo: a 404 whatever the path says.
    ("handoff-photo", "GET"): Endpoint(TEAM, path=HANDOFF, valid=False),
    ("handoff-page", "GET"): Endpoint(EVERYONE, path=HANDOFF_LINK),
    ("handoff-accept", "POST"): Endpoint(EVERYONE, path=HANDOFF_LINK),
    ("handoff-report", "POST"): Endpoint(
        EVERYONE,
        path=HANDOFF_LINK,
        body={"comment": "Valve replaced.", "photo": ABSENT},
        files=("photo",),
    ),
    ("audit-log", "GET"): Endpoint(PLANNERS, query=AUDIT_FILTERS),
    ("audit-export", "GET"): Endpoint(PLANNERS, query=AUDIT_FILTERS),
    # Webhooks: site staff. The receiver checked has a public address given as a literal
    # (no DNS); the one pinged is at a documentation address, refused with no network.
    ("webhook-list", "GET"): Endpoint(PLANNERS),
    ("webhook-list", "POST"): Endpoint(PLANNERS, body=WEBHOOK_FORM),
    ("webhook-detail", "GET"): Endpoint(PLANNERS, path=WEBHOOK),
    ("webhook-detail", "POST"): Endpoint(PLANNERS, path=WEBHOOK, body=WEBHOOK_FORM, fresh=True),
    ("webhook-ping", "POST"): Endpoint(PLANNERS, path=WEBHOOK),
    ("webhook-retry", "POST"): Endpoint(PLANNERS, path=WEBHOOK),
    ("webhook-rotate", "POST"): Endpoint(PLANNERS, path=WEBHOOK),
    ("webhook-delete", "POST"): Endpoint(PLANNERS, path=WEBHOOK, fresh=True),
    # Back offices: site staff set them up (the one read is at a documentation address,
    # refused with no network); the team acts on its forwards (fresh ones each time).
    ("backoffice-list", "GET"): Endpoint(PLANNERS),
    ("backoffice-list", "POST"): Endpoint(
        PLANNERS, body={**BACKOFFICE_SETTINGS, "team": fresh_team, "category": ""}
    ),
    ("backoffice-detail", "GET"): Endpoint(PLANNERS, path=BACKOFFICE),
    ("backoffice-detail", "POST"): Endpoint(
        PLANNERS, path=BACKOFFICE, body={**BACKOFFICE_SETTINGS, "active": "on"}
    ),
    ("backoffice-services", "POST"): Endpoint(PLANNERS, path=BACKOFFICE),
    ("backoffice-mapping", "POST"): Endpoint(PLANNERS, path=BACKOFFICE, body=BACKOFFICE_MAPPING),
    ("backoffice-teams", "GET"): Endpoint(TEAM),
    ("backoffice-team", "GET"): Endpoint(TEAM, path={"slug": "east-team"}),
    ("backoffice-forward-retry", "POST"): Endpoint(TEAM, path=HELD_FORWARD, fresh=True),
    ("backoffice-forward-found", "POST"): Endpoint(
        TEAM, path=HELD_FORWARD, body={"remote_id": "WO-1"}, fresh=True
    ),
    ("backoffice-forward-left-closed", "POST"): Endpoint(TEAM, path=LEFT_FORWARD, fresh=True),
    ("backoffice-forward-erasure-done", "POST"): Endpoint(TEAM, path=HELD_FORWARD, fresh=True),
    ("backoffice-export", "GET"): Endpoint(PLANNERS),
    ("ogc-landing", "GET"): Endpoint(EVERYONE, query={"f": "json"}, headers=OGC_ACCEPT),
    ("ogc-conformance", "GET"): Endpoint(EVERYONE, query={"f": "json"}, headers=OGC_ACCEPT),
    ("ogc-collections", "GET"): Endpoint(EVERYONE, query={"f": "json"}, headers=OGC_ACCEPT),
    ("ogc-collection", "GET"): Endpoint(
        EVERYONE, path={"collectionId": "ideas"}, query={"f": "json"}, headers=OGC_ACCEPT
    ),
    ("ogc-items", "GET"): Endpoint(
        EVERYONE, path={"collectionId": "ideas"}, query=OGC_ITEMS, headers=OGC_ACCEPT
    ),
    ("ogc-feature", "GET"): Endpoint(
        EVERYONE,
        path={"collectionId": "ideas", "featureId": pin},
        query=OGC_FEATURE,
        headers=OGC_ACCEPT,
    ),
}

# The forms of the rooms, and the endpoints that bind each; [] for a base class, bound only
# through its subclasses.
FORM_ENDPOINTS: dict[str, list[tuple[str, str]]] = {
    "geodata.imports.forms.BoundaryActivateForm": [("boundary-activate", "POST")],
    "geodata.imports.forms.BoundaryUploadForm": [("boundaries", "POST")],
    "geodata.planner.page.PlannerForm": [("planner", "GET")],
    "mapideas.accounts.forms.EraseAccountForm": [("account-delete", "POST")],
    "mapideas.answers.forms.TemplateForm": [
        ("answer-template-new", "POST"),
        ("answer-template-edit", "POST"),
    ],
    "mapideas.accounts.forms.SignupForm": [("signup", "POST")],
    "mapideas.accounts.forms.SignupPasswordForm": [("signup-confirm", "POST")],
    "mapideas.alerts.views.AlertForm": [("alerts", "POST")],
    "mapideas.backoffice.forms._EndpointSettings": [],
    "mapideas.backoffice.forms.EndpointForm": [("backoffice-list", "POST")],
    "mapideas.backoffice.forms.EndpointEditForm": [("backoffice-detail", "POST")],
    "mapideas.backoffice.forms.FoundForm": [("backoffice-forward-found", "POST")],
    "mapideas.backoffice.forms.MappingForm": [("backoffice-mapping", "POST")],
    "mapideas.handoffs.forms.HandoffApproveForm": [("handoff-approve", "POST")],
    "mapideas.handoffs.forms.HandoffForm": [("handoff-create", "POST")],
    "mapideas.handoffs.forms.HandoffReportForm": [("handoff-report", "POST")],
    "mapideas.handoffs.forms.HandoffReturnForm": [("handoff-return", "POST")],
    "mapideas.moderation.forms.FlagForm": [("idea-flag", "POST")],
    "mapideas.moderation.forms.ModerationDecisionForm": [("moderation-decide", "POST")],
    "mapideas.participation.forms.CommentForm": [("comment-add", "POST")],
    "mapideas.participation.forms.FollowForm": [("idea-follow", "POST")],
    "mapideas.participation.forms.HideCommentForm": [("comment-hide", "POST")],
    "mapideas.outcomes.fix_check_views.FixAnswerForm": [("fix-check", "POST")],
    "mapideas.outcomes.forms.FeedbackForm": [("idea-feedback", "POST")],
    "mapideas.outcomes.forms.KeepClosedForm": [("check-keep-closed", "POST")],
    "mapideas.outcomes.forms.ReopenForm": [("check-reopen", "POST")],
    "mapideas.plumbing.forms._PageForm": [],
    "mapideas.submission.forms.CitizenIdeaForm": [("home", "POST")],
    "mapideas.audit.forms.AuditFilterForm": [("audit-log", "GET"), ("audit-export", "GET")],
    "mapideas.webhooks.forms.EndpointForm": [("webhook-list", "POST"), ("webhook-detail", "POST")],
    "mapideas.submission.forms.IdeaForm": [],
    "mapideas.workflow.forms.AssignForm": [("idea-assign", "POST")],
    "mapideas.workflow.forms.BulkForm": [("team-bulk", "POST")],
    "mapideas.workflow.forms.DuplicateForm": [("idea-duplicate", "POST")],
    "mapideas.workflow.forms.NoteForm": [("idea-note", "POST")],
    "mapideas.workflow.forms.OfflineIdeaForm": [("team-offline-input", "POST")],
    "mapideas.workflow.forms.QueueFilterForm": [("team-workspace", "GET")],
    "mapideas.workflow.forms.ReassignForm": [("idea-reassign", "POST")],
    "mapideas.workflow.forms.StatusForm": [("idea-status", "POST")],
    # The admin's base for translated names (neighborhoods.translated_names): Django's admin.
    "neighborhoods.translated_names._TranslatedNameFormBase": [],
}

OGC_OPERATIONS = [
    (name, "GET")
    for name in (
        "ogc-landing",
        "ogc-conformance",
        "ogc-collections",
        "ogc-collection",
        "ogc-items",
        "ogc-feature",
    )
]
OPEN311_READS = [
    (f"open311-{name}-{suffix}", "GET")
    for name in ("requests", "request", "services", "service")
    for suffix in ("json", "xml")
]
# Parameters read by name from the request (parameter_inventory.direct_reads), by file.
DIRECT_READS: dict[tuple[str, str], list[tuple[str, str]]] = {
    ("geodata/exports/views.py", "lang"): [("export-layer", "GET")],
    ("geodata/imports/views.py", "token"): [("boundaries-commit", "POST")],
    ("geodata/ogc/views.py", "Accept"): OGC_OPERATIONS,
    # The audit log's page number (its filters are the form's).
    ("mapideas/audit/views.py", "page"): [("audit-log", "GET")],
    ("mapideas/accounts/views.py", "next"): [("signup", "GET"), ("signup", "POST")],
    ("mapideas/open311/views.py", "Idempotency-Key"): [
        ("open311-requests-json", "POST"),
        ("open311-requests-xml", "POST"),
    ],
    ("mapideas/open311/views.py", "jurisdiction_id"): OPEN311_READS
    + [("open311-requests-json", "POST"), ("open311-requests-xml", "POST")],
    # The link clicked in an "Is it fixed?" email puts its answer first.
    ("mapideas/outcomes/fix_check_views.py", "answer"): [("fix-check", "GET")],
    # The login limit counts per username (Django's LoginView reads the form).
    ("mapideas/outcomes/views.py", "verdict"): [("idea-feedback", "POST")],
    ("mapideas/plumbing/ratelimit.py", "username"): [("login", "POST")],
    ("mapideas/submission/api.py", "Idempotency-Key"): [("api-ideas", "POST")],
    ("mapideas/workflow/views.py", "page"): [("team-workspace", "GET")],
    ("mapideas/workflow/views.py", "query"): [("team-bulk", "POST")],
    ("mapideas/workflow/views.py", "saved"): [("team-offline-input", "GET")],
}
# Django's own views read these (django.views.i18n.set_language, LoginView).
DJANGO_VIEW_READS: set[inventory.Parameter] = {
    ("set_language", "POST", "language"),
    ("set_language", "POST", "next"),
    ("login", "GET", "next"),
    ("login", "POST", "next"),
    ("login", "POST", "password"),
}


def driven() -> set[inventory.Parameter]:
    """Every (endpoint, method, parameter) the property test drives."""
    return {
        (name, method, parameter)
        for (name, method), endpoint in TABLE.items()
        for parameter in endpoint.parameters()
    }


def missing(found: set[inventory.Parameter], source: str) -> None:
    absent = sorted(found - driven())
    assert not absent, (
        f"parameters found in {source} that the property test does not drive: "
        + ", ".join(f"{m} {n} {p!r}" for n, m, p in absent)
        + ". Add each to TABLE in tests/test_every_parameter.py, with a valid value, "
        "the roles that reach it and how it travels."
    )


# --- The meta-tests ----------------------------------------------------------------------------


def test_every_path_parameter_of_the_urlconf_is_driven():
    missing(inventory.urlconf_parameters(), "the URLconf's path converters")


def test_the_table_names_only_endpoints_the_urlconf_serves():
    unknown = set(TABLE) - inventory.operations()
    assert not unknown, f"TABLE rows for no URL pattern and method: {sorted(unknown)}"


def test_every_parameter_of_the_openapi_schema_is_driven():
    missing(inventory.openapi_parameters(), "the OpenAPI schema the code generates")


def test_every_form_class_is_mapped_to_its_endpoints():
    found = set(inventory.form_classes())
    unmapped = sorted(found - set(FORM_ENDPOINTS))
    assert not unmapped, (
        f"form classes with no endpoint: {unmapped}; add each to FORM_ENDPOINTS in "
        "tests/test_every_parameter.py with the (url name, method) that binds it"
    )
    assert not set(FORM_ENDPOINTS) - found, "FORM_ENDPOINTS names a form that no longer exists"


def test_every_field_of_every_form_is_driven():
    missing(inventory.form_parameters(FORM_ENDPOINTS), "the forms' fields")


def test_every_parameter_read_by_name_is_driven():
    reads = inventory.direct_reads()
    unmapped = sorted(reads - set(DIRECT_READS))
    assert not unmapped, (
        f"parameters read from the request by name, not yet in DIRECT_READS: {unmapped}; "
        "add each with the endpoints that read it (tests/test_every_parameter.py)"
    )
    assert not set(DIRECT_READS) - reads, "DIRECT_READS names a read that no longer exists"
    missing(
        {(n, m, p) for (_file, p), endpoints in DIRECT_READS.items() for n, m in endpoints},
        "the request reads of the source",
    )
    missing(DJANGO_VIEW_READS, "Django's own views")


def test_every_parameter_of_the_whole_query_readers_is_driven():
    missing(inventory.whole_query_parameters(), "the filter set and the engagement parameters")


# Pages rendered for the inventory of their <form>s, as the roles that see their forms.
PAGES: list[tuple[str, Callable[[dict], str]]] = [
    (ANONYMOUS, lambda o: "/"),
    (CITIZEN, lambda o: "/"),
    (ANONYMOUS, lambda o: f"/ideas/{o['pin'].pk}/"),
    (CITIZEN, lambda o: f"/ideas/{o['pin'].pk}/"),
    (MEMBER, lambda o: f"/ideas/{o['pin'].pk}/"),
    (STAFF, lambda o: f"/ideas/{o['pin'].pk}/"),
    (MEMBER, lambda o: f"/ideas/{o['spare'].pk}/"),  # the form to hand it over
    (ANONYMOUS, lambda o: f"/handoffs/{o['handoff'].pk}/{o['handoff_token']}/"),
    (ANONYMOUS, lambda o: f"/ideas/{o['closed'].pk}/"),
    (CITIZEN, lambda o: f"/ideas/{o['closed'].pk}/"),
    (ANONYMOUS, lambda o: f"/ideas/fixed/{fix_check_token(o)}/"),
    (ANONYMOUS, lambda o: "/alerts/"),
    (ANONYMOUS, lambda o: "/accounts/login/"),
    (ANONYMOUS, lambda o: "/accounts/signup/"),
    (CITIZEN, lambda o: "/accounts/delete/"),
    (CITIZEN, lambda o: "/accounts/my-data/"),
    (MEMBER, lambda o: "/teams/"),
    (MEMBER, lambda o: "/teams/east-team/"),
    (STAFF, lambda o: "/teams/east-team/"),
    (MEMBER, lambda o: "/teams/east-team/checks/"),
    (MEMBER, lambda o: "/teams/east-team/offline/"),
    (MEMBER, lambda o: "/staff/moderation/"),
    (STAFF, lambda o: "/staff/moderation/"),
    (STAFF, lambda o: "/staff/boundaries/"),
    (STAFF, lambda o: "/planner/"),
    (STAFF, lambda o: "/staff/backoffice/"),
    (STAFF, lambda o: f"/staff/backoffice/{o['backoffice'].pk}/"),
    (MEMBER, lambda o: "/staff/backoffice/teams/east-team/"),
]


def test_every_input_of_every_page_form_is_driven(world):
    # Every object made, so that every page shows the forms it shows for them.
    objects = world.objects()
    for key in objects.makers:
        objects[key]
    pages = []
    for role, url in PAGES:
        response = world.client(role).get(url(world.objects()))
        assert response.status_code == 200, (role, url(world.objects()), response.status_code)
        pages.append((url(world.objects()), response.content.decode()))
    missing(inventory.page_form_parameters(pages), "the pages' <form>s")


# --- The world the requests go to ----------------------------------------------------------------


class Lazily(dict):
    """Objects made when first read, each by its maker (given this mapping, to read what it
    hangs on), then kept."""

    def __init__(self, makers: dict[str, Callable[["Lazily"], object]], made=None) -> None:
        super().__init__(made or {})
        self.makers = makers

    def __missing__(self, key: str) -> object:
        value = self.makers[key](self)
        self.setdefault(key, value)
        return self[key]


class World:
    """The city, one person per role, an Open311 key, and pins to act on."""

    def __init__(self, city, category, make_user):
        self.category = category
        self.city = city
        self.users = {
            CITIZEN: make_user("cindy"),
            MEMBER: make_user("eddie", teams=[city.east_team]),
            STAFF: get_user_model().objects.create_superuser("root", password="pw-for-tests"),
        }
        self.open311_key = open311_client_create(name="Fuzzer").key
        self.serial = 0
        self._webhook: WebhookEndpoint | None = None
        # East Team's back office, forwarding pins from a date to come (none is queued by the
        # requests), with a service whose definition requires a value, mapped.
        self.backoffice = BackofficeEndpoint.objects.create(
            team=city.east_team,
            name="City works orders",
            base_url="https://192.0.2.1/open311/",
            forward_from=timezone.now() + timedelta(days=3650),
            services=[
                {
                    "service_code": "TREE",
                    "service_name": "Fallen tree",
                    "metadata": True,
                    "attributes": [
                        {
                            "code": "crew",
                            "required": True,
                            "datatype": "string",
                            "description": "Which crew goes",
                            "values": [],
                        }
                    ],
                }
            ],
            service_codes={"parks-green-space": "TREE"},
            attribute_values={"TREE": {"crew": "North crew"}},
        )
        self._forwards: dict | None = None
        self._pin = self._fresh()
        # The moderation queue shows its decision form for a flagged pin.
        idea_flag(idea=self._pin["pin"], reason=Flag.Reason.SPAM, user=self.users[CITIZEN])

    def _fresh(self, original: Idea | None = None) -> "Lazily":
        """Pins and what hangs on them, each made when a request first names it: a fresh
        world per request (`Endpoint.fresh`) then costs only what its endpoint reads."""
        category, member = self.category, self.users[MEMBER]

        def issue(title: str) -> Callable[[Lazily], Idea]:
            return lambda o: idea_create(
                kind="issue", title=title, category=category, location=IN_EAST
            )

        def closed(o: Lazily) -> Idea:
            # A pin marked done, which one resident says is still there (in the check queue).
            made = issue("Bench")(o)
            idea_status_change(idea=made, status=Idea.Status.DONE, answer="Repaired.", actor=member)
            o["dispute"] = feedback_give(
                idea=made,
                verdict="still_there",
                source="fix_check",
                person_hash=f"resident-{made.pk}",
                confirmed=True,
            ).feedback
            return made

        def handoff(o: Lazily):
            # A reported hand-off of the pin, for the team to review.
            made, o["handoff_token"] = handoffs.handoff_create(
                idea=o["pin"],
                body_name="City Water Works",
                body_email="works@water.example",
                actor=member,
            )
            handoffs.handoff_report(handoff=made, comment="Valve replaced.")
            return made

        return Lazily(
            {
                "pin": issue("Swing"),
                "original": (lambda o: original) if original else issue("Swing 1"),
                "comment": lambda o: comment_add(
                    idea=o["pin"], author=self.users[CITIZEN], text="Rude words"
                ),
                "closed": closed,
                "dispute": lambda o: (o["closed"], o["dispute"])[1],
                "handoff": handoff,
                "handoff_token": lambda o: (o["handoff"], o["handoff_token"])[1],
                # A pin with no hand-off.
                "spare": issue("Hydrant"),
                # A template of the pin's team, for any category (no status: it answers
                # nothing by itself).
                "template": lambda o: template_save(
                    team=self.city.east_team,
                    actor=member,
                    name=f"Seen {o['pin'].pk}",
                    texts={"en": "Seen: {title} in {place}."},
                ),
            }
        )

    def objects(self, *, fresh: bool = False) -> "Lazily":
        self.serial += 1
        # The original of a duplicate stays: a merge into it changes nothing it is checked on.
        pins = self._fresh(self._pin["original"]) if fresh else self._pin
        if fresh or self._webhook is None:
            # Its address is refused (a documentation network): pinging it needs no network.
            webhook = WebhookEndpoint.objects.create(
                url="https://192.0.2.1/hook", events=["pin.created"], secret_salt="s" * 64
            )
            self._webhook = self._webhook or webhook
        else:
            webhook = self._webhook
        if fresh or self._forwards is None:
            forwards = self._forwards_of(pins)
            self._forwards = self._forwards or forwards
        else:
            forwards = self._forwards
        return Lazily(
            {
                **{key: (lambda o, key=key: forwards[key]) for key in forwards.makers},
                **{key: (lambda o, key=key: pins[key]) for key in pins.makers},
                # An account in the audit log (the member closed a pin): the log's actor filter.
                "staff_id": lambda o: (o["closed"], self.users[MEMBER].pk)[1],
            },
            {
                "backoffice": self.backoffice,
                "serial": self.serial,
                "open311_key": self.open311_key,
                "version": BoundaryVersion.objects.get(is_active=True),
                "boundary_file": BOUNDARY_FILE,
                "webhook": webhook,
            },
        )

    def _forwards_of(self, pins: "Lazily") -> "Lazily":
        """A pin held for a check at the back office, whose citizen asked for their contact
        to be erased there, and one left behind there when it moved."""
        return Lazily(
            {
                "held_forward": lambda o: BackofficeForward.objects.create(
                    endpoint=self.backoffice,
                    idea=pins["spare"],
                    state=BackofficeForward.State.HELD,
                    held_reason="Check there.",
                    sent_contact=True,
                    erasure_requested_at=timezone.now(),
                ),
                "left_forward": lambda o: BackofficeForward.objects.create(
                    endpoint=self.backoffice,
                    idea=pins["closed"],
                    state=BackofficeForward.State.LEFT,
                    remote_id="WO-7",
                    left_at=timezone.now(),
                ),
            }
        )

    def client(self, role: str) -> Client:
        client = Client()
        if role != ANONYMOUS:
            client.force_login(self.users[role])
        return client


BOUNDARY_FILE = json.dumps(
    {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": "Pond"},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[4.0, 50.0], [4.01, 50.0], [4.01, 50.01], [4.0, 50.0]]],
                },
            }
        ],
    }
).encode()


@pytest.fixture
def world(city, category, make_user, settings) -> World:
    settings.MAPIDEAS_RATE_LIMITS = False
    return World(city, category, make_user)


# --- Requests, built by hand so that any byte can travel --------------------------------------


def as_bytes(value: Value) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, Raw):
        return value.token.encode()
    if isinstance(value, dict | list):
        value = json.dumps(value)
    # A lone surrogate goes as the bytes it would be: not UTF-8, as a client could send it.
    return str(value).encode("utf-8", "surrogatepass")


def url_encoded(values: dict[str, Value]) -> str:
    return "&".join(
        f"{quote(name)}={quote_from_bytes(as_bytes(value), safe='')}"
        for name, value in values.items()
    )


BOUNDARY = "----mapideas-fuzz-boundary"


def multipart(values: dict[str, Value], files: tuple[str, ...]) -> bytes:
    parts = []
    for name, value in values.items():
        if name in files:
            head = f'Content-Disposition: form-data; name="{name}"; filename="upload.geojson"\r\n'
            head += "Content-Type: application/octet-stream\r\n"
        else:
            head = f'Content-Disposition: form-data; name="{name}"\r\n'
        parts.append(f"--{BOUNDARY}\r\n{head}\r\n".encode() + as_bytes(value) + b"\r\n")
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def json_body(values: dict[str, Value]) -> bytes:
    """JSON as a client could send it: tokens JSON has not (NaN) or numbers beyond a double
    (`1e309`) as they are, bytes that are not UTF-8 inside a string as they are."""
    raw: dict[str, bytes] = {}
    plain = {}
    for name, value in values.items():
        if isinstance(value, bytes | Raw):
            raw[name] = b'"' + value + b'"' if isinstance(value, bytes) else as_bytes(value)
            plain[name] = f"@@{name}@@"
        else:
            plain[name] = value
    body = json.dumps(plain).encode()
    for name, value in raw.items():
        body = body.replace(f'"@@{name}@@"'.encode(), value)
    return body


def is_json(body: bytes) -> bool:
    """Whether `body` is JSON (RFC 8259: UTF-8, no NaN or Infinity)."""

    def no_constants(token: str):
        raise ValueError(token)

    try:
        json.loads(body.decode("utf-8"), parse_constant=no_constants)
    except ValueError:
        return False
    return True


def path_of(name: str, values: dict[str, Value]) -> str:
    route = inventory.url_patterns()[name][0]
    if route.startswith("^"):  # a regular expression (the exports' layer.format)
        route = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<\1>", route).strip("^$").replace("\\.", ".")
    return "/" + re.sub(
        r"<(?:\w+:)?(\w+)>",
        lambda m: quote_from_bytes(as_bytes(values[m.group(1)]), safe=""),
        route,
    )


def send(client, name: str, method: str, endpoint: Endpoint, o: dict, hostile: dict, encoding):
    """The valid request with `hostile` values in place of the valid ones; the response and
    the body sent."""

    def given(base: dict[str, Base], where: str) -> dict[str, Value]:
        values = {k: (v(o) if callable(v) else v) for k, v in base.items()}
        for parameter, value in hostile.items():
            if endpoint.parameters()[parameter] == where:
                values[parameter] = value
        return {k: v for k, v in values.items() if v is not ABSENT}

    path = path_of(name, given(endpoint.path, "path"))
    query = url_encoded(given(endpoint.query, "query"))
    url = f"{path}?{query}" if query else path
    headers = {
        f"HTTP_{k.upper().replace('-', '_')}": as_bytes(v).decode("latin-1")
        for k, v in given(endpoint.headers, "header").items()
    }
    if method == "GET":
        return client.get(url, **headers), b""
    body = given(endpoint.body, "body")
    if encoding == "json":
        sent = json_body(body)
        return client.post(url, sent, content_type="application/json", **headers), sent
    if encoding == "multipart":
        sent = multipart(body, endpoint.files)
        content_type = f"multipart/form-data; boundary={BOUNDARY}"
        return client.post(url, sent, content_type=content_type, **headers), sent
    sent = url_encoded(body).encode()
    content_type = "application/x-www-form-urlencoded"
    return client.post(url, sent, content_type=content_type, **headers), sent


# --- What an answer must be ----------------------------------------------------------------


def names(response, parameter: str) -> bool:
    """Whether a 4xx names the parameter: a key of DRF's errors, `parameter: ...` in an
    Open311 or OGC description or a plain-text answer, or the error next to the field on a
    page (`id_<parameter>_error`)."""
    content_type = response.get("Content-Type", "")
    text = response.content.decode("utf-8", "replace")
    said = re.compile(rf"(?<![\w-]){re.escape(parameter)}: ")
    if "json" in content_type:
        body = response.json()
        if isinstance(body, dict) and parameter in body:
            return True
        return bool(said.search(json.dumps(body, ensure_ascii=False)))
    if "html" in content_type:
        # id_<name>_error, id_<prefix>-<name>_error, or <name>-<pk>_error (one form per row).
        tied = rf'id="(?:id_(?:\w+-)?)?{re.escape(parameter)}(?:-\d+)?_error"'
        if re.search(tied, text) or said.search(text):
            return True
        # An error shown with its field but not tied to it by id (the radio buttons' fieldset):
        # the form in the page's context holds it, and the page shows it.
        for form in forms_of(response):
            if parameter in form.errors:
                shown = escape(form.errors[parameter][0])
                return shown in text or shown.replace("&#x27;", "'") in text
        return False
    return bool(said.search(text))


def forms_of(response) -> list:
    from django.forms import BaseForm

    found = []
    for context in response.context or []:
        for value in context.flatten().values() if hasattr(context, "flatten") else []:
            if isinstance(value, BaseForm) and value.is_bound:
                found.append(value)
    return found


# A point is two numbers, and a refusal of the point may name either: a longitude of 1e-400
# is 0, and the point then lies outside the city, which the form says of the latitude.
POINT_PAIRS = [("latitude", "longitude"), ("lat", "long"), ("lat", "lon")]


def partners(parameter: str) -> set[str]:
    return {b if parameter == a else a for a, b in POINT_PAIRS if parameter in (a, b)}


def breaks_json(value: Value) -> bool:
    """Whether a value makes the whole body something other than JSON."""
    if isinstance(value, dict | list):
        return not is_json(json.dumps(value).encode())  # a coordinate of 1e309 is Infinity
    return isinstance(value, bytes) or (
        isinstance(value, Raw) and value.token in ("NaN", "Infinity", "-Infinity")
    )


@dataclass
class Run:
    """What one test saw: the answers that broke a rule, whether anything was stored, and how
    many requests it took."""

    problems: list[str] = field(default_factory=list)
    wrote: bool = False
    requests: int = 0


@dataclass
class Prober:
    """Sends hostile values to one endpoint as one role, many parameters per request, and
    finds which parameter an answer is about.

    All the parameters given go in one request. A success exercised every one of them; a 4xx
    resolves the parameters it names, and the rest go again without them (so that a value
    the form accepts is also carried through to the write, never hidden behind another
    field's refusal). A 500, or a 4xx that names none of them, is split in halves until the
    one parameter it is about is found and reported.
    """

    client: object
    name: str
    method: str
    endpoint: Endpoint
    world: "World"
    baseline: int
    run: Run

    def label(self, hostile: dict[str, Value], encoding: str) -> str:
        values = ", ".join(f"{p}={v!r}" for p, v in hostile.items())
        return f"{self.method} {self.name} {values} ({encoding})"

    def probe(self, hostile: dict[str, Value], encoding: str) -> None:
        endpoint, pending = self.endpoint, dict(hostile)
        while pending:
            o = self.world.objects(fresh=endpoint.fresh)
            response, body = send(
                self.client, self.name, self.method, endpoint, o, pending, encoding
            )
            self.run.requests += 1
            status = response.status_code
            if status < 400:
                self.run.wrote |= self.method == "POST"
                return
            if status == self.baseline and (status in (403, 404, 405) or not endpoint.valid):
                return  # the endpoint refuses this role, or this request, whatever the value
            if status == 413:
                return  # too large: said before any field is read
            if status < 500 and any(endpoint.parameters()[p] == "path" for p in pending):
                # Sent alone (a path names a thing): a 404, or the page's own "bad link".
                if status not in endpoint.path_refusals:
                    self.fail(pending, encoding, f"{status} for a path parameter")
                return
            named = set()
            if status < 500:
                named = {
                    p
                    for p in pending
                    if names(response, p)
                    or any(q not in pending and names(response, q) for q in partners(p))
                }
                if encoding == "json" and status == 400 and not is_json(body):
                    # The body is not JSON at all: refused whole, before any field is read.
                    named |= {p for p, v in pending.items() if breaks_json(v)}
            if named:
                pending = {p: v for p, v in pending.items() if p not in named}
                continue
            if len(pending) == 1:
                said = "" if status >= 500 else f" not naming it: {response.content[:200]!r}"
                self.fail(pending, encoding, f"{status}{said}")
                return
            items = list(pending.items())
            self.probe(dict(items[: len(items) // 2]), encoding)
            self.probe(dict(items[len(items) // 2 :]), encoding)
            return

    def fail(self, hostile: dict[str, Value], encoding: str, what: str) -> None:
        self.run.problems.append(f"{self.label(hostile, encoding)}: {what}")


# --- What is stored must be readable by every output ----------------------------------------


def make_everything_public() -> None:
    """Whatever was stored, shown or not yet: a pin awaiting its author's confirmation or
    hidden by moderation may be public tomorrow, and every output must then read it."""
    Idea.objects.update(awaiting_confirmation=False, hidden_by_moderation_at=None)


def outputs_accept_what_was_stored(tmp: Path) -> list[str]:
    """Export every format once and read it back with ogrinfo (all at once), then parse every
    XML output; the problems found."""
    make_everything_public()
    problems = []
    client = Client()
    readers = []
    for extension in export_formats.FORMATS:
        response = client.get(f"/export/ideas.{extension}")
        if response.status_code != 200:
            problems.append(f"/export/ideas.{extension}: {response.status_code}")
            continue
        raw = b"".join(response.streaming_content)
        path = tmp / f"ideas.{extension}"
        path.write_bytes(raw)
        if extension == "kml":
            problems += xml_problems(f"/export/ideas.{extension}", raw)
        name = f"/vsizip/{path}" if extension.endswith("zip") else str(path)
        readers.append(
            (
                extension,
                subprocess.Popen(  # noqa: S603 - a fixed command on a file the test wrote
                    ["ogrinfo", "-ro", "-al", "-q", name],  # noqa: S607 - gdal-bin
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                ),
            )
        )
    for extension, reader in readers:
        _out, err = reader.communicate()
        if reader.returncode != 0 or b"ERROR" in err:
            problems.append(f"ogrinfo refuses /export/ideas.{extension}: {err[:300]!r}")
    recent = Idea.objects.order_by("-pk").values_list("pk", flat=True)[:50]
    xml_urls = [
        "/open311/v2/requests.xml",
        "/open311/v2/services.xml",
        "/open311/v2/discovery.xml",
        "/open311/v2/requests.xml?service_request_id=" + ",".join(map(str, recent)),
    ]
    for url in xml_urls:
        response = client.get(url)
        if response.status_code != 200:
            problems.append(f"{url}: {response.status_code}")
            continue
        problems += xml_problems(url, response.content)
    return problems


def stored_text_problems() -> list[str]:
    """Text stored that MapIdeas's rule refuses (mapideas.plumbing.stored_text), or that holds
    U+FFFD, what bytes that are not UTF-8 become when decoded leniently: every text column
    of the project's models and of the accounts."""
    from django.apps import apps
    from django.db import models

    from mapideas.plumbing.stored_text import first_unstorable

    problems = []
    for model in apps.get_models():
        if not (model.__module__.split(".")[0] in PROJECT or model is get_user_model()):
            continue
        columns = [
            f.name
            for f in model._meta.concrete_fields
            if isinstance(f, models.CharField | models.TextField)
        ]
        for row in model.objects.values_list("pk", *columns) if columns else ():
            for column, text in zip(columns, row[1:], strict=True):
                if text and (first_unstorable(text) or "\ufffd" in text):
                    problems.append(f"{model.__name__} {row[0]} stores {column}={text!r}")
    return problems


PROJECT = {"mapideas", "geodata", "neighborhoods"}


def xml_problems(url: str, raw: bytes) -> list[str]:
    try:
        ElementTree.fromstring(raw)  # noqa: S314 - our own output, checked for well-formedness
    except ElementTree.ParseError as exc:
        return [f"{url} is not well-formed XML: {exc}"]
    return []


# --- The property test ---------------------------------------------------------------------------

# Known defects, each to be fixed where it lives (then the case passes, and strict fails it).
KNOWN: dict[tuple[str, str], str] = {}
CASES = [
    pytest.param(
        name,
        method,
        role,
        id=f"{method}-{name}-{role}",
        marks=[pytest.mark.xfail(strict=True, reason=KNOWN[(name, method)])]
        if (name, method) in KNOWN
        else [],
    )
    for (name, method), endpoint in sorted(TABLE.items())
    for role in endpoint.roles
]
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    # A failure is reported as found: shrinking would replay hundreds of requests.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def encodings(endpoint: Endpoint, method: str) -> list[str]:
    if method == "GET" or not (endpoint.body or endpoint.headers):
        return ["form"]
    if any(endpoint.body[f] is not ABSENT for f in endpoint.files):
        return ["multipart"]  # a file the request needs: only multipart carries one
    return {
        "form": ["form", "multipart"],
        "json": ["json"],
        "json+multipart": ["json", "multipart"],
        "form+json": ["form", "multipart", "json"],
    }[endpoint.encoding]


def hostile_values(endpoint: Endpoint) -> st.SearchStrategy:
    """For each class, a value of that class for each parameter (each drawn on its own), as
    text and as JSON."""
    parameters = list(endpoint.parameters())

    def per_parameter(classes: dict[str, st.SearchStrategy]) -> st.SearchStrategy:
        return st.fixed_dictionaries(
            {
                c: st.fixed_dictionaries({p: values for p in parameters})
                for c, values in classes.items()
            }
        )

    return st.tuples(per_parameter(CLASSES), per_parameter(JSON_CLASSES))


# Endpoints whose success changes who is signed in, or the session's language.
SESSION_CHANGING = {"signup", "login", "set_language", "signup-confirm"}


class NewClientEachTime:
    """A client per request, signed in as the role."""

    def __init__(self, world: "World", role: str) -> None:
        self.world, self.role = world, role

    def get(self, *args, **kwargs):
        return self.world.client(self.role).get(*args, **kwargs)

    def post(self, *args, **kwargs):
        return self.world.client(self.role).post(*args, **kwargs)


@pytest.mark.parametrize(("name", "method", "role"), CASES)
def test_every_parameter_answers_below_500_naming_what_it_refuses(
    world, tmp_path, name, method, role
):
    endpoint = TABLE[(name, method)]
    # Sign-up signs the new account in; the role's session must stay the role's.
    client = world.client(role) if name not in SESSION_CHANGING else NewClientEachTime(world, role)
    o = world.objects(fresh=endpoint.fresh)
    ways = encodings(endpoint, method)
    baseline, _body = send(client, name, method, endpoint, o, {}, ways[0])
    assert baseline.status_code < 400 or not endpoint.valid, (
        f"the valid request is refused: {baseline.status_code}",
        baseline.content[:300],
    )
    run = Run()
    prober = Prober(client, name, method, endpoint, world, baseline.status_code, run)
    where = endpoint.parameters()

    @SETTINGS
    @given(hostile_values(endpoint))
    def every_parameter(drawn):
        text_values, json_values = drawn
        problems_before = len(run.problems)
        for encoding in ways:
            for hostile_class in CLASSES:
                hostile = {
                    p: (json_values if encoding == "json" and where[p] == "body" else text_values)[
                        hostile_class
                    ][p]
                    for p in where
                    if where[p] != "path"
                }
                prober.probe(hostile, encoding)
                if encoding == ways[0]:
                    for p in (p for p in where if where[p] == "path"):
                        prober.probe({p: text_values[hostile_class][p]}, encoding)
        assert len(run.problems) == problems_before, "\n".join(run.problems[problems_before:])

    every_parameter()
    problems = stored_text_problems()
    if run.wrote:
        problems += outputs_accept_what_was_stored(tmp_path)
    assert not problems, "\n".join(problems)
