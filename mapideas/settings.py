"""Settings for MapIdeas.

Everything a deployment changes comes from environment variables (see README, "Configuration").
Bad values stop start-up with ImproperlyConfigured rather than being silently replaced.
"""

import secrets
from ipaddress import ip_network
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

from mapideas.env import env_bool, env_int, env_list, env_rate, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

DEBUG = env_bool("DEBUG", False)


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept in var/.

    Keeping it in var/ lets `make run` work with no configuration while sessions survive a
    restart; production sets SECRET_KEY explicitly.
    """
    configured = env_str("SECRET_KEY", "")
    if configured:
        return configured
    key_file = VAR_DIR / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    VAR_DIR.mkdir(exist_ok=True)
    key = secrets.token_urlsafe(50)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "rest_framework",
    "rest_framework_gis",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "neighborhoods",
    "mapideas",
    "geodata",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # A database outage raised by a view: 503 with Retry-After, not a 500 (mapideas.plumbing.outage;
    # handler500 in mapideas.urls takes the ones raised by middleware).
    "mapideas.plumbing.outage.DatabaseOutageMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language of every page and API answer: the switcher's cookie, else the browser's
    # Accept-Language, else LANGUAGE_CODE. After sessions, before CommonMiddleware.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # A JSON or form body over DATA_UPLOAD_MAX_MEMORY_SIZE: a 413 before it is read; a form
    # body that is not UTF-8: a 400 naming the field, not U+FFFD stored.
    "mapideas.plumbing.middleware.StrictFormEncodingMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Staff and single sign-on sessions end MAPIDEAS_OIDC_STAFF_SESSION_SECONDS after sign-in.
    "mapideas.accounts.middleware.StaffSessionLifetimeMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "mapideas.urls"
WSGI_APPLICATION = "mapideas.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "mapideas.context_processors.roles",
                "mapideas.context_processors.accounts",
            ],
        },
    },
]
# Form widgets drawn from Django's Jinja2 copies of its widget templates where there is one
# (the same HTML, drawn faster): mapideas/plumbing/form_renderer.py.
FORM_RENDERER = "mapideas.plumbing.form_renderer.FormRenderer"


# --- Database -------------------------------------------------------------------------------
# DATABASE_URL picks the backend: spatialite:///abs/path.sqlite3 (default, under var/) or
# postgis://user:pass@host:port/db (production). Non-spatial URLs are refused: every feature
# of MapIdeas is spatial, and a plain sqlite/postgres backend would fail later and obscurely.
_DEFAULT_DATABASE_URL = f"spatialite:///{VAR_DIR / 'mapideas.sqlite3'}"
_SPATIAL_ENGINES = {
    "django.contrib.gis.db.backends.spatialite",
    "django.contrib.gis.db.backends.postgis",
}


def _database(variable: str = "DATABASE_URL") -> dict:
    url = env_str(variable, "") or _DEFAULT_DATABASE_URL
    if url.startswith("spatialite:"):
        return _spatialite(url)
    try:
        # DB_CONN_MAX_AGE: seconds a server process keeps its connection between requests
        # (`make run` sets 60: one persistent connection per gunicorn worker); checked for
        # health before reuse, so a restarted PostgreSQL costs one reconnect, not an error.
        # As a plain dict, like _spatialite's (dj_database_url types its own as a TypedDict).
        config: dict[str, Any] = dict(
            dj_database_url.parse(
                url, conn_max_age=env_int("DB_CONN_MAX_AGE", 0), conn_health_checks=True
            )
        )
    except Exception as exc:  # dj_database_url raises bare ValueErrors/KeyErrors on odd URLs
        raise ImproperlyConfigured(f"{variable} could not be read: {exc}") from exc
    if config["ENGINE"] not in _SPATIAL_ENGINES:
        raise ImproperlyConfigured(
            f"{variable} must use postgis:// or spatialite:/// (MapIdeas needs a spatial "
            f"database); got {url.split(':', 1)[0]}://"
        )
    # DB_POOL_SIZE: a pool of at most this many connections per server process (psycopg's
    # pool, through Django; docs/operations/scaling.md), shared by its threads (gunicorn's
    # WEB_THREADS), instead of one persistent connection per thread. Replaces
    # DB_CONN_MAX_AGE (Django refuses both). 0 (the default): no pool.
    pool_size = env_int("DB_POOL_SIZE", 0)
    if pool_size > 0:
        config["CONN_MAX_AGE"] = 0
        config.setdefault("OPTIONS", {})["pool"] = {
            "min_size": 1,
            "max_size": pool_size,
            # A request waits at most this long for a free connection, then fails (503).
            "timeout": env_int("DB_POOL_TIMEOUT", 10),
        }
    # DB_PREPARE_THRESHOLD: psycopg prepares a statement on the server after this many runs
    # on a connection (the routing query, the INSERTs of a pin and the pin page's reads, run
    # on neighborhoods.compiled_queries' server-binding cursor, are parsed and planned once
    # per connection, not per request). Off by default, as in Django: a transaction-mode
    # pgbouncer in front would break prepared statements. `make run` sets it (direct
    # connections). Ignored on SpatiaLite.
    prepare = env_int("DB_PREPARE_THRESHOLD", 0)
    if prepare > 0:
        config.setdefault("OPTIONS", {})["prepare_threshold"] = prepare
    # DB_PARALLEL_WORKERS: PostgreSQL's max_parallel_workers_per_gather for MapIdeas'
    # connections (a startup option), 0 by default: a request's query runs on one core. With
    # the server's default (2), a dense pin list's page and count each took three processes,
    # and four clients' requests fought over two cores (p95 686 ms against 365 ms without).
    # `server` keeps the server's own setting (say, behind a PgBouncer that refuses startup
    # options, or on many cores with few concurrent requests).
    startup = []
    workers = env_str("DB_PARALLEL_WORKERS", "0").strip()
    if workers != "server":
        if not workers.isdigit():
            raise ImproperlyConfigured(
                f"DB_PARALLEL_WORKERS must be a whole number or 'server', not {workers!r}"
            )
        startup.append(f"-c max_parallel_workers_per_gather={int(workers)}")
    # DB_JIT: PostgreSQL's jit for MapIdeas' connections, off by default. The planner compiles
    # a query it expects to be costly (jit_above_cost), and a pin list's page read by the
    # newest-first index with a bbox filter is expected so: on the 1M-pin bench city the
    # compiling took 22 ms of a query that ran in 8 (docs/decisions/0026-no-jit.md).
    jit = env_str("DB_JIT", "off").strip().lower()
    if jit not in ("on", "off", "server"):
        raise ImproperlyConfigured(f"DB_JIT must be on, off or 'server', not {jit!r}")
    if jit != "server":
        startup.append(f"-c jit={jit}")
    if startup:
        options = config.setdefault("OPTIONS", {})
        given = str(options.get("options", "")).strip()
        options["options"] = " ".join([given, *startup]).strip()
    return config


def _spatialite(url: str) -> dict:
    """spatialite:///abs/path.sqlite3 names an absolute path (dj-database-url would read three
    slashes as a relative one); spatialite://relative/path is relative to the project."""
    rest = url.removeprefix("spatialite:").removeprefix("//")
    if not rest or rest == "/":
        raise ImproperlyConfigured("DATABASE_URL spatialite:// needs a file path.")
    path = Path("/" + rest.lstrip("/")) if rest.startswith("/") else BASE_DIR / rest
    path.parent.mkdir(parents=True, exist_ok=True)
    return {
        "ENGINE": "django.contrib.gis.db.backends.spatialite",
        "NAME": str(path),
        # DB_CONN_MAX_AGE, as for PostgreSQL (`make run` sets 60): a server process keeps its
        # connection between requests. Opening one loads the SpatiaLite extension and closing
        # it drops SQLite's page cache: 8 of a pin page's 13 ms under gunicorn at 100k pins.
        "CONN_MAX_AGE": env_int("DB_CONN_MAX_AGE", 0),
        "OPTIONS": {
            # Every transaction takes SQLite's write lock when it begins (BEGIN IMMEDIATE) and
            # waits up to `timeout` seconds for it: a transaction that read first and writes
            # later (a sign-up checks, then inserts) would otherwise fail at once with
            # "database is locked" when another process writes, a 503 under load.
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        },
    }


