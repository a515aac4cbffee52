"""Text as XML 1.0 can carry it: for every XML writer (Open311's XML, the KML export).

MapIdeas refuses what it cannot store (mapideas.plumbing.stored_text), but rows stored
before that rule, or text echoed from a request, may still hold characters that XML 1.0
cannot carry at all (C0 controls but tab, newline and carriage return; U+FFFE, U+FFFF;
lone surrogates): one of them makes the whole document unreadable (GDAL refuses a KML
file, a client's parser an Open311 list). They are written as U+FFFD, the replacement
character, so the document stays well-formed and the reader sees that something was there.

What XML 1.0 does carry is left as it is, the characters it merely discourages included
(DEL, C1, the noncharacters U+FDD0-U+FDEF and those of the other planes).
"""

import re

# The complement of XML 1.0's Char production (https://www.w3.org/TR/xml/#charsets).
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
REPLACEMENT = "\ufffd"


def xml_text(text: str) -> str:
    """`text` with every character XML 1.0 cannot carry replaced by U+FFFD."""
    return NOT_XML.sub(REPLACEMENT, text)


def is_xml_text(text: str) -> bool:
    return NOT_XML.search(text) is None
