"""Who an anonymous supporter is: a random token in a signed cookie, kept server-side only as
a keyed hash (HMAC with SECRET_KEY). The pin page and the API share it, so a browser supports
a pin once whichever way it asks."""

import secrets

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from mapideas.plumbing.hashing import keyed_hash

SUPPORTER_COOKIE = "mapideas_supporter"
SUPPORTER_SALT = "mapideas.supporter"
SUPPORTER_COOKIE_AGE = 365 * 24 * 3600


def supporter_token(request: HttpRequest) -> str | None:
    """The browser's token, from its signed cookie (None without a valid one)."""
    return request.get_signed_cookie(SUPPORTER_COOKIE, default=None, salt=SUPPORTER_SALT)


def new_supporter_token() -> str:
    return secrets.token_urlsafe(24)


def supporter_hash(token: str | None) -> str:
    """What Support rows keep of an anonymous supporter ("" for none)."""
    return keyed_hash("supporter", token) if token else ""


def remember_supporter(response: HttpResponse, token: str) -> None:
    response.set_signed_cookie(
        SUPPORTER_COOKIE,
        token,
        salt=SUPPORTER_SALT,
        max_age=SUPPORTER_COOKIE_AGE,
        httponly=True,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )
