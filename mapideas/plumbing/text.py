"""Text normalised for matching: place names (geodata.places) and pin texts
(mapideas.similar) are compared lowercase with accents folded."""

import re
import unicodedata

_WORD = re.compile(r"[^\W_]+")


def normalise(text: str) -> str:
    """Lowercase, accents folded ("Église" -> "eglise"), whitespace collapsed.

    NFKD splits a letter from its accents, which are then dropped; casefold also maps "ß" to
    "ss". Characters with no decomposition (Cyrillic, CJK) are kept as they are."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    folded = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(folded.split())


def words(text: str) -> list[str]:
    """The normalised words of `text` (letters and digits; punctuation splits words)."""
    return _WORD.findall(normalise(text))
