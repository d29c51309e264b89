"""Words in messages that depend on a number: one place, so no message says "1 posts"."""

from __future__ import annotations


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """`1 post`, `0 posts`, `4 posts`; `nouns` for a plural that is not noun + "s"."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"
