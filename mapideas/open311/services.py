"""Writes of the Open311 GeoReport v2 server: requests posted by clients, and client keys."""

import re
import secrets
from dataclasses import dataclass
from typing import NotRequired, TypedDict, Unpack

from django.contrib.auth.models import User
from django.contrib.gis.geos import Point
from django.db import transaction
from django.utils import timezone

from mapideas.models import (
    TITLE_MAX_LENGTH,
    Category,
    Idea,
    Open311Client,
)
from mapideas.submission import services as submission

# --- Open311 GeoReport v2 (mapideas/open311/) -------------------------------------------------


def title_from_description(description: str, *, fallback: str) -> str:
    """A pin title for input that has none (Open311 sends only a description).

    The first non-empty line, whitespace collapsed, cut at a word boundary with "…" to fit
    TITLE_MAX_LENGTH; `fallback` (the category's name) when the description is empty.
    """
    first_line = next((line for line in description.splitlines() if line.strip()), "")
    title = re.sub(r"\s+", " ", first_line).strip() or fallback.strip()
    if len(title) <= TITLE_MAX_LENGTH:
        return title
    cut = title[: TITLE_MAX_LENGTH - 1]
    # Cut at the last space unless that would throw away most of the line (one long word).
    if " " in cut[TITLE_MAX_LENGTH // 2 :]:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip() + "…"


class ServiceRequest(TypedDict):
    """What an Open311 client posts for a new request (its spec's fields, as checked)."""

    category: Category
    location: Point
    description: NotRequired[str]
    email: NotRequired[str]
    first_name: NotRequired[str]
    last_name: NotRequired[str]
    phone: NotRequired[str]
    media_url: NotRequired[str]


def open311_request_create(
    *,
    client: Open311Client,
    idempotency: submission.Idempotency | None = None,
    **request: Unpack[ServiceRequest],
) -> Idea:
    """An Open311 service request, pinned like any other: an issue, through the API channel.

    Open311 has no title: it is made from the description (title_from_description).
    """
    description = request.get("description", "")
    names = (request.get("first_name", ""), request.get("last_name", ""))
    return submission.idea_create(
        kind=Idea.Kind.ISSUE,
        title=title_from_description(description, fallback=request["category"].name),
        description=description,
        category=request["category"],
        location=request["location"],
        channel=Idea.Channel.API,
        media_url=request.get("media_url", ""),
        contact_email=request.get("email", ""),
        contact_name=" ".join(part.strip() for part in names if part.strip()),
        contact_phone=request.get("phone", ""),
        open311_client=client,
        idempotency=idempotency,
    )


def open311_request_submit(
    *,
    client: Open311Client,
    idempotency_key: str | None,
    **request: Unpack[ServiceRequest],
) -> submission.Submitted:
    """A service request as a client posts it, through the one path of every pin sent
    (submission.pin_submit): a retry with the same Idempotency-Key, scoped to this client,
    gets the request stored the first time. Written by open311_request_create; no rate
    limit (a client is known by its key, and staff can revoke it)."""
    return submission.pin_submit(
        sender=f"open311:{client.pk}",
        idempotency_key=idempotency_key,
        rate=None,
        create=open311_request_create,
        client=client,
        **request,
    )


@dataclass(frozen=True)
class IssuedOpen311Key:
    client: Open311Client
    # The only time the key exists in clear: show it once, store it nowhere.
    key: str


def open311_client_create(*, name: str, created_by: User | None = None) -> IssuedOpen311Key:
    """Issue a key to a new Open311 client. Refused if a client of that name has a live key."""
    # Hex, so a key never starts with "-" (a command-line option) nor needs URL-escaping.
    key = secrets.token_hex(24)
    client = Open311Client(
        name=name.strip(),
        key_prefix=key[: Open311Client.PREFIX_LENGTH],
        key_hash=Open311Client.hash_key(key),
        created_by=created_by if created_by is not None and created_by.is_authenticated else None,
    )
    # Checks the name and the one-live-key-per-name constraint; a concurrent twin still
    # meets the database's unique index.
    client.full_clean(exclude=["created_by"])
    client.save()
    return IssuedOpen311Key(client=client, key=key)


@transaction.atomic
def open311_client_revoke(*, client: Open311Client) -> Open311Client:
    """Revoke the client's key at once; revoking twice keeps the first time."""
    Open311Client.objects.filter(pk=client.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    client.refresh_from_db(fields=["revoked_at"])
    return client
