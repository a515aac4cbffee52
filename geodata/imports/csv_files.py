"""Reading the CSV files people really have: streamed, gzip or not, UTF-8 with or without a
byte-order mark, comma- or (European spreadsheets) semicolon- or tab-separated, with every
error naming the line it is on. Shared by import_ideas and import_population.
"""

import codecs
import csv
import gzip
import io
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

GZIP_MAGIC = b"\x1f\x8b"
# A longer line is refused rather than read into memory: no CSV row of ours is near 1 MB (a
# description is at most a few thousand characters), and a file without line breaks is no CSV.
MAX_LINE_BYTES = 1024 * 1024


@dataclass
class CsvRows:
    delimiter: str
    # (line where the row starts, cells) for every non-blank row, the header first. Lines are
    # physical: a quoted field over several lines does not shift the numbers after it.
    rows: Iterator[tuple[int, list[str]]]


@contextmanager
def csv_rows(path: Path, *, error: type[Exception]) -> Iterator[CsvRows]:
    """Open `path` for reading as CSV; any problem with the file raises `error`."""
    try:
        size = path.stat().st_size
        if size > settings.MAPIDEAS_IMPORT_MAX_BYTES:
            raise error(
                f"{path.name}: {size:,} bytes, more than the "
                f"{settings.MAPIDEAS_IMPORT_MAX_BYTES:,} an import reads "
                "(MAPIDEAS_IMPORT_MAX_BYTES)."
            )
        with open(path, "rb") as probe:
            magic = probe.read(2)
        file = gzip.open(path, "rb") if magic == GZIP_MAGIC else open(path, "rb")  # noqa: SIM115
    except FileNotFoundError:
        raise error(f"No such file: {path}") from None
    except IsADirectoryError:
        raise error(f"{path} is a directory, not a CSV file.") from None
    except OSError as exc:
        raise error(f"Cannot read {path}: {exc.strerror or exc}") from None
    with file:
        yield _rows(_decoded_lines(file, path.name, error), path.name, error)


def _decoded_lines(file: io.BufferedIOBase, name: str, error: type[Exception]) -> Iterator[str]:
    """Decode line by line, so that an encoding error can name its line.

    Splitting the bytes on b"\\n" is safe in UTF-8: no multi-byte character contains that byte.
    `file` is a GzipFile or a plain binary file: both are buffered binary streams.
    """
    line = 0
    try:
        while raw := file.readline(MAX_LINE_BYTES + 1):
            line += 1
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                raise error(
                    f"{name}, line {line}: longer than {MAX_LINE_BYTES // 1024 // 1024} MB; "
                    "is it a CSV file?"
                )
            if line == 1:
                if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                    raise error(f"{name} is in UTF-16; save it as CSV in UTF-8 and try again.")
                raw = raw.removeprefix(codecs.BOM_UTF8)
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise error(
                    f"{name}, line {line}: not valid UTF-8 (byte 0x{raw[exc.start]:02x} at "
                    f"character {exc.start + 1}). Save the file as CSV in UTF-8 and try again."
                ) from None
    except (OSError, EOFError, zlib.error) as exc:  # a damaged or truncated gzip, a bad disk
        raise error(f"{name}, after line {line}: cannot read the file ({exc}).") from None


def _rows(lines: Iterator[str], name: str, error: type[Exception]) -> CsvRows:
    first: list[str] = []
    for text in lines:
        first.append(text)
        if text.strip():
            break
    header = first[-1] if first else ""
    delimiter = ","
    if "," not in header:
        delimiter = ";" if ";" in header else "\t" if "\t" in header else ","

    def replay() -> Iterator[str]:
        yield from first
        yield from lines

    def rows() -> Iterator[tuple[int, list[str]]]:
        if not header.strip():
            return
        reader = csv.reader(replay(), delimiter=delimiter)
        while True:
            start = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise error(f"{name}, line {start}: cannot read the CSV: {exc}.") from None
            if any(cell.strip() for cell in cells):
                yield start, cells

    return CsvRows(delimiter=delimiter, rows=rows())
