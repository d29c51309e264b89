"""`publish` in a flat diary of 20,000 entries against a small one (issue 11, row 2),
each to the local emulator through the real CLI.

    python bench/publish_scale.py [--entries 20000] [--runs 5] [--code DIR]

Target: the big diary's median at most 1.3 times the baseline. Baseline: the same
publish in a small diary that holds only the dates published and their neighbours
(13 entries with --runs 5).

Both diaries are made in a temporary folder and hold every date within 7 days of each
one published (the neighbours the repeats check reads), so the only difference is the
big one's other entries. Each run publishes a new date in each diary, alternately, after
one uncounted warm-up run in each (a repository made a moment ago has a "racily clean"
index that the first commit refreshes in full: no diary in use has), and the medians are
compared. The recording commit (`git commit --only` in a 20,000-file index) is included.
Prints, never asserts.

`--code DIR` runs the package from another checkout (e.g. a `git worktree add --detach`
of an older commit) to measure "before"; code from before issue 11 needs GitPython,
which is no dependency any more: `pip install gitpython` first.
"""

from __future__ import annotations

import argparse
import datetime as dt
import secrets
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import add_code_argument, cli, emulator_env, flat_diary

from agent_diary.thread import RECENT_DAYS  # how far either side the repeats check reads

# Every post names its diary: the emulator, like X, refuses a repeat of a recent post.
BODY = ("Post one of {date} in the NAME diary: what the agent did.\n\n---\n\n"
        "Post two of {date} in the NAME diary: what it learnt.")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    add_code_argument(parser)
    args = parser.parse_args()
    from agent_diary.emulator.server import Emulator
    from agent_diary.emulator.state import Account

    account = Account(consumer_key=f"ck{secrets.token_hex(8)}",
                      consumer_secret=f"cs{secrets.token_hex(16)}",
                      access_token=f"1000-at{secrets.token_hex(8)}",
                      access_token_secret=f"ats{secrets.token_hex(16)}")
    end = dt.date(2026, 6, 30)
    published = [end - dt.timedelta(days=n) for n in range(args.runs + 1)]  # + warm-up
    # Every date within RECENT_DAYS of one published (none lies after `end` in either).
    small_dates = [end - dt.timedelta(days=n) for n in range(args.runs + 1 + RECENT_DAYS)]
    big_dates = [end - dt.timedelta(days=n) for n in range(args.entries)]
    if len(big_dates) <= len(small_dates):
        raise SystemExit(f"--entries: more than {len(small_dates)} (the small diary's) "
                         f"with --runs {args.runs}")
    times: dict[str, list[float]] = {"small": [], "big": []}
    with Emulator(account) as emulator, tempfile.TemporaryDirectory() as tmp:
        env = emulator_env(account, emulator.url)
        small = flat_diary(Path(tmp) / "small", small_dates, BODY.replace("NAME", "small"))
        big = flat_diary(Path(tmp) / "big", big_dates, BODY.replace("NAME", "big"))
        for run, day in enumerate(published):  # the first, not counted, warms both up
            date = day.isoformat()
            for name, root in (("small", small), ("big", big)):
                took = cli(args.code, root, "publish", "--date", date, env=env)
                if run:
                    times[name].append(took)
    little, large = (statistics.median(times[n]) for n in ("small", "big"))
    print(f"publish of a 2-post entry to the emulator, code from {args.code}")
    print(f"flat diary of {len(small_dates):>6} entries  {little * 1000:8.1f} ms "
          f"(median of {args.runs}; the dates published and their neighbours)")
    print(f"flat diary of {args.entries:>6} entries  {large * 1000:8.1f} ms "
          f"(median of {args.runs})")
    print(f"ratio                         {large / little:8.2f}  (goal <= 1.3)")


if __name__ == "__main__":
    main()
