"""Where a pin is, in words: the name of a place near it, else its neighborhood's.

The place gazetteer (street and place names a city imports) lives in geodata, which mapideas
never imports (docs/architecture.md, contract 3). So this module keeps a small registry
instead: geodata's AppConfig.ready() registers a provider, a function giving the name of the
gazetteer's place nearest a pin, or None when none is near enough. Without geodata installed,
or without a gazetteer, pins are named by their neighborhood alone.

- `place_near(idea)`: the first provider's answer, or None.
- `place_name(idea)`: that name, else the neighborhood's name, else None (a pin in a gap
  between neighborhoods, with no place near): what a sentence about the pin calls its place
  (a response template's {place}).
- `place_phrase(idea)`: the same as the pin's page says it, "near …" or "in …", translated.
"""

from __future__ import annotations

from collections.abc import Callable

from django.utils.translation import gettext

from mapideas.models import Idea

PlaceProvider = Callable[[Idea], str | None]

_providers: list[PlaceProvider] = []


def register(provider: PlaceProvider) -> None:
    """Ask `provider` for a pin's place name (once, however often ready() runs)."""
    if provider not in _providers:
        _providers.append(provider)


def unregister(provider: PlaceProvider) -> None:
    if provider in _providers:
        _providers.remove(provider)


def place_near(idea: Idea) -> str | None:
    """The name of a gazetteer place near the pin, from the first provider that knows one."""
    for provider in _providers:
        name = provider(idea)
        if name:
            return name
    return None


def place_name(idea: Idea) -> str | None:
    near = place_near(idea)
    if near:
        return near
    return idea.neighborhood.name if idea.neighborhood is not None else None


def place_phrase(idea: Idea) -> str | None:
    """The pin's place as its page says it, in the active language: "near Rue de la Loi" or
    "in East Side"; None for a pin with neither (the page gives its coordinates alone)."""
    near = place_near(idea)
    if near:
        return gettext("near %(place)s") % {"place": near}
    if idea.neighborhood is not None:
        return gettext("in %(neighborhood)s") % {"neighborhood": idea.neighborhood.name}
    return None
