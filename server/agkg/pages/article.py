"""A source document's text cut into paragraphs and runs, with every quoted passage marked.

Each quote is an exact substring of the text (the validator checks that), so marking it is
finding it. A run is a stretch of text covered by the same set of citing nodes; the passages
a reader asked for (`?q=...` on the article page) are marked as highlighted, and the first of
them gets the anchor the quote links jump to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Run:
    text: str
    facts: tuple[int, ...] = ()  # indexes into Article.citing
    highlighted: bool = False
    anchor: bool = False  # the first highlighted run: the target of #passage


@dataclass
class Article:
    paragraphs: list[list[Run]]
    citing: list[str]  # node IRIs, in the order their index appears in runs
    highlights_found: int = 0
    missing: list[str] = field(default_factory=list)  # requested passages not in the text


def read_text(seeds_dir: Path, file_name: str) -> str | None:
    """The document's text, or None when the file is missing or outside seeds/."""
    path = (seeds_dir / file_name).resolve()
    if not path.is_relative_to(seeds_dir.resolve()) or not path.is_file():
        return None
    return path.read_text(encoding="utf-8")


def occurrences(text: str, quote: str) -> list[int]:
    """Start offsets of every occurrence of `quote` in `text`."""
    if not quote:
        return []
    return [m.start() for m in re.finditer(re.escape(quote), text)]


def mark(text: str, quotes: list[tuple[str, str]], highlight: list[str]) -> Article:
    """Cut `text` into paragraphs of runs, given (node IRI, quote) pairs and passages to highlight."""
    citing: list[str] = []
    index: dict[str, int] = {}
    cover: list[set[int]] = [set() for _ in text]
    for node, quote in quotes:
        i = index.setdefault(node, len(citing))
        if i == len(citing):
            citing.append(node)
        for start in occurrences(text, quote):
            for pos in range(start, start + len(quote)):
                cover[pos].add(i)
    lit = [False] * len(text)
    found, missing = 0, []
    for passage in highlight:
        starts = occurrences(text, passage)
        if not starts:
            missing.append(passage)
        for start in starts:
            found += 1
            for pos in range(start, start + len(passage)):
                lit[pos] = True

    paragraphs: list[list[Run]] = []
    anchored = False
    for start, end in _paragraph_spans(text):
        runs: list[Run] = []
        pos = start
        while pos < end:
            key = (tuple(sorted(cover[pos])), lit[pos])
            stop = pos + 1
            while stop < end and (tuple(sorted(cover[stop])), lit[stop]) == key:
                stop += 1
            run = Run(text[pos:stop], key[0], key[1])
            if run.highlighted and not anchored:
                run.anchor = anchored = True
            runs.append(run)
            pos = stop
        paragraphs.append(runs)
    return Article(paragraphs, citing, found, missing)


def _paragraph_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each non-blank paragraph; blank lines separate paragraphs."""
    spans = []
    for m in re.finditer(r"[^\n]+(?:\n(?!\s*\n)[^\n]*)*", text):
        chunk = m.group()
        if chunk.strip():
            lead = len(chunk) - len(chunk.lstrip())
            trail = len(chunk.rstrip())
            spans.append((m.start() + lead, m.start() + trail))
    return spans