DATABASES = {"default": _database()}


def _replica() -> dict | None:
    """DATABASE_REPLICA_URL: a PostgreSQL streaming replica of DATABASE_URL's database, for
    the reads that may be slightly stale (mapideas.plumbing.db_routers;
    docs/operations/scaling.md)."""
    if not env_str("DATABASE_REPLICA_URL", ""):
        return None
    config = _database("DATABASE_REPLICA_URL")
    postgis = "django.contrib.gis.db.backends.postgis"
    if config["ENGINE"] != postgis or DATABASES["default"]["ENGINE"] != postgis:
        raise ImproperlyConfigured(
            "DATABASE_REPLICA_URL must be postgis://, and DATABASE_URL too (a replica is "
            "PostgreSQL's streaming replication)"
        )
    # Tests need no replica server: the alias reads the test database of default.
    config["TEST"] = {"MIRROR": "default"}
    return config


if (_replica_config := _replica()) is not None:
    DATABASES["replica"] = _replica_config
# Writes and migrations on default, whatever database an instance was read from.
DATABASE_ROUTERS = ["mapideas.plumbing.db_routers.PrimaryReplicaRouter"]

# The table DatabaseCache keeps its entries in (created by `manage.py createcachetable`,
# which `make run` runs after migrating, and by the test runner).
CACHE_TABLE = "mapideas_cache"


