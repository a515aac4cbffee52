"""The export rows: the ideas layer downloaded over HTTP from gunicorn as `make run` serves it
(bench.rows._gunicorn: mapideas/gunicorn_conf.py, the same database settings), against
ogr2ogr writing the same columns, joins and order from the same tables to a file.

Each run downloads the whole layer with curl (a client that reads as fast as it can) to a file,
then ogr2ogr writes its file; runs alternate so that load from elsewhere hits both alike. The
row misses its target whatever its ratio (`also_met`) if a download is cut off, if its features
are not those of the command's export (`manage.py export_layer`, counted once), or if
gunicorn's log says WORKER TIMEOUT. The GeoJSON row also holds the serving worker's peak memory
growth to EXPORT_MEMORY_LIMIT_MIB (docs/decisions/0011-exports-stream-in-flat-memory.md).
"""

import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyogrio

from bench.rows import (
    EXPORT_FLOOR_SQL,
    EXPORT_MEMORY_LIMIT_MIB,
    WITHIN_ONE_AND_A_HALF_FLOORS,
    Context,
    Measurement,
    _gunicorn,
    _medians,
    _ogr_source,
    row,
)

ROOT = Path(__file__).resolve().parents[1]
# ogr2ogr's options for each format: what the export writes (GeoJSON: RFC 7946, 6 decimals).
OGR_OPTIONS = {
    "geojson": ("-f", "GeoJSON", "-lco", "RFC7946=YES", "-lco", "COORDINATE_PRECISION=6"),
    "gpkg": ("-f", "GPKG", "-nln", "ideas"),
}
WORKER_PID = re.compile(rb"Booting worker with pid: (\d+)")


def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} is missing (Debian's {package}; make setup installs it)")
    return path


def _features(path: str) -> int:
    return int(pyogrio.read_info(path)["features"])


def _command_features(extension: str, tmp: str) -> int:
    """The features of `manage.py export_layer ideas` in this format, as the command writes."""
    path = os.path.join(tmp, f"command.{extension}")
    subprocess.run(  # noqa: S603 (a fixed argv, no shell)
        [sys.executable, "manage.py", "export_layer", "ideas", path],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "mapideas.settings"},
        check=True,
        capture_output=True,
    )
    count = _features(path)
    os.remove(path)
    return count


def _workers(log_path: str) -> list[int]:
    """The gunicorn workers alive now (their pids, from the log)."""
    with open(log_path, "rb") as log:
        pids = [int(pid) for pid in WORKER_PID.findall(log.read())]
    return [pid for pid in pids if os.path.exists(f"/proc/{pid}/status")]


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/{pid}/status has no {field}")


def _reset_peaks(pids: list[int]) -> dict[int, int]:
    """Each worker's peak resident size set back to its current one (Linux's clear_refs 5);
    returns the current sizes (KiB)."""
    sizes = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            Path(f"/proc/{pid}/clear_refs").write_text("5")
        sizes[pid] = _status_kib(pid, "VmRSS")
    return sizes


def _download(url: str, path: str) -> float:
    """Seconds curl takes to save `url` to `path`; an error if the answer is not a whole 200
    (curl fails on a chunked body cut off)."""
    started = time.perf_counter()
    subprocess.run(  # noqa: S603 (a fixed argv, no shell)
        [_tool("curl", "curl"), "--silent", "--show-error", "--fail", "--output", path, url],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def _ogr2ogr(extension: str, path: str) -> float:
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)
    started = time.perf_counter()
    subprocess.run(  # noqa: S603 (a fixed argv, no shell)
        [
            _tool("ogr2ogr", "gdal-bin"),
            *OGR_OPTIONS[extension],
            path,
            _ogr_source(),
            "-sql",
            EXPORT_FLOOR_SQL,
        ],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def _export_over_http(context: Context, extension: str) -> Measurement:
    product, floor, growth = [], [], []
    with tempfile.TemporaryDirectory(prefix="mapideas-bench-export-") as tmp:
        context.log(f"  the command's export ({extension}), counted once")
        expected = _command_features(extension, tmp)
        ours, theirs = os.path.join(tmp, f"ours.{extension}"), os.path.join(tmp, f"ogr.{extension}")
        log_path = os.path.join(tmp, "gunicorn.log")
        counts = []
        try:
            with _gunicorn(log_path) as url:
                for run in range(1, context.runs + 1):
                    workers = _workers(log_path)
                    before = _reset_peaks(workers)
                    product.append(_download(f"{url}/export/ideas.{extension}", ours))
                    growth.append(
                        max(
                            (_status_kib(pid, "VmHWM") - rss) / 1024
                            for pid, rss in before.items()
                            if os.path.exists(f"/proc/{pid}/status")
                        )
                    )
                    counts.append(_features(ours))
                    size = os.path.getsize(ours)
                    floor.append(_ogr2ogr(extension, theirs))
                    context.log(
                        f"  run {run}: HTTP {product[-1]:.2f} s ({size / 1e6:.0f} MB,"
                        f" {counts[-1]:,} features, worker peak +{growth[-1]:.0f} MiB),"
                        f" ogr2ogr {floor[-1]:.2f} s ({os.path.getsize(theirs) / 1e6:.0f} MB)"
                    )
        finally:
            with open(log_path, "rb") as log:
                text = log.read().decode(errors="replace")
        timeouts = text.count("WORKER TIMEOUT")
        ogr_features = _features(theirs)
    same = all(count == expected == ogr_features for count in counts)
    details: dict = {
        "bytes": size,
        "features": counts[-1],
        "command_features": expected,
        "ogr2ogr_features": ogr_features,
        "same_features": same,
        "worker_timeouts": timeouts,
        "worker_peak_growth_mib": round(max(growth), 1),
        "also_target": "every download whole, the command's features, no WORKER TIMEOUT",
        "also_met": same and timeouts == 0,
    }
    if extension == "geojson":
        details["memory_limit_mib"] = EXPORT_MEMORY_LIMIT_MIB
        details["memory_met"] = max(growth) <= EXPORT_MEMORY_LIMIT_MIB
    return _medians(product, floor, **details)


@row(
    "export_geojson_http_1m",
    **WITHIN_ONE_AND_A_HALF_FLOORS,
    value="GET /export/ideas.geojson (every idea, streamed) with curl, from gunicorn as "
    "`make run` serves it",
    floor="ogr2ogr -f GeoJSON (RFC7946, 6 decimals) of the same columns, joins and order",
)
def export_geojson_http(context: Context) -> Measurement:
    return _export_over_http(context, "geojson")


@row(
    "export_gpkg_http_1m",
    **WITHIN_ONE_AND_A_HALF_FLOORS,
    value="GET /export/ideas.gpkg (every idea, written then sent) with curl, from gunicorn as "
    "`make run` serves it",
    floor="ogr2ogr -f GPKG (spatial index built) of the same columns, joins and order",
)
def export_gpkg_http(context: Context) -> Measurement:
    return _export_over_http(context, "gpkg")
