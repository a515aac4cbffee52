"""Open311's two formats. The extension decides (`services.xml`), never the Accept header.

XML follows the spec's shapes: a list becomes `<services><service>…`, `<service_requests>
<request>…` or `<errors><error>…`; JSON is the spec's "Spark convention" mapping of the same
data (a list at the top, no root element).
"""

import xml.etree.ElementTree as ET
from datetime import datetime

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer, JSONRenderer

from mapideas.plumbing.xml_text import xml_text

# The element of each item of a list, by the list's element name.
ITEM_ELEMENTS = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
    "attributes": "attribute",
    "values": "value",
}


class ExtensionNegotiation(DefaultContentNegotiation):
    """Each URL has one renderer (its extension's): use it whatever the client accepts."""

    def select_renderer(self, request, renderers, format_suffix=None):
        renderer = renderers[0]
        return renderer, renderer.media_type


class Open311JSONRenderer(JSONRenderer):
    media_type = "application/json"
    format = "json"
    charset = "utf-8"
    # Escaped, so that text echoed from the client (a lone surrogate in a JSON body, say)
    # can always be written.
    ensure_ascii = True

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        # The browsable API's indent negotiation is not wanted: compact, like the spec.
        return super().render(data, "application/json", renderer_context)


class Open311XMLRenderer(BaseRenderer):
    media_type = "text/xml"
    format = "xml"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if data is None:
            return b""
        renderer_context = renderer_context or {}
        response = renderer_context.get("response")
        view = renderer_context.get("view")
        if response is not None and response.status_code >= 400:
            root_name = "errors"
        else:
            root_name = getattr(view, "xml_root", "response")
        root = ET.Element(root_name)
        _fill(root, data)
        ET.indent(root)
        return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(
            root, encoding="utf-8", xml_declaration=False
        )


def _fill(element: ET.Element, value: object) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            _fill(ET.SubElement(element, str(key)), child)
    elif isinstance(value, list | tuple):
        item_name = ITEM_ELEMENTS.get(element.tag, "item")
        for child in value:
            _fill(ET.SubElement(element, item_name), child)
    elif value is None:
        return  # an empty element, as the spec's examples write a missing value
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif isinstance(value, datetime):
        element.text = value.isoformat()
    else:
        # Text stored before MapIdeas refused what it cannot store, or echoed from a query,
        # may hold characters XML 1.0 cannot carry: U+FFFD, so the document stays readable.
        element.text = xml_text(str(value))