def _caches() -> dict:
    """CACHE_URL: where cached answers live (the viewport's clusters, the place search's),
    shared by every server process. Answers only: an entry may be evicted at any time (the
    database cache culls a third of its entries when full), so the rate limits count in a
    store of their own (RATE_LIMIT_URL).

    - unset or `db://`: a table in the database (Django's DatabaseCache): nothing more to run.
    - `redis://host:6379/0` (or `rediss://`): Redis; for several machines behind a load
      balancer (any maxmemory-policy: an evicted answer is computed again).
    - `locmem://`: each process on its own.
    """
    url = env_str("CACHE_URL", "").strip() or "db://"
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme == "db":
        backend = {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": CACHE_TABLE,
        }
    elif scheme in ("redis", "rediss"):
        backend = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    elif scheme == "locmem":
        backend = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    else:
        raise ImproperlyConfigured(
            f"CACHE_URL must be db://, redis://host:port/db or locmem://, not {url!r}"
        )
    return {"default": backend | {"KEY_PREFIX": "mapideas"}}


CACHES = _caches()


def _redis_database(url: str) -> tuple[str, int, str]:
    """The (host, port, database) a redis:// URL names, for comparing two of them."""
    parts = urlsplit(url)
    database = parts.path.strip("/") or "0"
    return (parts.hostname or "localhost", parts.port or 6379, database)


def _rate_limit_url() -> str:
    """RATE_LIMIT_URL: where the rate limits' counters live (mapideas.plumbing.rate_counters),
    never where anything else could evict them (docs/decisions/0015-rate-limit-counters.md).

    - unset or `db://`: the table mapideas_ratelimitcounter in the database (atomic upserts).
    - `redis://host:6379/N` (or `rediss://`): a Redis whose maxmemory-policy is noeviction
      (`manage.py check` and the first count of each process refuse any other), never the
      answer cache's CACHE_URL database.
    """
    url = env_str("RATE_LIMIT_URL", "").strip() or "db://"
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme == "db":
        return "db://"
    if scheme not in ("redis", "rediss"):
        raise ImproperlyConfigured(
            f"RATE_LIMIT_URL must be db:// or redis://host:port/db, not {url!r} (counters "
            "must be shared by every server process and never evicted)"
        )
    cache_url = env_str("CACHE_URL", "").strip()
    if cache_url.startswith(("redis://", "rediss://")) and _redis_database(
        cache_url
    ) == _redis_database(url):
        raise ImproperlyConfigured(
            "RATE_LIMIT_URL must not name CACHE_URL's Redis database: the answer cache may "
            "evict, the counters must never be (use another Redis, with noeviction)"
        )
    return url


RATE_LIMIT_URL = _rate_limit_url()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Django 5.2 warns (gis.W001) that GDAL < 3.9 will be unsupported in Django 6.0. Debian 12
# ships GDAL 3.6 and this project stays on the 5.2 LTS, so the warning says nothing actionable.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "my-teams"
LOGOUT_REDIRECT_URL = "home"

# --- Staff single sign-on (OpenID Connect; docs/operations/single-sign-on.md) ----------------
# Off unless MAPIDEAS_OIDC_CLIENT_ID is set. The provider's endpoints: MAPIDEAS_OIDC_ISSUER
# (read from its /.well-known/openid-configuration at first use, through plumbing.outbound), or
# each of the four URLs below (then no discovery). mapideas.accounts.single_sign_on does the rest.


def _oidc_url(name: str) -> str:
    url = env_str(name, "").strip().rstrip("/")
    if url and (not url.startswith(("http://", "https://")) or not urlsplit(url).hostname):
        raise ImproperlyConfigured(f"{name} must be an http:// or https:// URL, not {url!r}")
    return url


