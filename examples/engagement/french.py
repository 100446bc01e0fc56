"""A light French analyzer standing in for MongoDB's text index: case/diacritic folding, stop words, stems."""

from __future__ import annotations

import re
import unicodedata

STOP_WORDS = frozenset(
    [
        "a",
        "au",
        "aux",
        "avec",
        "ce",
        "ces",
        "d",
        "dans",
        "de",
        "des",
        "du",
        "en",
        "et",
        "l",
        "la",
        "le",
        "les",
        "leur",
        "pour",
        "par",
        "sur",
        "un",
        "une",
    ]
)
_WORD = re.compile(r"[^\W_]+")


def fold(text: str) -> str:
    """Lower case without diacritics, as a version 3 text index compares."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def stem(word: str) -> str:
    """Strip plural then feminine endings: `amies` and `amis` both give `ami` (a much simpler Snowball)."""
    if len(word) > 3 and word[-1] in "sx":
        word = word[:-1]
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    return word


def keywords(text: str) -> list[str]:
    """Distinct stems of the words of `text`, stop words removed, in first-seen order."""
    stems = (stem(w) for w in _WORD.findall(fold(text)) if w not in STOP_WORDS)
    return list(dict.fromkeys(stems))
