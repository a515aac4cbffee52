"""Every input parameter MapIdeas reads, found where it is declared, not listed by hand.

A parameter is `(url name, method, name)`: the name of a path converter, a query parameter,
a header, a body field or an uploaded file. Five sources are read, each a different way a
parameter comes into being:

- the URLconf: every pattern, the names of its path converters, and the methods its view
  answers (a class view's handlers, a function view's `require_http_methods` list);
- the OpenAPI schema, as the code generates it (drf-spectacular): the query, header and body
  fields of every operation, JSON and multipart (path parameters come from the URLconf,
  where they have the view's own names);
- the Django forms of the rooms: every Form class of `mapideas`, `geodata` and
  `neighborhoods`, each mapped to the endpoints that bind it (`FORM_ENDPOINTS`: a new form
  class fails the meta-test until it is mapped);
- the pages as each role sees them: every `<form>` of every page, its action resolved to an
  endpoint, its inputs' names (hidden ones included, such as the bulk form's `query`);
- the source: every `request.GET`/`POST`/`query_params`/`data`/`headers` read by name
  (`request.GET.get("page")`, ...) anywhere in the rooms, each mapped to its endpoints in
  `DIRECT_READS` (a new read fails the meta-test until it is mapped), and the readers that
  take a whole query (the filter set the exports share, the engagement parameters).

tests/test_every_parameter.py drives every parameter found here; its meta-test fails, naming
what to add, when one is not in its table.
"""

import importlib
import pkgutil
import re
from collections.abc import Iterable
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

from django import forms
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404

Parameter = tuple[str, str, str]  # (url name, method, parameter name)

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("mapideas", "geodata", "neighborhoods")

# Methods that read no parameter of their own: HEAD is GET without a body, OPTIONS describes.
IGNORED_METHODS = {"HEAD", "OPTIONS", "TRACE"}

# Django's admin is Django's own, with its own forms and permission checks: not ours to list.
ADMIN = "admin"


# --- The URLconf ----------------------------------------------------------------------------


def _view_methods(callback) -> set[str]:
    """The methods a view answers: a class view's handlers, or the list a function view's
    `require_http_methods` (`require_POST`, ...) closes over; GET and POST otherwise (the
    function reads `request.method` itself, or ignores it)."""
    view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    if view_class is not None:
        return {
            m.upper()
            for m in view_class.http_method_names
            if hasattr(view_class, m) and m.upper() not in IGNORED_METHODS
        }
    function = callback
    while function is not None:
        for cell in function.__closure__ or ():
            try:
                value = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            if (
                isinstance(value, list | tuple)
                and value
                and all(isinstance(m, str) and m.isupper() for m in value)
            ):
                return set(value) - IGNORED_METHODS
        function = getattr(function, "__wrapped__", None)
    return {"GET", "POST"}


def url_patterns() -> dict[str, tuple[str, set[str], tuple[str, ...]]]:
    """url name -> (route, methods, path parameter names), for every pattern but the admin."""
    found: dict[str, tuple[str, set[str], tuple[str, ...]]] = {}

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.app_name == ADMIN:
                    continue
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
                continue
            assert isinstance(pattern, URLPattern)
            route = prefix + str(pattern.pattern)
            names = tuple(pattern.pattern.regex.groupindex)
            found[pattern.name or route] = (route, _view_methods(pattern.callback), names)

    walk(get_resolver().url_patterns, "")
    return found


def urlconf_parameters() -> set[Parameter]:
    """Every path converter of every pattern, for each method its view answers."""
    return {
        (name, method, converter)
        for name, (_route, methods, converters) in url_patterns().items()
        for method in methods
        for converter in converters
    }


def operations() -> set[tuple[str, str]]:
    """Every (url name, method) the URLconf serves, the admin excepted."""
    return {
        (name, method) for name, (_r, methods, _c) in url_patterns().items() for method in methods
    }


# --- The OpenAPI schema ---------------------------------------------------------------------


def _url_name(path: str) -> str:
    """The url name of an OpenAPI path: its templated parts filled with a digit."""
    concrete = re.sub(r"\{[^}]+\}", "1", path)
    try:
        return resolve(concrete).url_name or path
    except Resolver404:
        raise AssertionError(f"the OpenAPI path {path} resolves to no URL pattern") from None


def openapi_parameters(schema: dict | None = None) -> set[Parameter]:
    """The query, header and body fields of every operation of the schema the code generates
    (JSON, form-encoded and multipart bodies alike)."""
    if schema is None:
        from drf_spectacular.generators import SchemaGenerator

        schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema.get("components", {}).get("schemas", {})
    found: set[Parameter] = set()
    for path, item in schema["paths"].items():
        name = _url_name(path)
        for method, operation in item.items():
            if method.upper() in IGNORED_METHODS or not isinstance(operation, dict):
                continue
            method = method.upper()
            for parameter in operation.get("parameters", []):
                if parameter["in"] in ("query", "header"):
                    found.add((name, method, parameter["name"]))
            for content in operation.get("requestBody", {}).get("content", {}).values():
                body = content.get("schema", {})
                if "$ref" in body:
                    body = components[body["$ref"].rsplit("/", 1)[-1]]
                for field in body.get("properties", {}):
                    found.add((name, method, field))
    return found


