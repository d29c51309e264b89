"""From an entry to plain post text: the sandboxed Jinja template, then Markdown → text.

The Markdown is read with markdown-it-py's token stream (not regular expressions). The
result is a list of chunks (explicit posts, split at a line holding only `---` or any
thematic break), each a list of blocks (paragraphs, list items, code, headings) whose
inline images are kept as media anchored at their offset in the block's text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import accumulate
from typing import TYPE_CHECKING, Any, NamedTuple

from ..errors import InputError
from .entry import Entry, MediaRef

if TYPE_CHECKING:
    from markdown_it.token import Token

    from ..config import Config


class Block(NamedTuple):
    """A run of text that stays together if it fits in a post."""

    text: str
    sep: str = "\n\n"  # what stands before it when it shares a post with the block before
    media: tuple[tuple[int, MediaRef], ...] = ()  # (offset in text, image)
    heading: bool = False  # a heading stays in the post of what follows it


Chunk = list[Block]


def _hashtag(tag: Any) -> str:
    word = re.sub(r"[^\w]", "", str(tag))
    return f"#{word}" if word else ""


def render_template(entry: Entry, config: Config,
                    read_template: Callable[[str], str | None]) -> str:
    """Render the entry's template; the body is passed as data and never evaluated.
    `read_template(name)` gives a template's source (None: no such template): the diary
    reads it from the repository (never through a link), else the packaged one."""
    from jinja2 import (
        FunctionLoader,
        StrictUndefined,
        TemplateError,
        TemplateNotFound,
        TemplateSyntaxError,
    )
    env = _bounded_sandbox()(
        loader=FunctionLoader(read_template),
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False,
    )
    env.filters["hashtag"] = _hashtag
    name = f"{entry.template or config.thread.template}.j2"
    context = {
        "entry": {
            "title": entry.title, "date": entry.date.isoformat(), "tags": list(entry.tags),
            "body": entry.body, "url": _entry_url(entry, config),
            "media": [{"path": m.path, "alt": m.alt} for m in entry.media],
        },
        "config": config.as_template_context(),
    }
    try:
        return env.get_template(name).render(context)
    except TemplateNotFound:
        raise InputError(f"{entry.source}: template '{name}' not found in "
                         "templates/ (nor packaged); check the 'template' key or "
                         "thread.template") from None
    except TemplateSyntaxError as exc:
        raise InputError(f"template {exc.filename or name}, line {exc.lineno}: {exc.message}") \
            from None
    except TemplateError as exc:
        # UndefinedError and SecurityError (the sandbox refusing) land here.
        raise InputError(f"template {name} failed for {entry.source}: {exc}") from None
    except (RecursionError, MemoryError, OverflowError) as exc:
        # A template that includes itself, or builds something enormous: a commit is
        # untrusted input, so this is bad input, not a crash.
        what = "recurses without end" if isinstance(exc, RecursionError) else \
            "builds a value far too large"
        raise InputError(f"template {name} failed for {entry.source}: it {what}; fix the "
                         "template") from None


MAX_RENDERED = 1_000_000  # characters a template may build with * (far above any thread)


def _bounded_sandbox() -> Any:
    """Jinja's sandbox, with `*` and `**` bounded: `'a' * 10**13` or `7 ** 99999999` in a
    committed template must fail at once, not fill the memory or spin for minutes."""
    from jinja2.exceptions import SecurityError
    from jinja2.sandbox import SandboxedEnvironment

    def size(value: Any) -> int | None:
        return len(value) if isinstance(value, str | list | tuple) else None

    class BoundedSandbox(SandboxedEnvironment):
        intercepted_binops = frozenset(["*", "**"])

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            if operator == "*":
                for seq, times in ((left, right), (right, left)):
                    length = size(seq)
                    if length is not None and isinstance(times, int) \
                            and length * times > MAX_RENDERED:
                        raise SecurityError(f"the template repeats a value {times} times; "
                                            f"at most {MAX_RENDERED} characters")
            if operator == "**" and isinstance(left, int) and isinstance(right, int) \
                    and abs(left) > 1 and right * max(left.bit_length(), 1) > 4096:
                raise SecurityError("the template raises a number to a power far too large")
            return super().call_binop(context, operator, left, right)

    return BoundedSandbox


def _entry_url(entry: Entry, config: Config) -> str | None:
    base = config.thread.repo_url
    return f"{base}/blob/HEAD/{entry.source}" if base else None


# --- Markdown to post text -----------------------------------------------------------------

def _explicit_posts(markdown: str) -> list[str]:
    """Split at lines holding only `---`, outside fenced code (a `---` right under a
    paragraph would otherwise be a setext heading underline)."""
    parts: list[list[str]] = [[]]
    fence: str | None = None
    for line in markdown.split("\n"):
        stripped = line.strip()
        opener = re.match(r" {0,3}(`{3,}|~{3,})", line)
        if fence is None and opener:
            fence = opener[1][0] * len(opener[1])
        elif fence is not None and stripped.startswith(fence) and not stripped.strip(fence[0]):
            fence = None
        elif fence is None and line.rstrip() == "---":
            parts.append([])
            continue
        parts[-1].append(line)
    return ["\n".join(part) for part in parts]


class _Converter:
    """Walks markdown-it block tokens, producing blocks of plain text."""

    def __init__(self) -> None:
        self.chunks: list[Chunk] = [[]]
        self.lists: list[list[int]] = []  # per open list: [next number] or [] for bullets
        self.item_paragraphs = 0
        self.list_starts = False  # the next block opens a top-level list
        self.in_heading = False  # the next inline block is a heading's text

    def feed(self, tokens: list[Token]) -> None:
        for token in tokens:
            kind = token.type
            if kind == "hr":
                self.chunks.append([])
            elif kind in ("bullet_list_open", "ordered_list_open"):
                start = token.attrGet("start") if kind == "ordered_list_open" else None
                self.lists.append([int(start or 1)] if kind == "ordered_list_open" else [])
                self.list_starts = len(self.lists) == 1
            elif kind in ("bullet_list_close", "ordered_list_close"):
                self.lists.pop()
            elif kind == "list_item_open":
                self.item_paragraphs = 0
            elif kind == "heading_open":
                self.in_heading = True
            elif kind == "inline":
                text, media = _inline_text(token.children or [])
                self._inline_block(text, media)
            elif kind in ("fence", "code_block", "html_block"):
                self._add(Block(token.content.rstrip("\n"), self._sep()))

    def _sep(self) -> str:
        if self.list_starts:
            self.list_starts = False
            return "\n\n"
        return "\n" if self.lists else "\n\n"

    def _inline_block(self, text: str, media: list[tuple[int, MediaRef]]) -> None:
        prefix = ""
        if self.lists:
            indent = "  " * (len(self.lists) - 1)
            numbering = self.lists[-1]
            if self.item_paragraphs == 0:
                if numbering:
                    prefix = f"{indent}{numbering[0]}. "
                    numbering[0] += 1
                else:
                    prefix = f"{indent}• "
            else:
                prefix = indent + "  "
            self.item_paragraphs += 1
        shifted = tuple((offset + len(prefix), ref) for offset, ref in media)
        heading, self.in_heading = self.in_heading, False
        self._add(Block(prefix + text if text else "", self._sep(), shifted, heading))

    def _add(self, block: Block) -> None:
        self.chunks[-1].append(block)


def _inline_text(children: list[Token]) -> tuple[str, list[tuple[int, MediaRef]]]:
    out: list[str] = []
    media: list[tuple[int, MediaRef]] = []
    links: list[tuple[str, int]] = []  # (href, len(out) when the link opened)
    previous = ""
    for child in children:
        kind = child.type
        if kind in ("text", "code_inline", "html_inline"):
            content = child.content
            if previous == "image" and content.startswith(" ") and out and out[-1].endswith(" "):
                content = content[1:]  # "a ![img](x) b" reads "a b", not "a  b"
            out.append(content)
        elif kind == "softbreak":
            out.append(" ")
        elif kind == "hardbreak":
            out.append("\n")
        elif kind == "image":
            # len(out) for now: the offset in the text once joined (joining at every image
            # made a paragraph of many images quadratic).
            media.append((len(out), MediaRef(path=str(child.attrGet("src") or ""),
                                             alt=child.content or None)))
        elif kind == "link_open":
            links.append((str(child.attrGet("href") or ""), len(out)))
        elif kind == "link_close" and links:
            href, start = links.pop()
            label = "".join(out[start:])
            bare = re.sub(r"^(mailto:|https?://)", "", href)
            if label not in (href, bare) and href:
                out.append(f" {href}" if label else href)
        previous = kind
    text = "".join(out)
    offsets = list(accumulate(map(len, out), initial=0))
    media = [(offsets[piece], ref) for piece, ref in media]
    # Whitespace at the ends of a paragraph (left by a removed image) is not content.
    stripped = text.strip(" ")
    lead = len(text) - len(text.lstrip(" "))
    return stripped, [(max(0, min(o - lead, len(stripped))), ref) for o, ref in media]


def markdown_to_chunks(markdown: str) -> list[Chunk]:
    """Plain-text blocks per explicit post; empty chunks are dropped."""
    from markdown_it import MarkdownIt

    parser = MarkdownIt("commonmark").enable("strikethrough")
    chunks: list[Chunk] = []
    for part in _explicit_posts(markdown):
        converter = _Converter()
        converter.feed(parser.parse(part))
        chunks.extend(chunk for chunk in converter.chunks
                      if any(block.text or block.media for block in chunk))
    return chunks
