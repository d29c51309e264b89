"""One error base for everything the user can act on, carrying its exit code."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """The exit codes of the interface contract (DESIGN.md)."""

    OK = 0
    BUG = 1
    BAD_INPUT = 2
    NOTHING_TO_POST = 3
    ACCOUNT_REFUSED = 4
    TEMPORARY = 5


class AgentDiaryError(Exception):
    """An error with a message for the user that says what happened and what fixes it."""

    exit_code: ExitCode = ExitCode.BUG

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InputError(AgentDiaryError):
    """Usage, config, entry, template or media is wrong: fix the input and rerun."""

    exit_code = ExitCode.BAD_INPUT


class NothingToPost(AgentDiaryError):
    """No entry for the date, a draft, or not committed."""

    exit_code = ExitCode.NOTHING_TO_POST


class AccountError(AgentDiaryError):
    """X refused the account: credentials, app permissions, billing."""

    exit_code = ExitCode.ACCOUNT_REFUSED


class TemporaryError(AgentDiaryError):
    """Network, 5xx, rate limit or an unknown outcome: a rerun is safe."""

    exit_code = ExitCode.TEMPORARY


def joined(message: str, more: str) -> str:
    """`message` then `more`, as a person would write them: "…; more" after a clause, but
    "…. More" after a full sentence (a message ending in . ? or !), never "….; more"."""
    message = message.rstrip()
    if not message:
        return more
    if message.endswith((".", "?", "!")):
        return f"{message} {more[:1].upper()}{more[1:]}"
    return f"{message}; {more}"
