"""Cells of the CSV files staff download (the audit log, the back offices' remote ids)."""


def text_cell(text: str) -> str:
    """`text` as a cell a spreadsheet shows as text: one that starts like a formula ("=",
    "+", "-", "@", a tab or a carriage return) would be run, so it is quoted with an
    apostrophe."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