MAPIDEAS_OIDC_ISSUER = _oidc_url("MAPIDEAS_OIDC_ISSUER")
MAPIDEAS_OIDC_AUTHORIZATION_URL = _oidc_url("MAPIDEAS_OIDC_AUTHORIZATION_URL")
MAPIDEAS_OIDC_TOKEN_URL = _oidc_url("MAPIDEAS_OIDC_TOKEN_URL")
MAPIDEAS_OIDC_USERINFO_URL = _oidc_url("MAPIDEAS_OIDC_USERINFO_URL")
MAPIDEAS_OIDC_JWKS_URL = _oidc_url("MAPIDEAS_OIDC_JWKS_URL")
MAPIDEAS_OIDC_CLIENT_ID = env_str("MAPIDEAS_OIDC_CLIENT_ID", "").strip()
MAPIDEAS_OIDC_CLIENT_SECRET = env_str("MAPIDEAS_OIDC_CLIENT_SECRET", "")
MAPIDEAS_OIDC_ENABLED = bool(MAPIDEAS_OIDC_CLIENT_ID)
# The provider's name on the login page's button ("Sign in with <name>").
MAPIDEAS_OIDC_NAME = env_str("MAPIDEAS_OIDC_NAME", "").strip()
MAPIDEAS_OIDC_SCOPES = env_str("MAPIDEAS_OIDC_SCOPES", "openid email profile").strip()
# The claim (in the userinfo answer or the ID token) that lists the person's groups.
MAPIDEAS_OIDC_GROUPS_CLAIM = env_str("MAPIDEAS_OIDC_GROUPS_CLAIM", "groups").strip()
# The group that makes a planner; empty: single sign-on leaves the planner role alone.
MAPIDEAS_OIDC_PLANNER_GROUP = env_str("MAPIDEAS_OIDC_PLANNER_GROUP", "").strip()
# A group named this prefix and a team's slug makes its member (empty: the slug alone).
MAPIDEAS_OIDC_TEAM_PREFIX = env_str("MAPIDEAS_OIDC_TEAM_PREFIX", "mapideas-team-").strip()
# A session opened by single sign-on, or by any staff account (a team member, a planner,
# is_staff), ends this long after its sign-in (mapideas.accounts.middleware); the next
# sign-in reads the groups again.
MAPIDEAS_OIDC_STAFF_SESSION_SECONDS = env_int("MAPIDEAS_OIDC_STAFF_SESSION_SECONDS", 8 * 3600)
if MAPIDEAS_OIDC_STAFF_SESSION_SECONDS <= 0:
    raise ImproperlyConfigured(
        "MAPIDEAS_OIDC_STAFF_SESSION_SECONDS must be more than 0, not "
        f"{MAPIDEAS_OIDC_STAFF_SESSION_SECONDS}"
    )
# Off: staff accounts (team members, planners, is_staff, superusers) cannot sign in with a
# local password, only through single sign-on; citizens keep their passwords.
MAPIDEAS_STAFF_PASSWORDS = env_bool("MAPIDEAS_STAFF_PASSWORDS", True)
if MAPIDEAS_OIDC_ENABLED:
    if not MAPIDEAS_OIDC_CLIENT_SECRET:
        raise ImproperlyConfigured(
            "MAPIDEAS_OIDC_CLIENT_ID is set: set MAPIDEAS_OIDC_CLIENT_SECRET"
        )
    _oidc_endpoints = (
        MAPIDEAS_OIDC_AUTHORIZATION_URL,
        MAPIDEAS_OIDC_TOKEN_URL,
        MAPIDEAS_OIDC_USERINFO_URL,
        MAPIDEAS_OIDC_JWKS_URL,
    )
    if not MAPIDEAS_OIDC_ISSUER and not all(_oidc_endpoints):
        raise ImproperlyConfigured(
            "MAPIDEAS_OIDC_CLIENT_ID is set: set MAPIDEAS_OIDC_ISSUER, or all of "
            "MAPIDEAS_OIDC_AUTHORIZATION_URL, MAPIDEAS_OIDC_TOKEN_URL, MAPIDEAS_OIDC_USERINFO_URL "
            "and MAPIDEAS_OIDC_JWKS_URL"
        )
elif not MAPIDEAS_STAFF_PASSWORDS:
    raise ImproperlyConfigured(
        "MAPIDEAS_STAFF_PASSWORDS is off but single sign-on is not configured "
        "(MAPIDEAS_OIDC_CLIENT_ID): no staff account could sign in"
    )

# Local passwords (off for staff when MAPIDEAS_STAFF_PASSWORDS is), then the provider.
LOCAL_SIGN_IN_BACKEND = "mapideas.accounts.backends.PasswordBackend"
SINGLE_SIGN_ON_BACKEND = "mapideas.accounts.single_sign_on.ProviderBackend"
AUTHENTICATION_BACKENDS = [LOCAL_SIGN_IN_BACKEND]
if MAPIDEAS_OIDC_ENABLED:
    AUTHENTICATION_BACKENDS.append(SINGLE_SIGN_ON_BACKEND)
# mozilla-django-oidc's own settings, from ours (the endpoints come from
# mapideas.accounts.single_sign_on, which may discover them).
OIDC_RP_CLIENT_ID = MAPIDEAS_OIDC_CLIENT_ID
OIDC_RP_CLIENT_SECRET = MAPIDEAS_OIDC_CLIENT_SECRET
OIDC_RP_SIGN_ALGO = "RS256"
OIDC_RP_SCOPES = MAPIDEAS_OIDC_SCOPES
OIDC_USE_PKCE = True
OIDC_AUTHENTICATION_CALLBACK_URL = "oidc-callback"

