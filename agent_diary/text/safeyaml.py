"""YAML from a repository or the credentials file, parsed so a commit cannot hurt us.

`yaml.safe_load` builds no objects, but it still has three ways for untrusted text to do
damage: anchors and aliases (a ~300-byte "billion laughs" front matter becomes hundreds
of megabytes as soon as anything walks it, e.g. to print it in an error), unbounded
nesting (a RecursionError, reported as a bug), and constructors that raise plain
exceptions (`2026-02-30` is a ValueError from the timestamp constructor). Here aliases
and anchors are refused, nesting is bounded, and every failure is an `InputError` that
names the source and the line.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import yaml

from ..errors import InputError

MAX_DEPTH = 32  # nested lists and mappings; no entry or config needs more than a few
_SHOWN = 40  # characters of an offending value shown in a message
MAX_INT = 2**64  # larger whole numbers are refused


class YAMLInputError(InputError):
    """Text that is not valid (or not allowed) YAML; `line` is 1-based in the file."""

    def __init__(self, message: str, line: int | None, problem: str) -> None:
        super().__init__(message)
        self.line = line
        self.problem = problem


class _Loader(yaml.SafeLoader):
    def __init__(self, stream: str, first_line: int = 1) -> None:
        super().__init__(stream)
        self._depth = 0
        self._first_line = first_line  # the file's number of the text's first line

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise yaml.composer.ComposerError(
                None, None, f"YAML aliases (*{event.anchor}) are not allowed; write the "
                "value out in full", event.start_mark)
        if event.anchor is not None:
            raise yaml.composer.ComposerError(
                None, None, f"YAML anchors (&{event.anchor}) are not allowed (they only "
                "serve aliases, which are refused); remove it", event.start_mark)
        nested = isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent)
        if nested and self._depth >= MAX_DEPTH:
            raise yaml.composer.ComposerError(
                None, None, f"lists and mappings nested more than {MAX_DEPTH} levels deep",
                event.start_mark)
        self._depth += nested
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= nested

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        # Always deep: without aliases nothing is recursive, and a failure then happens
        # inside the innermost node's call, so its mark is the line to report.
        try:
            value = super().construct_object(node, deep=True)
        except yaml.YAMLError:
            raise
        except Exception as exc:  # ValueError, KeyError, OverflowError…: the value is bad
            raise yaml.constructor.ConstructorError(
                None, None, _bad_value(node, exc), node.start_mark) from None
        # A number no setting needs: 0x and 4,000 F's is a valid int that Python refuses
        # to print (and a float() of it overflows) far from here.
        if isinstance(value, int) and not -MAX_INT <= value <= MAX_INT:
            raise yaml.constructor.ConstructorError(
                None, None, f"a number with {value.bit_length()} bits is far too large for "
                "any setting here", node.start_mark)
        return value

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> Any:
        # YAML wants unique keys but PyYAML keeps the last one silently, so `status: ready`
        # then `status: draft` would quietly make a draft. Merged (`<<`) keys may be
        # overridden, which is what merging is for: only the mapping's own keys count.
        own = {id(key) for key, _ in node.value if key.tag != "tag:yaml.org,2002:merge"}
        self.flatten_mapping(node)
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            if id(key_node) not in own:
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node)
            except TypeError:
                continue  # an unhashable key: the constructor below refuses it
            if first is not key_node:
                raise yaml.constructor.ConstructorError(
                    None, None, _repeated_key(first, key_node, self._first_line),
                    key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


def _key_text(node: yaml.Node) -> str:
    """A key as written in the file (without its quotes)."""
    text = node.value if isinstance(node, yaml.ScalarNode) else f"<{node.id}>"
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "…"


def _repeated_key(first: yaml.Node, again: yaml.Node, first_line: int) -> str:
    line, line_again = first.start_mark.line + first_line, again.start_mark.line + first_line
    if _key_text(first) != _key_text(again):  # `yes` and `true`, `1` and `0x1`
        return (f"key {_key_text(again)!r} (line {line_again}) is the same key as "
                f"{_key_text(first)!r} (line {line}); keep one")
    where = f"on line {line}" if line == line_again else f"(lines {line} and {line_again})"
    return f"key {_key_text(again)!r} is given twice {where}; keep one"


def as_written(value: Any, limit: int = 2 * _SHOWN) -> str:
    """A parsed YAML value for a message as a person writes it (2026-11-27, true,
    ['a', 1]), not as Python prints it (datetime.date(2026, 11, 27), True), cut short."""
    out: list[str] = []
    budget = [limit + 1]  # enough characters to know that it must be cut

    def put(text: str) -> None:
        out.append(text)
        budget[0] -= len(text)

    def walk(item: Any) -> None:
        if budget[0] <= 0:
            return
        if isinstance(item, bool):
            put("true" if item else "false")
        elif item is None:
            put("null")
        elif isinstance(item, dt.date):  # datetime too
            put(item.isoformat())
        elif isinstance(item, Mapping):
            put("{")
            for number, (key, sub) in enumerate(item.items()):
                if budget[0] <= 0:
                    break
                put(", " if number else "")
                walk(key)
                put(": ")
                walk(sub)
            put("}")
        elif isinstance(item, list | tuple | set | frozenset):
            put("[")
            for number, sub in enumerate(item):
                if budget[0] <= 0:
                    break
                put(", " if number else "")
                walk(sub)
            put("]")
        else:
            put(repr(item))

    walk(value)
    text = "".join(out)
    return text if len(text) <= limit else text[:limit] + "…"


def _bad_value(node: yaml.Node, exc: Exception) -> str:
    tag = str(node.tag).replace("tag:yaml.org,2002:", "!!")
    if not isinstance(node, yaml.ScalarNode):
        return f"not a valid {tag} ({type(exc).__name__})"
    value = node.value if len(node.value) <= _SHOWN else node.value[:_SHOWN] + "…"
    if tag == "!!timestamp":
        return (f"{value!r} is not a valid date or time ({exc}); quote it if it is "
                "meant as text")
    return f"{value!r} is not a valid {tag} ({type(exc).__name__})"


def _line_and_problem(exc: yaml.YAMLError, text: str) -> tuple[int | None, str]:
    """0-based line in `text` (None if unknown) and what is wrong, without the snippet."""
    if isinstance(exc, yaml.reader.ReaderError):
        return text.count("\n", 0, exc.position), \
            f"unacceptable character #x{exc.character:04x}: special characters are not allowed"
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    if context and not problem.startswith(("YAML ", "lists and")):
        problem = f"{context}: {problem}"
    return (mark.line if mark is not None else None), problem


def load(text: str, source: str, *, first_line: int = 1,
         what: str = "not valid YAML") -> Any:
    """One YAML document of `text`, or `YAMLInputError` "{source}: {what} (line N): …".

    `first_line` is the file's line number of the text's first line (2 for front matter
    below its opening `---`).
    """
    try:
        loader = _Loader(text, first_line)  # the reader checks every character here already
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        line, problem = _line_and_problem(exc, text)
        line = None if line is None else line + first_line
        where = f" (line {line})" if line is not None else ""
        raise YAMLInputError(f"{source}: {what}{where}: {problem}", line, problem) from None
