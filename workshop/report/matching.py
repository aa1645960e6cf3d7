"""Finding the truth's values in stored text without comparing every value with every resident.

Stored text and the truth's values are cut into the same tokens (Unicode word characters, after
NFKC normalisation and case folding: ``"粤A12345"``, ``"li"``, ``"wei"``, ``"2016"``), and a value is
found where its whole token sequence occurs, with word boundaries on both sides. The values are
indexed by their first token, so reading a text costs one dictionary look-up per token plus a
comparison per value that starts with it: proportional to the text, not to the population. (An
Aho-Corasick automaton over characters would do the same for substrings; tokens are what the
matching rules want anyway — ``王芳`` must not be found inside ``王芳芳``, nor a phone number inside
a longer number — and need no dependency.)

What the ``Needles`` index returns for a match is a tag the caller chose (``workshop.report.index``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import Generic, TypeVar

WORD = re.compile(r"\w+")
Tag = TypeVar("Tag")


def normalised(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def tokens(text: str) -> list[str]:
    """The word tokens of ``text`` as the matcher compares them."""
    return WORD.findall(normalised(text))


class Needles(Generic[Tag]):
    """Values to find, each under a tag; several values may share a tag, one value have several tags."""

    def __init__(self) -> None:
        self._by_first: dict[str, dict[tuple[str, ...], set[Tag]]] = {}

    def add(self, value: str, tag: Tag) -> bool:
        """Index ``value`` under ``tag``; False if it has no word in it (nothing could find it)."""
        sequence = tuple(tokens(value))
        if not sequence:
            return False
        self._by_first.setdefault(sequence[0], {}).setdefault(sequence, set()).add(tag)
        return True

    def find(self, text: str) -> Iterator[Tag]:
        """Every tag of every value that occurs in ``text`` (a tag once per occurrence)."""
        words = tokens(text)
        for start, word in enumerate(words):
            candidates = self._by_first.get(word)
            if not candidates:
                continue
            for sequence, tags in candidates.items():
                if tuple(words[start : start + len(sequence)]) == sequence:
                    yield from tags
