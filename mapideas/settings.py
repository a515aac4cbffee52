"""Settings for MapIdeas.

Everything a deployment changes comes from environment variables (see README, "Configuration").
Bad values stop start-up with ImproperlyConfigured rather than being silently replaced.
"""

import secrets
from pathlib import Path

import dj_database_url
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
    "neighborhoods",
    "mapideas",
    "geodata",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
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
            ],
        },
    },
]


# --- Database -------------------------------------------------------------------------------
# DATABASE_URL picks the backend: spatialite:///abs/path.sqlite3 (default, under var/) or
# postgis://user:pass@host:port/db (production). Non-spatial URLs are refused: every feature
# of MapIdeas is spatial, and a plain sqlite/postgres backend would fail later and obscurely.
_DEFAULT_DATABASE_URL = f"spatialite:///{VAR_DIR / 'mapideas.sqlite3'}"
_SPATIAL_ENGINES = {
    "django.contrib.gis.db.backends.spatialite",
    "django.contrib.gis.db.backends.postgis",
}


def _database() -> dict:
    url = env_str("DATABASE_URL", "") or _DEFAULT_DATABASE_URL
    if url.startswith("spatialite:"):
        return _spatialite(url)
    try:
        config = dj_database_url.parse(url, conn_max_age=env_int("DB_CONN_MAX_AGE", 0))
    except Exception as exc:  # dj_database_url raises bare ValueErrors/KeyErrors on odd URLs
        raise ImproperlyConfigured(f"DATABASE_URL could not be read: {exc}") from exc
    if config["ENGINE"] not in _SPATIAL_ENGINES:
        raise ImproperlyConfigured(
            "DATABASE_URL must use postgis:// or spatialite:/// (MapIdeas needs a spatial "
            f"database); got {url.split(':', 1)[0]}://"
        )
    return config


def _spatialite(url: str) -> dict:
    """spatialite:///abs/path.sqlite3 names an absolute path (dj-database-url would read three
    slashes as a relative one); spatialite://relative/path is relative to the project."""
    rest = url.removeprefix("spatialite:").removeprefix("//")
    if not rest or rest == "/":
        raise ImproperlyConfigured("DATABASE_URL spatialite:// needs a file path.")
    path = Path("/" + rest.lstrip("/")) if rest.startswith("/") else BASE_DIR / rest
    path.parent.mkdir(parents=True, exist_ok=True)
    return {"ENGINE": "django.contrib.gis.db.backends.spatialite", "NAME": str(path)}


DATABASES = {"default": _database()}
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

LANGUAGE_CODE = "en"
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
# The most pins one API page or one map request carries; the response says when it is cut.
MAPIDEAS_MAX_PAGE_SIZE = env_int("MAPIDEAS_MAX_PAGE_SIZE", 1000)
# The most points the planner heatmap draws in the browser (newest first).
MAPIDEAS_HEATMAP_MAX_POINTS = env_int("MAPIDEAS_HEATMAP_MAX_POINTS", 50000)

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
# requests per s, m, h or d), counted in Django's cache under a keyed hash of the address.
MAPIDEAS_RATE_SUPPORT = env_rate("MAPIDEAS_RATE_SUPPORT", "30/h")
MAPIDEAS_RATE_FOLLOW = env_rate("MAPIDEAS_RATE_FOLLOW", "10/h")


def _site_url() -> str:
    url = env_str("MAPIDEAS_SITE_URL", "http://127.0.0.1:8000").strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ImproperlyConfigured(f"MAPIDEAS_SITE_URL must start with http(s)://, not {url!r}")
    return url


# The site's address as people reach it: the links in emails start with it.
MAPIDEAS_SITE_URL = _site_url()
# An email that keeps failing is tried this many times (send_notifications), then kept unsent.
MAPIDEAS_EMAIL_MAX_ATTEMPTS = env_int("MAPIDEAS_EMAIL_MAX_ATTEMPTS", 5)

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
EMAIL_FILE_PATH = VAR_DIR / "mail"
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "MapIdeas <noreply@localhost>")

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
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
}

# --- Security -------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG and env_bool("HTTPS", False))
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