# --- The forms of the rooms -----------------------------------------------------------------


def _modules() -> Iterable[str]:
    for package in PACKAGES:
        root = importlib.import_module(package)
        for info in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
            if ".migrations" in info.name or ".management" in info.name:
                continue
            yield info.name


def form_classes() -> dict[str, type[forms.BaseForm]]:
    """Every Form class defined in the rooms (module.Class -> class), admin forms aside:
    imported module by module, then found among the subclasses of Django's BaseForm."""
    for module in _modules():
        importlib.import_module(module)
    found: dict[str, type[forms.BaseForm]] = {}
    pending: list[type] = [forms.BaseForm]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        module = cls.__module__
        if module.split(".")[0] in PACKAGES and not module.endswith(".admin"):
            found[f"{module}.{cls.__qualname__}"] = cls
    return found


def form_fields(cls: type[forms.BaseForm]) -> set[str]:
    return set(cls.base_fields)


def form_parameters(form_endpoints: dict[str, list[tuple[str, str]]]) -> set[Parameter]:
    """Every field of every form class, at each endpoint that binds it."""
    classes = form_classes()
    return {
        (name, method, field)
        for form, endpoints in form_endpoints.items()
        if form in classes
        for name, method in endpoints
        for field in form_fields(classes[form])
    }


# --- Readers that take a whole query ---------------------------------------------------------


def filterset_parameters(url_name: str, method: str = "GET") -> set[Parameter]:
    """The pins' filter set (mapideas.pins.filters.IdeaFilter) as a query reads it: a date
    range is two parameters (`created_after`, `created_before`)."""
    from django_filters import DateFromToRangeFilter

    from mapideas.pins.filters import IdeaFilter

    found: set[Parameter] = set()
    for name, spec in IdeaFilter.base_filters.items():
        if isinstance(spec, DateFromToRangeFilter):
            found |= {(url_name, method, f"{name}_after"), (url_name, method, f"{name}_before")}
        else:
            found.add((url_name, method, name))
    return found


def engagement_parameters(url_name: str, method: str = "GET") -> set[Parameter]:
    """Every engagement layer's parameters (geodata.engagement.query), as the exports and
    the planner page read them."""
    from geodata.engagement.query import QUERY_SERIALIZERS

    return {
        (url_name, method, field)
        for serializer in QUERY_SERIALIZERS.values()
        for field in serializer().fields
    }


def whole_query_parameters() -> set[Parameter]:
    """The parameters of the endpoints that hand the whole query to a shared reader: the
    exports (the filter set, the engagement parameters, `lang`) and the planner page (its form,
    and the filters it names as ignored)."""
    from geodata.planner.page import NOT_CITY_WIDE

    return (
        filterset_parameters("export-layer")
        | engagement_parameters("export-layer")
        | {("planner", "GET", name) for name in NOT_CITY_WIDE}
    )


# --- Reads by name in the source -------------------------------------------------------------

# `request.GET.get("page")`, `request.query_params.getlist("x")`, `request.headers.get("Accept")`
_READ = re.compile(
    r"request\.(GET|POST|query_params|data|FILES|headers)\.(?:get|getlist|pop)\(\s*\"([^\"]+)\""
)


def direct_reads() -> set[tuple[str, str]]:
    """(source file, parameter name) for every parameter the rooms read from a request by
    name, outside a form or serializer."""
    found: set[tuple[str, str]] = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            text = path.read_text()
            for match in _READ.finditer(text):
                found.add((str(path.relative_to(ROOT)), match.group(2)))
    return found


# --- The pages, as each role sees them --------------------------------------------------------


class _Forms(HTMLParser):
    """The forms of a page: (action, method, input names), each input's name as sent."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[tuple[str, str, set[str]]] = []
        self._current: tuple[str, str, set[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form":
            self._current = (
                values.get("action") or "",
                (values.get("method") or "GET").upper(),
                set(),
            )
            self.forms.append(self._current)
        elif tag in ("input", "select", "textarea", "button") and self._current is not None:
            name = values.get("name")
            if name:
                self._current[2].add(name)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


# Inputs a page sends that no view of ours reads: Django's CSRF middleware checks the token.
NOT_READ_BY_OUR_VIEWS = {"csrfmiddlewaretoken"}


def page_form_parameters(pages: Iterable[tuple[str, str]]) -> set[Parameter]:
    """The inputs of every <form> of the given pages: (page url, HTML) pairs. A form's action
    is resolved to its endpoint (no action: the page itself)."""
    found: set[Parameter] = set()
    for url, html in pages:
        parser = _Forms()
        parser.feed(html)
        for action, method, names in parser.forms:
            target = urlsplit(action).path or urlsplit(url).path
            try:
                name = resolve(target).url_name
            except Resolver404:
                raise AssertionError(f"a form on {url} posts to {action}: no such URL") from None
            found |= {(name, method, n) for n in names - NOT_READ_BY_OUR_VIEWS}
    return found
