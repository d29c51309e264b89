"""Where posts go: the one place that decides real or sandbox for every command.

`Targets` turns (diary, config, mode, environment) into what a command posts with: for
each diary, a factory of its X client (credentials read only when a client is made), and
in the sandbox the diary's own emulator (one per diary, however often asked) and its
timeline page. `publish` and `run` take their clients from here, so the choice is made
once, not by flags threaded through each command.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .config import Config
    from .diary import Diary
    from .networks.x import XClient


class Targets:
    """The clients of one process. `sandbox`: each diary posts to its own emulator under
    `.git/agent-diary/sandbox/`, started on first use and stopped with `stack`. `redact`:
    told every secret read, so that logs never show it."""

    def __init__(self, stack: contextlib.ExitStack, *, sandbox: bool,
                 environ: Mapping[str, str] | None = None,
                 redact: Callable[[Any], None] = lambda secrets: None) -> None:
        from .networks.x import client_options_from

        self.sandbox = sandbox
        self._stack, self._redact = stack, redact
        self._options = client_options_from(os.environ if environ is None else environ)
        self._emulators: dict[Path, Any] = {}

    def x_client(self, diary: Diary, config: Config) -> Callable[[], XClient]:
        """How to make `diary`'s X client: the sandbox's emulator, or X (or
        AGENT_DIARY_X_API_URL) with the credentials of `config.x.profile`."""
        from .networks.x import XClient

        if self.sandbox:
            from .sandbox import SANDBOX_CREDENTIALS

            url = self._emulator(diary).url
            return lambda: XClient(SANDBOX_CREDENTIALS, url, **self._options)

        def make() -> XClient:
            from .auth import load_credentials

            credentials = load_credentials(config.x.profile)
            self._redact(credentials.secrets())
            return XClient(credentials, config.x.api_url, **self._options)

        return make

    def timeline(self, diary: Diary) -> Path:
        """Sandbox: write the diary's timeline page (its emulator's posts) and say where."""
        from .sandbox import write_timeline

        return write_timeline(self._emulator(diary), diary.sandbox_dir)

    def _emulator(self, diary: Diary) -> Any:
        from .sandbox import sandbox_emulator

        if diary.root not in self._emulators:
            self._emulators[diary.root] = self._stack.enter_context(
                sandbox_emulator(diary.sandbox_dir))
        return self._emulators[diary.root]
