"""Finding the project's input files, parsing them, and remembering where each node was written.

rdflib keeps no source positions, so after a file parses we scan its Turtle text once with a
small tokenizer (strings and comments skipped, prefixes resolved) and note the line on which
each subject is first written. That is what lets a validation report say "data/x.ttl:12".
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin

from rdflib import Graph, URIRef
from rdflib.term import Node
from rdflib.util import guess_format


class SourceError(Exception):
    """An input file that cannot be read or parsed; `line` is 0 when the whole file is at fault."""

    def __init__(self, path: Path | str, line: int, message: str):
        self.path = Path(path)
        self.line = line
        self.message = message
        super().__init__(f"{self.path}:{line}: {message}")


@dataclass
class Project:
    """An agkg checkout: ontology/, data/, shapes/ and seeds/ under one root."""

    root: Path

    def _ttl(self, folder: str) -> list[Path]:
        return sorted((self.root / folder).glob("*.ttl"))

    @property
    def ontology_files(self) -> list[Path]:
        return self._ttl("ontology")

    @property
    def data_files(self) -> list[Path]:
        return self._ttl("data")

    @property
    def shape_files(self) -> list[Path]:
        return self._ttl("shapes")

    @property
    def seeds_dir(self) -> Path:
        return self.root / "seeds"

    @classmethod
    def discover(cls, start: Path | None = None) -> Project:
        """$AGKG_ROOT if set, else the nearest folder at or above `start` (default: cwd)
        holding both ontology/ and data/, else the copy installed under <prefix>/share/agkg
        (what lets the pre-commit hook check another repository's Turtle with our shapes)."""
        env = os.environ.get("AGKG_ROOT")
        if env:
            root = Path(env).expanduser().resolve()
            if not _is_root(root):
                raise SourceError(root, 0, "AGKG_ROOT does not contain ontology/ and data/")
            return cls(root)
        here = (start or Path.cwd()).resolve()
        for folder in (here, *here.parents, Path(sys.prefix) / "share" / "agkg"):
            if _is_root(folder):
                return cls(folder)
        raise SourceError(
            here, 0, "no agkg project here or above (a folder with ontology/ and data/); "
            "pass --root DIR or set AGKG_ROOT"
        )


def _is_root(folder: Path) -> bool:
    return (folder / "ontology").is_dir() and (folder / "data").is_dir()


@dataclass
class Parsed:
    """The merged graph of some files, and where each subject node was written."""

    graph: Graph
    files: list[Path]
    _origins: dict[Node, list[tuple[Path, int]]] = field(default_factory=dict, repr=False)

    def origins(self, node: Node) -> list[tuple[Path, int]]:
        """Every (file, line) where `node` is described as a subject, in file order.

        A node no file describes (a blank node, or an IRI only ever used as an object) takes
        the places of the nearest described nodes that refer to it.
        """
        return nearest_origins(node, lambda n: self._origins.get(n, []), lambda n: self.graph.subjects(None, n), self._order)

    def describes(self, node: Node) -> bool:
        """Whether some file writes `node` as a subject."""
        return node in self._origins

    def _order(self, origin: tuple[Path, int]) -> tuple[int, int]:
        path, line = origin
        return (self.files.index(path) if path in self.files else len(self.files), line)

    def origin(self, node: Node) -> tuple[Path, int] | None:
        """The file and line where `node` is first described, or None if no file describes it."""
        found = self.origins(node)
        return found[0] if found else None


def nearest_origins(
    node: Node,
    own: Callable[[Node], list[tuple[Path, int]]],
    parents: Callable[[Node], Iterable[Node]],
    order: Callable[[tuple[Path, int]], tuple],
) -> list[tuple[Path, int]]:
    """`own(node)` (the places a node is written, in file order), else those of the nearest
    nodes that refer to it, breadth first through `parents` (the subjects linking to a node)."""
    found, seen, frontier = own(node), {node}, [node]
    while not found and frontier:
        frontier = [p for p in dict.fromkeys(p for n in frontier for p in parents(n)) if p not in seen]
        seen.update(frontier)
        found = sorted({o for n in frontier for o in own(n)}, key=order)
    return found


def parse_files(paths: list[Path] | tuple[Path, ...]) -> Parsed:
    """Parse each file (Turtle unless its suffix says otherwise) into one graph.

    Raises SourceError naming the file and line of the first syntax error.
    """
    graph = Graph(bind_namespaces="none")
    origins: dict[Node, list[tuple[Path, int]]] = {}
    files = [Path(p) for p in paths]
    for path in files:
        text = _read(path)
        fmt = guess_format(str(path)) or "turtle"
        part = Graph()
        try:
            part.parse(data=text, format=fmt, publicID=path.resolve().as_uri())
        except Exception as exc:  # rdflib raises many types; each is the file's fault
            line, message = _syntax_error_position(exc, text)
            raise SourceError(path, line, message) from exc
        for prefix, ns in part.namespaces():
            graph.bind(prefix, ns, override=False, replace=False)
        graph += part
        lines = subject_lines(text, base=path.resolve().as_uri()) if fmt in ("turtle", "nt", "ntriples") else {}
        for subject in set(part.subjects()):
            if isinstance(subject, URIRef):
                origins.setdefault(subject, []).append((path, lines.get(str(subject), 0)))
    return Parsed(graph, files, origins)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SourceError(path, 0, "no such file") from None
    except IsADirectoryError:
        raise SourceError(path, 0, "is a folder, not a Turtle file") from None
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise SourceError(path, line, "not UTF-8 text (Turtle files must be UTF-8)") from None
    except OSError as exc:
        raise SourceError(path, 0, exc.strerror or str(exc)) from None


def _syntax_error_position(exc: Exception, text: str) -> tuple[int, str]:
    """The line and the short reason out of an rdflib parser exception."""
    why = getattr(exc, "_why", None)
    if why is not None:  # notation3.BadSyntax: _i indexes the text as parsed
        raw = getattr(exc, "_str", b"")
        parsed = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        i = getattr(exc, "_i", 0)
        line = parsed[:i].count("\n") + 1 if parsed else getattr(exc, "lines", 0) + 1
        near = parsed[i : i + 40].split("\n")[0].strip()
        return line, f"{why}" + (f' near "{near}"' if near else "")
    match = re.search(r"line (\d+)", str(exc))
    return (int(match.group(1)) if match else 0), str(exc).strip().split("\n")[0]


# --- where subjects are written -------------------------------------------------------------

_PN_CHARS = r"[^\s<>\"'{}|^`\\()\[\];,#=]"  # permissive: anything that is not a delimiter
_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>\#[^\n]*)
  | (?P<lstring>\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"|'''(?:[^'\\]|\\.|'(?!''))*''')
  | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<iri><[^<>"{}|^`\\\s]*>)
  | (?P<directive>@prefix|@base|(?i:PREFIX|BASE)(?=\s))
  | (?P<langtag>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)
  | (?P<number>[+-]?(?:\d+\.\d+|\.\d+|\d+)(?:[eE][+-]?\d+)?)
  | (?P<pname>(?:[A-Za-z_][\w\-.]*)?:(?:(?:[\w\-:%]|\\.)(?:(?:[\w\-.:%]|\\.)*(?:[\w\-:%]|\\.))?)?)
  | (?P<punct>\^\^|[\[\]();,.])
  | (?P<word>""" + _PN_CHARS + r"""+)
    """,
    re.VERBOSE,
)
_UNESCAPE = re.compile(r"\\(.)")


def subject_lines(text: str, base: str = "") -> dict[str, int]:
    """Map each IRI written in subject position to the line where it first appears there.

    A subject is the first term of a statement at bracket depth 0. Tolerant by design: it runs
    after rdflib accepted the file, and an IRI it cannot place just gets no line.
    """
    prefixes: dict[str, str] = {}
    lines: dict[str, int] = {}
    line = 1
    depth = 0
    expect_subject = True
    directive: list[str] | None = None  # tokens collected after @prefix/@base
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:  # unknown character: skip it
            pos += 1
            continue
        kind, value = m.lastgroup, m.group()
        token_line = line
        line += value.count("\n")
        pos = m.end()
        if kind in ("ws", "comment"):
            continue
        if directive is not None:
            if kind == "punct" and value == ".":
                directive = None
                expect_subject = True
                continue
            directive.append(value)
            if directive[0].lower().endswith("prefix") and len(directive) == 3:
                prefixes[directive[1][:-1]] = _iri(directive[2], base)
                directive, expect_subject = None, True
            elif directive[0].lower().endswith("base") and len(directive) == 2:
                base = _iri(directive[1], base)
                directive, expect_subject = None, True
            continue
        if kind == "directive":
            directive = [value]
            continue
        if kind == "punct":
            if value in "[(":
                depth += 1
            elif value in "])":
                depth = max(0, depth - 1)
            elif value == "." and depth == 0:
                expect_subject = True
                continue
            if value in "[(":  # a blank node or list: the subject (if one was due) is unnamed
                expect_subject = False
            continue
        if expect_subject and depth == 0:
            iri = None
            if kind == "iri":
                iri = _iri(value, base)
            elif kind == "pname":
                prefix, _, local = value.partition(":")
                if prefix in prefixes:
                    iri = prefixes[prefix] + _UNESCAPE.sub(r"\1", local)
            if iri is not None:
                lines.setdefault(iri, token_line)
            expect_subject = False
    return lines


def file_subject_lines(path: Path | str) -> dict[str, int]:
    """subject_lines of a Turtle file."""
    path = Path(path)
    return subject_lines(path.read_text(encoding="utf-8"), base=path.resolve().as_uri())


def _iri(token: str, base: str) -> str:
    inner = token[1:-1] if token.startswith("<") else token
    return urljoin(base, inner) if base else inner
