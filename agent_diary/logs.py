"""The service's logs: stderr, timestamped, text or JSON lines, secrets redacted."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterable


class _Redact(logging.Filter):
    """Replaces every known secret in a record's message; sets a default `repo`."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "repo"):
            record.repo = "-"
        message = record.getMessage()
        for secret in self.secrets:
            message = message.replace(secret, "[redacted]")
        record.msg, record.args = message, None
        return True


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
                "level": record.levelname.lower(), "repo": getattr(record, "repo", "-"),
                "message": record.getMessage()}
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def make_logger(fmt: str) -> tuple[logging.Logger, Callable[[Iterable[str]], None]]:
    """The service logger, and a function that adds secrets to redact."""
    handler = logging.StreamHandler(sys.stderr)
    redact = _Redact()
    handler.addFilter(redact)
    handler.setFormatter(_JsonFormatter() if fmt == "json" else logging.Formatter(
        "%(asctime)s %(levelname)s [%(repo)s] %(message)s", "%Y-%m-%dT%H:%M:%S%z"))
    logger = logging.getLogger("agent_diary.service")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    scheduler_log = logging.getLogger("apscheduler")
    scheduler_log.handlers[:] = [handler]
    scheduler_log.setLevel(logging.WARNING)
    scheduler_log.propagate = False

    def add(secrets: Iterable[str]) -> None:
        redact.secrets.update(s for s in secrets if s)

    return logger, add
