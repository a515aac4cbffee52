"""Staff single sign-on through the city's OpenID Connect provider (mozilla-django-oidc).

The protocol (the authorization code flow with PKCE, state and nonce in the session, the ID
token's signature against the provider's published keys) is mozilla-django-oidc's. What is
ours:

- the provider's endpoints: the four URLs of the settings, or discovered once per process
  from MAPIDEAS_OIDC_ISSUER's /.well-known/openid-configuration (`endpoints`);
- every call to the provider (discovery, token, keys, userinfo) goes through
  mapideas.plumbing.outbound, so a provider URL naming a private address is refused unless
  MAPIDEAS_OUTBOUND_ALLOW allows it, and each call is bounded in time and size; the library's
  own `requests` calls are never made;
- the ID token's issuer and audience are checked (the library checks neither);
- the account: found by the provider's `sub`, never by email address, its teams and planner
  role set from the groups claim at each sign-in (services.single_sign_on_account);
- a provider that fails or answers nonsense makes the sign-in fail (the login page says so),
  never a server error, and never touches a password sign-in: nothing is fetched until a
  callback from the provider arrives.
"""

import base64
import logging
import threading
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import jwt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import SuspiciousOperation, ValidationError
from django.http import HttpRequest
from django.utils.encoding import smart_str
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings

from mapideas.accounts import services
from mapideas.plumbing import outbound

logger = logging.getLogger(__name__)

# mozilla-django-oidc's names for the endpoints, and the discovery document's.
_ENDPOINT_SETTINGS = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": ("authorization_endpoint", "MAPIDEAS_OIDC_AUTHORIZATION_URL"),
    "OIDC_OP_TOKEN_ENDPOINT": ("token_endpoint", "MAPIDEAS_OIDC_TOKEN_URL"),
    "OIDC_OP_USER_ENDPOINT": ("userinfo_endpoint", "MAPIDEAS_OIDC_USERINFO_URL"),
    "OIDC_OP_JWKS_ENDPOINT": ("jwks_uri", "MAPIDEAS_OIDC_JWKS_URL"),
}
_discovered: dict[str, dict[str, str]] = {}
_discovery_lock = threading.Lock()
# Names and addresses are cut to what Django's User keeps.
_NAME_MAX = 150
_EMAIL_MAX = 254


class ProviderError(Exception):
    """The provider could not be reached, or answered something a sign-in cannot use."""


def _call(method: str, url: str, **kwargs: Any) -> outbound.OutboundResponse:
    response = outbound.request(method, url, **kwargs)
    if response.status != 200:
        raise ProviderError(f"{method} {urlsplit(url).hostname} answered {response.status}")
    return response


def _discover(issuer: str) -> dict[str, str]:
    document = _call("GET", f"{issuer}/.well-known/openid-configuration").json()
    if not isinstance(document, dict) or document.get("issuer", "").rstrip("/") != issuer:
        # OpenID Connect Discovery 1.0, section 4.3: the document must name the issuer asked.
        raise ProviderError("the discovery document names another issuer")
    found = {"issuer": document["issuer"]}
    for key, _setting in _ENDPOINT_SETTINGS.values():
        value = document.get(key)
        if not isinstance(value, str) or not value.startswith(("http://", "https://")):
            raise ProviderError(f"the discovery document has no {key}")
        found[key] = value
    return found


def endpoints() -> dict[str, str]:
    """The provider's issuer and endpoints: from the settings when all four URLs are given,
    else discovered from MAPIDEAS_OIDC_ISSUER (once per process and issuer)."""
    explicit = {key: getattr(settings, name) for key, name in _ENDPOINT_SETTINGS.values()}
    if all(explicit.values()):
        return {"issuer": settings.MAPIDEAS_OIDC_ISSUER, **explicit}
    issuer = settings.MAPIDEAS_OIDC_ISSUER
    with _discovery_lock:
        if issuer not in _discovered:
            _discovered[issuer] = _discover(issuer)
        return _discovered[issuer]


def setting(attr: str, *default: Any) -> Any:
    """mozilla-django-oidc's settings, with the endpoints from `endpoints`."""
    if attr in _ENDPOINT_SETTINGS:
        return endpoints()[_ENDPOINT_SETTINGS[attr][0]]
    return import_from_settings(attr, *default)


