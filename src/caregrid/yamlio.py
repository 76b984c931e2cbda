"""YAML input with line numbers, so every problem names its file, line and field."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from caregrid.errors import InvalidInput, Problem
from caregrid.i18n import Message, msg

Path_ = tuple[str | int, ...]
# libyaml's loader when PyYAML was built with it (about 10x faster), the pure-Python one else.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
M = TypeVar("M", bound=BaseModel)
# Deeper than any file CareGrid reads; the composer recurses once per level.
MAX_DEPTH = 64


@dataclass
class Located:
    """Parsed YAML data plus the line of every key and list item."""

    data: Any
    file: str
    lines: dict[Path_, int] = field(default_factory=dict)

    def line_of(self, path: Sequence[str | int]) -> int | None:
        """Line of the deepest known prefix of `path`."""
        key = tuple(path)
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return 1

    def problem(self, path: Sequence[str | int], message: str | Message) -> Problem:
        return Problem(field=dotted(path), reason=message, file=self.file, line=self.line_of(path))


def dotted(path: Sequence[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"


def _walk(
    node: yaml.Node, path: Path_, lines: dict[Path_, int], problems: list[Problem], file: str
) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = (*path, key)
            if key in seen:
                problems.append(
                    Problem(
                        dotted(child),
                        "key appears twice in the same mapping",
                        file,
                        key_node.start_mark.line + 1,
                    )
                )
            seen.add(key)
            lines[child] = key_node.start_mark.line + 1
            _walk(value_node, child, lines, problems, file)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*path, index)
            lines[child] = item.start_mark.line + 1
            _walk(item, child, lines, problems, file)


def _refuse_expansion(text: str, file: str) -> None:
    """Scan the event stream (iterative, linear in the text) before composing: an anchor or
    alias is refused, since a few hundred bytes of nested aliases expand to gigabytes
    ("billion laughs"), and so is nesting deeper than MAX_DEPTH."""
    loader = _Loader(text)
    depth = 0
    try:
        while (event := loader.get_event()) is not None:
            if isinstance(event, yaml.StreamEndEvent):
                break
            line = event.start_mark.line + 1
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise InvalidInput(
                    [Problem("(document)", "YAML anchors and aliases are not accepted", file, line)]
                )
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise InvalidInput(
                        [
                            Problem(
                                "(document)",
                                msg("nested deeper than {max_depth} levels", max_depth=MAX_DEPTH),
                                file,
                                line,
                            )
                        ]
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    finally:
        loader.dispose()


def load_text(text: str, file: str) -> Located:
    """Parse YAML; malformed YAML, repeated keys, anchors, aliases or nesting too deep raise
    InvalidInput with the line."""
    try:
        _refuse_expansion(text, file)
        loader = _Loader(text)
        try:
            root = loader.get_single_node()
            data = None if root is None else loader.construct_document(root)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        raise InvalidInput(
            [Problem("(document)", msg("malformed YAML: {reason}", reason=reason), file, line)]
        ) from exc
    located = Located(data=data, file=file)
    problems: list[Problem] = []
    if root is not None:
        _walk(root, (), located.lines, problems, file)
    if problems:
        raise InvalidInput(problems)
    return located


def load_file(path: Path) -> Located:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(
            [Problem("(file)", msg("cannot read: {strerror}", strerror=exc.strerror), str(path))]
        ) from exc
    except UnicodeDecodeError as exc:
        raise InvalidInput([Problem("(file)", "not UTF-8 text", str(path))]) from exc
    return load_text(text, str(path))


def validate(model: type[M], located: Located) -> M:
    """Validate with pydantic; every error becomes a Problem with file, line and field."""
    try:
        return model.model_validate(located.data)
    except ValidationError as exc:
        problems = [
            located.problem([p for p in err["loc"] if isinstance(p, str | int)], err["msg"])
            for err in exc.errors()
        ]
        raise InvalidInput(problems) from exc
