"""The spending guard: a ledger of the threads posted and their estimated cost.

`.git/agent-diary/ledger.jsonl` (per clone, never committed), one line per thread,
written when the thread is complete. Sandbox threads cost nothing and are not in it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ..config import Config
from ..errors import AccountError
from ..wording import plural
from .journal import append_json_line, read_json_lines

LEDGER = "ledger.jsonl"


def append(state_dir: Path, date: dt.date, posts: int, cost: float, month: str) -> None:
    append_json_line(state_dir / LEDGER, {"date": date.isoformat(), "posts": posts,
                                          "cost_usd": round(cost, 6), "month": month})


def month_spend(state_dir: Path, month: str) -> float:
    return round(sum(r.get("cost_usd", 0.0) for r in read_json_lines(state_dir / LEDGER)
                     if r.get("month") == month), 6)


def check(config: Config, state_dir: Path, source: str, posts: int, cost: float,
          month: str) -> None:
    """Refuse (exit 4, with the figures) a thread the budget does not allow."""
    budget = config.budget
    if budget.max_posts_per_thread is not None and posts > budget.max_posts_per_thread:
        raise AccountError(f"{source}: the thread has {plural(posts, 'post')}, more than "
                           f"budget.max_posts_per_thread ({budget.max_posts_per_thread}); "
                           "shorten the entry or raise the limit in config.yaml")
    if budget.monthly_usd is None:
        return
    spent = month_spend(state_dir, month)
    if spent + cost > budget.monthly_usd + 1e-9:
        raise AccountError(
            f"{source}: posting this thread (estimated ${cost:.3f}) would bring {month}'s "
            f"estimated spend to ${spent + cost:.3f}, over budget.monthly_usd "
            f"(${budget.monthly_usd:.2f}; ${spent:.3f} spent so far); raise the budget in "
            "config.yaml or wait for next month")