def groups_of(value: Any) -> list[str]:
    """The groups claim as a list of names: providers send a list, some a single string."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


class ProviderBackend(OIDCAuthenticationBackend):
    """Signs in the person the provider's callback names (see the module's docstring)."""

    get_settings = staticmethod(setting)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Django makes every backend for each password sign-in and this one for each request
        # of a session it opened: the provider's endpoints are read only when a callback
        # from it arrives (`authenticate`), so a provider that is down costs nothing else.
        self.UserModel = get_user_model()

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> User | None:
        if request is None or "code" not in request.GET or "state" not in request.GET:
            return None
        try:
            # The library's set-up: the endpoints (discovered at first use) and the client.
            OIDCAuthenticationBackend.__init__(self)
            return super().authenticate(request, **kwargs)
        except (ProviderError, outbound.OutboundError, outbound.OutboundRefused) as exc:
            logger.warning("single sign-on: the provider failed: %s", exc)
        except (SuspiciousOperation, ValidationError, jwt.PyJWTError) as exc:
            logger.warning("single sign-on: refused what the provider sent: %s", exc)
        return None

    def get_user(self, user_id: Any) -> User | None:
        # The library's returns switched-off accounts too: their sessions end here instead.
        user = super().get_user(user_id)
        return user if user is not None and user.is_active else None

    # --- The calls to the provider, through plumbing.outbound -----------------------------

    def get_token(self, payload: dict[str, Any]) -> dict[str, Any]:
        payload = dict(payload)
        client_id, secret = payload.pop("client_id"), payload.pop("client_secret")
        # client_secret_basic (RFC 6749, section 2.3.1): the method every provider supports;
        # each part form-encoded before it is joined.
        credentials = f"{quote(client_id, safe='')}:{quote(secret, safe='')}"
        response = _call(
            "POST",
            self.OIDC_OP_TOKEN_ENDPOINT,
            body=urlencode(payload).encode(),
            headers={
                "Authorization": "Basic " + base64.b64encode(credentials.encode()).decode(),
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
        )
        token = response.json()
        if not isinstance(token, dict) or not isinstance(token.get("id_token"), str):
            raise ProviderError("the token answer has no id_token")
        return token

    def retrieve_matching_jwk(self, token: str) -> jwt.PyJWK:
        # The library's search, over keys fetched through plumbing.outbound.
        jwks = _call("GET", self.OIDC_OP_JWKS_ENDPOINT).json()
        header = jwt.get_unverified_header(token)
        key = None
        for jwk in jwks.get("keys", []) if isinstance(jwks, dict) else []:
            if jwk.get("kid") != smart_str(header.get("kid")):
                continue
            if "alg" in jwk and jwk["alg"] != smart_str(header.get("alg")):
                continue
            key = jwk
        if key is None:
            raise SuspiciousOperation("no key of the provider matches the token's")
        return jwt.PyJWK(key)

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        payload = super().verify_token(token, **kwargs)
        audience = payload.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation("the token was issued to another client")
        issuer = endpoints()["issuer"]
        if issuer and str(payload.get("iss", "")).rstrip("/") != issuer.rstrip("/"):
            raise SuspiciousOperation("the token was issued by another provider")
        return payload

    def get_userinfo(self, access_token: str, id_token: str, payload: dict) -> dict[str, Any]:
        """The ID token's claims with the userinfo endpoint's over them: some providers put
        the groups in one, some in the other."""
        response = _call(
            "GET",
            self.OIDC_OP_USER_ENDPOINT,
            headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
        )
        if response.headers.get("content-type", "").lower().startswith("application/jwt"):
            userinfo = self.verify_token(response.body.decode())
        else:
            userinfo = response.json()
        if not isinstance(userinfo, dict) or userinfo.get("sub") != payload.get("sub"):
            # OpenID Connect Core 1.0, section 5.3.2: it must be the ID token's person.
            raise ProviderError("the userinfo answer is about someone else")
        return {**payload, **userinfo}

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict) -> User:
        claims = self.get_userinfo(access_token, id_token, payload)
        email = claims.get("email")
        return services.single_sign_on_account(
            sub=str(claims.get("sub") or ""),
            groups=groups_of(claims.get(settings.MAPIDEAS_OIDC_GROUPS_CLAIM)),
            email=email if isinstance(email, str) and len(email) <= _EMAIL_MAX else "",
            first_name=str(claims.get("given_name") or "")[:_NAME_MAX],
            last_name=str(claims.get("family_name") or "")[:_NAME_MAX],
        )
