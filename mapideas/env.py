"""Typed readers for settings that come from environment variables.

A bad value stops start-up with ImproperlyConfigured naming the variable, rather than
being silently replaced by a default.
"""

import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


_RATE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def env_rate(name: str, default: str) -> tuple[int, int]:
    """A rate limit such as `30/h` (also `/s`, `/m`, `/d`, or `/10m`): (requests, seconds).

    `0/h` allows nothing; the window is fixed (mapideas.plumbing.ratelimit)."""
    raw = os.environ.get(name)
    text = default if raw is None or raw.strip() == "" else raw.strip()
    count, _, per = text.partition("/")
    number, unit = per[:-1], per[-1:]
    try:
        requests = int(count)
        seconds = (int(number) if number else 1) * _RATE_UNITS[unit]
    except (ValueError, KeyError):
        raise ImproperlyConfigured(
            f"{name} must look like 30/h (a number, '/', an optional number and s, m, h or d), "
            f"not {text!r}"
        ) from None
    if requests < 0 or seconds <= 0:
        raise ImproperlyConfigured(f"{name} must be a number of requests per time, not {text!r}")
    return requests, seconds