# Languages: every string goes through Django's i18n; the catalogs are locale/<lang>/LC_MESSAGES
# (django.po for Python and templates, djangojs.po for the map's scripts), compiled to .mo by
# `make setup`. Category and team names are translated by staff in the admin
# (django-modeltranslation: name_en, name_nl, name_fr; an empty translation falls back to
# LANGUAGE_CODE). MAPIDEAS_LANGUAGE sets the default for a city whose first language is not
# English.
LANGUAGES = [("en", "English"), ("nl", "Nederlands"), ("fr", "Français")]
LANGUAGE_CODE = env_str("MAPIDEAS_LANGUAGE", "en")
if LANGUAGE_CODE not in {code for code, _ in LANGUAGES}:
    raise ImproperlyConfigured(
        f"MAPIDEAS_LANGUAGE={LANGUAGE_CODE!r}: expected one of "
        + ", ".join(code for code, _ in LANGUAGES)
    )
LOCALE_PATHS = [BASE_DIR / "locale"]
# The switcher's choice outlives the session (a citizen who chose French stays in French).
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static files -----------------------------------------------------------------------------
# Front-end libraries come from the npm registry (package.json, `npm ci` in `make setup`) and
# are served from node_modules as static files: never from a CDN, never committed.
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
_NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS = [
    ("vendor/leaflet", _NODE_MODULES / "leaflet" / "dist"),
    ("vendor/leaflet.heat", _NODE_MODULES / "leaflet.heat" / "dist"),
    ("vendor/jquery", _NODE_MODULES / "jquery" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- The map ----------------------------------------------------------------------------------
# Base-map tiles come from this URL template; empty means no base map (the map then shows
# neighborhood outlines and names only, which is enough to place a pin).
MAPIDEAS_TILE_URL = env_str("MAPIDEAS_TILE_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
MAPIDEAS_TILE_ATTRIBUTION = env_str(
    "MAPIDEAS_TILE_ATTRIBUTION",
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
)
# Pins outside every neighborhood but within this many metres of one go to the city-wide
# triage team; farther out they are refused.
MAPIDEAS_SERVICE_AREA_BUFFER_M = env_int("MAPIDEAS_SERVICE_AREA_BUFFER_M", 250)


def _border_hint_m() -> int:
    metres = env_int("MAPIDEAS_BORDER_HINT_M", 15)
    if metres < 0:
        raise ImproperlyConfigured(f"MAPIDEAS_BORDER_HINT_M must be 0 or more, not {metres}")
    return metres


# The pin form warns when a pin lies within this many metres of another neighborhood, naming
# it, so a pin dropped a little off can be moved before it is sent (0 turns the hint off).
MAPIDEAS_BORDER_HINT_M = _border_hint_m()


def _geocoder_url() -> str:
    url = env_str("MAPIDEAS_GEOCODER_URL", "").strip()
    if url and not url.startswith(("http://", "https://")):
        raise ImproperlyConfigured(f"MAPIDEAS_GEOCODER_URL must start with http(s)://, not {url!r}")
    return url


def _geocoder_timeout() -> float:
    raw = env_str("MAPIDEAS_GEOCODER_TIMEOUT", "3").strip()
    try:
        seconds = float(raw)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds <= 30:
        raise ImproperlyConfigured(
            f"MAPIDEAS_GEOCODER_TIMEOUT must be seconds above 0 and at most 30, not {raw!r}"
        )
    return seconds


# The map's place search (geodata.places) finds neighborhoods and imported places itself; a
# Nominatim-compatible geocoder at this base URL is asked too, from the server, bounded to the
# city's extent. Empty (the default): no request leaves the server.
MAPIDEAS_GEOCODER_URL = _geocoder_url()
MAPIDEAS_GEOCODER_TIMEOUT = _geocoder_timeout()
# The most pins one API page or one map request carries; the response says when it is cut.
MAPIDEAS_MAX_PAGE_SIZE = env_int("MAPIDEAS_MAX_PAGE_SIZE", 1000)
# The most points the planner heatmap draws in the browser (newest first).
MAPIDEAS_HEATMAP_MAX_POINTS = env_int("MAPIDEAS_HEATMAP_MAX_POINTS", 50000)
# Import files (import_neighborhoods, the staff boundary upload, import_ideas,
# import_population): a file larger than this is refused before it is read (a zip, by what it
# unpacks to), and a boundary feature with more vertices than this is refused naming it
# (simplify it first). 256 MiB holds a large city's boundaries or a million CSV rows.
MAPIDEAS_IMPORT_MAX_BYTES = env_int("MAPIDEAS_IMPORT_MAX_BYTES", 256 * 1024 * 1024)
MAPIDEAS_IMPORT_MAX_VERTICES = env_int("MAPIDEAS_IMPORT_MAX_VERTICES", 500_000)
# How long /api/ideas/viewport/ keeps a clusters answer in the cache (0: not at all): counts
# may be this many seconds stale, and a busy map is counted once per window, not per move.
VIEWPORT_CACHE_SECONDS = env_int("VIEWPORT_CACHE_SECONDS", 5)
# How long a team workspace's response-time figures (90 days of its pins) are kept in the
# cache (0: counted for every page): they may be this many seconds stale, and a team paging
# through its queue counts them once per window, not per page.
TEAM_STATS_CACHE_SECONDS = env_int("TEAM_STATS_CACHE_SECONDS", 60)
# How long the planner's working-day groups of the pins (geodata.engagement.service, a GROUP
# BY of every pin of the selection) are kept in the cache (0: read for every page): the
# planner page and the service layers may be this many seconds stale.
ENGAGEMENT_CACHE_SECONDS = env_int("ENGAGEMENT_CACHE_SECONDS", 60)

# --- Open311 GeoReport v2 (mapideas/open311/) -------------------------------------------------


def _open311_jurisdiction() -> str:
    jurisdiction = env_str("MAPIDEAS_OPEN311_JURISDICTION", "mapideas").strip()
    if not jurisdiction:
        raise ImproperlyConfigured("MAPIDEAS_OPEN311_JURISDICTION must not be empty")
    return jurisdiction


# The one jurisdiction this endpoint serves: a request naming another one gets a 404.
MAPIDEAS_OPEN311_JURISDICTION = _open311_jurisdiction()
# Who client developers write to, for a key or help: discovery.json's `contact`.
MAPIDEAS_OPEN311_CONTACT = env_str("MAPIDEAS_OPEN311_CONTACT", "").strip()

# --- Following a pin: support, comments, follow, email (mapideas.notifications) --------------
# Anonymous supports and follow-by-email requests allowed per client IP address ("30/h":
# requests per s, m, h or d), counted (RATE_LIMIT_URL's store) under a keyed hash of the
# address. Rate limits (mapideas.plumbing.ratelimit): per account when signed in, else per IP
# address, unless said; each window is fixed ("30/h": from one hour's start to the next).
# MAPIDEAS_RATE_LIMITS=off lifts them all, for load tests.
MAPIDEAS_RATE_LIMITS = env_bool("MAPIDEAS_RATE_LIMITS", True)
# Pins sent through the map's form or POST /api/ideas/ (not staff entering offline input).
MAPIDEAS_RATE_SUBMISSIONS = env_rate("MAPIDEAS_RATE_SUBMISSIONS", "30/h")
MAPIDEAS_RATE_SUPPORT = env_rate("MAPIDEAS_RATE_SUPPORT", "30/h")
MAPIDEAS_RATE_FOLLOW = env_rate("MAPIDEAS_RATE_FOLLOW", "10/h")
# Area alert subscriptions (/alerts/ and POST /api/subscriptions/) per client IP address.
MAPIDEAS_RATE_ALERT = env_rate("MAPIDEAS_RATE_ALERT", "10/h")
# Citizen sign-ups (/accounts/signup/) per client IP address, whoever is signed in.
MAPIDEAS_RATE_SIGNUP = env_rate("MAPIDEAS_RATE_SIGNUP", "10/h")
# Sign-up emails (a link, or "someone tried") per email address, from any network: one
# mailbox cannot be flooded, nor a pending sign-up's username taken over, from many addresses.
MAPIDEAS_RATE_SIGNUP_EMAILS = env_rate("MAPIDEAS_RATE_SIGNUP_EMAILS", "3/h")
# Flags on pins ("Report this pin", POST /api/ideas/<id>/flag/), per account or IP address.
MAPIDEAS_RATE_FLAGS = env_rate("MAPIDEAS_RATE_FLAGS", "10/h")
# Comments on pins (the pin's page and POST /api/ideas/<id>/comments/), per account (only
# signed-in people comment).
MAPIDEAS_RATE_COMMENTS = env_rate("MAPIDEAS_RATE_COMMENTS", "30/h")
# Login attempts (/accounts/login/), counted twice: per client IP address, and per account
# name tried (so guessing one account's password from many addresses is limited too).
MAPIDEAS_RATE_LOGIN = env_rate("MAPIDEAS_RATE_LOGIN", "20/h")


def _flags_to_hide() -> int:
    flags = env_int("MAPIDEAS_FLAGS_TO_HIDE", 3)
    if flags < 1:
        raise ImproperlyConfigured("MAPIDEAS_FLAGS_TO_HIDE must be 1 or more")
    return flags


# How many flags (from different people, since staff last decided) hide a pin from every
# public output until staff keep or remove it (mapideas.moderation).
MAPIDEAS_FLAGS_TO_HIDE = _flags_to_hide()

# How a citizen may send a pin (mapideas.submission.services.idea_submit): signed in
# ("account", which also offers sign-up), with an email address confirmed by a link ("email"),
# or with neither ("anonymous").
SUBMISSION_MODES = ("account", "email", "anonymous")


def _submission_modes() -> tuple[str, ...]:
    modes = [m.lower() for m in env_list("MAPIDEAS_SUBMISSION_MODES", list(SUBMISSION_MODES))]
    for mode in modes:
        if mode not in SUBMISSION_MODES:
            raise ImproperlyConfigured(
                f"MAPIDEAS_SUBMISSION_MODES: unknown mode {mode!r} "
                f"(a comma-separated list of {', '.join(SUBMISSION_MODES)})"
            )
    if not modes:
        raise ImproperlyConfigured(
            f"MAPIDEAS_SUBMISSION_MODES must name at least one of {', '.join(SUBMISSION_MODES)}"
        )
    return tuple(dict.fromkeys(modes))


MAPIDEAS_SUBMISSION_MODES = _submission_modes()


def _site_url() -> str:
    url = env_str("MAPIDEAS_SITE_URL", "http://127.0.0.1:8000").strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ImproperlyConfigured(f"MAPIDEAS_SITE_URL must start with http(s)://, not {url!r}")
    return url


# The site's address as people reach it: the links in emails start with it.
MAPIDEAS_SITE_URL = _site_url()
# An email that keeps failing is tried this many times (send_notifications), then kept unsent.
MAPIDEAS_EMAIL_MAX_ATTEMPTS = env_int("MAPIDEAS_EMAIL_MAX_ATTEMPTS", 5)


def _photo_root() -> Path:
    # Outside static/ and any web root: photos are served only through views.idea_photo,
    # which checks the pin is public. A relative path is relative to the project.
    raw = env_str("MAPIDEAS_PHOTO_ROOT", "").strip()
    return (BASE_DIR / raw if raw else VAR_DIR / "photos").resolve()


def _photo_limit(name: str, default: int) -> int:
    value = env_int(name, default)
    if value <= 0:
        raise ImproperlyConfigured(f"{name} must be more than 0, not {value}")
    return value


# A pin's optional photo (mapideas.pins.photos): where files go, and what is refused.
MAPIDEAS_PHOTO_ROOT = _photo_root()
MAPIDEAS_PHOTO_MAX_BYTES = _photo_limit("MAPIDEAS_PHOTO_MAX_BYTES", 10 * 1024 * 1024)
# No pixel setting: a photo's pixel limits follow from the memory a worker may spend decoding
# one (mapideas.pins.photos), so a value set for the old setting is refused, not ignored.
if env_str("MAPIDEAS_PHOTO_MAX_PIXELS", ""):
    raise ImproperlyConfigured(
        "MAPIDEAS_PHOTO_MAX_PIXELS is no longer read: a photo's pixel limits (80 megapixels; "
        "12.5 for a PNG, 3.1 for a WebP) follow from the memory a worker may spend on one. "
        "Unset it."
    )
# The long side of the stored photo, in pixels (larger ones are scaled down).
MAPIDEAS_PHOTO_MAX_SIDE = _photo_limit("MAPIDEAS_PHOTO_MAX_SIDE", 2048)

_EMAIL_BACKENDS = {
    "console": "django.core.mail.backends.console.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
}


def _email_backend() -> str:
    """EMAIL_BACKEND: console, file, smtp or a backend's dotted path. Unset: SMTP when
    EMAIL_HOST is set, else the console with DEBUG, else files in var/mail."""
    name = env_str("EMAIL_BACKEND", "").strip()
    if not name:
        if env_str("EMAIL_HOST", ""):
            return _EMAIL_BACKENDS["smtp"]
        return _EMAIL_BACKENDS["console" if DEBUG else "file"]
    if name in _EMAIL_BACKENDS:
        return _EMAIL_BACKENDS[name]
    if "." not in name:
        raise ImproperlyConfigured(
            f"EMAIL_BACKEND must be console, file, smtp or a dotted path, not {name!r}"
        )
    return name


EMAIL_BACKEND = _email_backend()
# Where the file backend writes each message (EMAIL_BACKEND=file): var/mail unless set.
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", "") or str(VAR_DIR / "mail")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "MapIdeas <noreply@localhost>")

# --- Outbound calls (mapideas.plumbing.outbound; docs/operations/outbound-calls.md) ----------


def _outbound_allowed_networks() -> tuple[str, ...]:
    """MAPIDEAS_OUTBOUND_ALLOW: addresses or networks (CIDR) outbound calls may reach although
    they are loopback, private, link-local or reserved, e.g. `127.0.0.1,10.0.0.0/8`."""
    networks = []
    for entry in env_list("MAPIDEAS_OUTBOUND_ALLOW", []):
        try:
            networks.append(str(ip_network(entry)))
        except ValueError:
            raise ImproperlyConfigured(
                f"MAPIDEAS_OUTBOUND_ALLOW: {entry!r} is not an IP address nor a network such "
                "as 10.0.0.0/8 (with no bits set after the prefix)"
            ) from None
    return tuple(networks)


def _outbound_proxy() -> str:
    url = env_str("MAPIDEAS_OUTBOUND_PROXY", "").strip()
    if url and (not url.startswith(("http://", "https://")) or not urlsplit(url).hostname):
        raise ImproperlyConfigured(
            "MAPIDEAS_OUTBOUND_PROXY must be an http:// or https:// proxy URL such as "
            "http://proxy.example:3128"
        )
    return url


def _outbound_seconds(name: str, default: float) -> float:
    raw = env_str(name, "").strip() or str(default)
    try:
        seconds = float(raw)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds <= 300:
        raise ImproperlyConfigured(f"{name} must be seconds above 0 and at most 300, not {raw!r}")
    return seconds


# Addresses (or networks) the calls MapIdeas makes may reach although not public.
OUTBOUND_ALLOWED_NETWORKS = _outbound_allowed_networks()
# A forward proxy every outbound call goes through (empty: none). The destination is still
# checked here; the proxy resolves the name itself.
OUTBOUND_PROXY = _outbound_proxy()
# Seconds to connect; seconds to wait for each byte; seconds for the whole call (a server
# trickling bytes is cut there); the largest answer kept.
OUTBOUND_CONNECT_TIMEOUT = _outbound_seconds("MAPIDEAS_OUTBOUND_CONNECT_TIMEOUT", 5)
OUTBOUND_READ_TIMEOUT = _outbound_seconds("MAPIDEAS_OUTBOUND_READ_TIMEOUT", 10)
OUTBOUND_DEADLINE = _outbound_seconds("MAPIDEAS_OUTBOUND_DEADLINE", 30)
OUTBOUND_MAX_BYTES = env_int("MAPIDEAS_OUTBOUND_MAX_BYTES", 1024 * 1024)
if OUTBOUND_MAX_BYTES <= 0:
    raise ImproperlyConfigured(
        f"MAPIDEAS_OUTBOUND_MAX_BYTES must be more than 0, not {OUTBOUND_MAX_BYTES}"
    )


REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    # DRF's JSONParser with a size limit and a 400 for too-deep nesting
    # (mapideas/plumbing/parsers.py).
    "DEFAULT_PARSER_CLASSES": ["mapideas.plumbing.parsers.JSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # A service's ValidationError, PermissionDenied or RateLimited in the API's error shape
    # (mapideas/plumbing/api_errors.py); Open311's views keep their own.
    "EXCEPTION_HANDLER": "mapideas.plumbing.api_errors.api_exception_handler",
}

# OpenAPI 3 schema of every endpoint, generated from the views and serializers.
# The docs page's Swagger UI comes from the drf-spectacular-sidecar wheel: no CDN.
SPECTACULAR_SETTINGS = {
    "TITLE": "MapIdeas API",
    "DESCRIPTION": (
        "Pins (ideas and issues) on the city map, routed to the district team of the "
        "neighborhood they fall in. GeoJSON per RFC 7946: WGS84, lon,lat."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Two layers call their verdict `significance`: cold/hot spots, and slow/fast spots.
    "ENUM_NAME_OVERRIDES": {
        "SignificanceEnum": "geodata.engagement.fields.Significance.ALL",
        "PaceEnum": "geodata.engagement.fields.Pace.ALL",
    },
}

# --- Security -------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
# HTTPS: the site is served over TLS (by a reverse proxy in front of gunicorn). On by default
# for a deployment, i.e. DEBUG off and ALLOWED_HOSTS given by the environment; `make run` on
# 127.0.0.1 sets neither, so it stays on plain HTTP. With it, `manage.py check --deploy
# --fail-level WARNING` passes: secure cookies, HTTPS redirect, HSTS.
HTTPS = env_bool("HTTPS", not DEBUG and bool(env_str("ALLOWED_HOSTS", "")))
CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", HTTPS)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE
SECURE_SSL_REDIRECT = HTTPS
# The proxy terminates TLS and says so in X-Forwarded-Proto (it must set or strip that
# header): without this, every HTTPS request would look like HTTP and be redirected again.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
# The directive only; the domain joins browsers' preload lists only if its owner submits it.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True


def _tile_source(url: str) -> list[str]:
    """The origin base-map tiles come from, for img-src ({s} subdomains become *)."""
    if not url:
        return []
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0].replace("{s}", "*")
    return [f"{scheme}://{host}"] if scheme in ("http", "https") and host else []


# Content-Security-Policy (django-csp): scripts only from this site or carrying the page's
# nonce, which the templates put on the inline scripts they write themselves (folium's map
# script; mapideas_tags.with_nonce). Script text injected through user content has no nonce,
# so the browser refuses to run it even if escaping ever failed. Styles may be inline:
# folium and Leaflet position the map with style attributes.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:", "blob:", *_tile_source(MAPIDEAS_TILE_URL)],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
