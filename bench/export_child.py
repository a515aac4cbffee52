"""`python -m bench.export_child PATH`: stream the ideas layer's GeoJSON to PATH, as
export_layer and /export/ideas.geojson do, and print what it cost as one JSON line.

A process of its own, so that its peak memory (the kernel's high-water mark, VmHWM) is the
export's alone: growth is that peak minus the resident size just before the export starts,
after Django and the database connection are set up.
"""

import json
import os
import sys
import time
from pathlib import Path


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def main(path: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mapideas.settings")
    import django

    django.setup()
    from django.db import connection

    from geodata.exports import layers as exports
    from mapideas.pins import selectors

    connection.ensure_connection()
    before_kib = _status_kib("VmRSS")
    started = time.perf_counter()
    count = 0
    with open(path, "w", encoding="utf-8") as out:
        for piece in exports.feature_collection(exports.idea_features(selectors.public_ideas())):
            out.write(piece)
            count += 1
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "seconds": seconds,
                "pieces": count,
                "rss_before_mib": before_kib / 1024,
                "peak_growth_mib": (_status_kib("VmHWM") - before_kib) / 1024,
                "bytes": Path(path).stat().st_size,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])
