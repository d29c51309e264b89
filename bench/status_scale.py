"""`status --days 365` against `status --days 7` in a flat diary of 20,000 unposted,
committed entries (issue 11, row 1).

    python bench/status_scale.py [--entries 20000] [--runs 5] [--code DIR]

Target: `--days 365` at most 3 times the baseline. Baseline: `status --days 7` in the
same diary.

The diary is made in a temporary folder; the two commands run alternately in the same
session and the medians are compared. Prints, never asserts.

`--code DIR` runs the package from another checkout (e.g. a `git worktree add --detach`
of an older commit) to measure "before"; code from before issue 11 needs GitPython,
which is no dependency any more: `pip install gitpython` first.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import add_code_argument, cli, flat_diary


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    add_code_argument(parser)
    args = parser.parse_args()
    today = dt.datetime.now(dt.UTC).date()
    dates = [today - dt.timedelta(days=n) for n in range(args.entries)]
    times: dict[int, list[float]] = {7: [], 365: []}
    with tempfile.TemporaryDirectory() as tmp:
        root = flat_diary(Path(tmp) / "diary", dates, "What happened on {date}, in words.")
        cli(args.code, root, "status", "--days", "7")  # warm the caches once
        for _ in range(args.runs):
            for days in (7, 365):
                times[days].append(cli(args.code, root, "status", "--days", str(days)))
    week, year = (statistics.median(times[d]) for d in (7, 365))
    print(f"flat diary of {args.entries} unposted committed entries, code from {args.code}")
    print(f"status --days 7     {week * 1000:8.1f} ms (median of {args.runs})")
    print(f"status --days 365   {year * 1000:8.1f} ms (median of {args.runs})")
    print(f"ratio 365/7         {year / week:8.2f}  (goal <= 3)")


if __name__ == "__main__":
    main()
