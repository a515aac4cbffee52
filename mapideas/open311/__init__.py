"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2) over the ideas domain.

Services are our categories (service_code = category slug); service requests are pins. A POST
goes through mapideas.open311.services.open311_request_create, hence idea_create and route(),
like every pin. Each resource answers in XML (`.xml`, required by the spec) and JSON (`.json`),
the format chosen by the extension, errors included.
"""
