"""One `agent-diary run` serving many diaries (issue 11): memory and CPU.

    python bench/service_many.py [--diaries 1000] [--poll 10] [--seconds 60]

Starts one `run --repo A --repo B …` process for N diaries (default 1,000) whose entries
for today are already posted, so every poll finds nothing new, against a local emulator.
Once every diary has announced itself and had its first poll, it measures over
`--seconds`:

- CPU: the process's own user+system time and its reaped children's (/proc cutime and
  cstime: every git process it started and waited for), plus that of children still
  alive at the end.
- memory: the resident memory of the process plus that of every live child (none should
  be left: every git process is waited for), summed (shared pages counted twice: an
  upper bound).

The poll is made as short as asked (`schedule.poll`, default 10 s; the config allows 1 s)
so that the measured window holds several rounds of N polls; the CPU of one round is
the CPU used divided by the rounds in the window, and the figure for the 60-second poll
of the goal is that round's CPU spread over 60 s (idle time between polls is nearly
free and is counted in the round). Targets: at most 150 MB and 5 % of one core. The
baseline is a bare `python` process's memory. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    bare_python_rss_mb,
    committed_diary,
    cpu_with_children,
    descendants_rss_mb,
    emulator_env,
    rss_mb,
)

from agent_diary.emulator.server import Emulator
from agent_diary.emulator.state import Account


def make_template(root: Path, poll: int) -> None:
    today = dt.datetime.now(dt.UTC).date()
    files = {f"diary/{today - dt.timedelta(days=back)}.md":  # a few days, all posted
             f"---\ntitle: Posted already\ntweet_ids: [\"{back + 1}\"]\n"
             "posted_at: \"2026-01-01T00:00:00Z\"\n---\nNothing new.\n" for back in range(3)}
    committed_diary(root, {**files,
                           "config.yaml": f'schedule:\n  time: "00:00"\n  poll: {poll}s\n'})
    shutil.rmtree(root / ".git" / "hooks")  # samples only: a thousand copies of them is slow


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--diaries", type=int, default=1000)
    parser.add_argument("--poll", type=int, default=10, help="schedule.poll in seconds")
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    account = Account()
    with Emulator(account) as emulator, tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, **emulator_env(account, emulator.url)}
        template = Path(tmp) / "template"
        make_template(template, args.poll)
        repos = []
        for index in range(args.diaries):
            repo = Path(tmp) / f"d{index:04d}"
            shutil.copytree(template, repo, symlinks=True)
            repos += ["--repo", str(repo)]
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-m", "agent_diary", "run", *repos],
                                   cwd=tmp, env=env, stderr=subprocess.PIPE, text=True)
        lines: list[str] = []
        announced = threading.Event()

        def read() -> None:
            assert process.stderr is not None
            serving = 0
            for line in process.stderr:
                lines.append(line)
                serving += "serving " in line
                if serving >= args.diaries:
                    announced.set()

        threading.Thread(target=read, daemon=True).start()
        try:
            while not announced.wait(timeout=1):
                if process.poll() is not None or time.perf_counter() - started > 1800:
                    raise SystemExit("not every diary announced itself:\n"
                                     + "".join(lines[-20:]))
            startup = time.perf_counter() - started
            time.sleep(args.poll + 5)  # every diary's first poll (they all start at once)
            skipped_before = sum("skipped" in x or "missed" in x for x in lines)
            before = cpu_with_children(process.pid)
            time.sleep(args.seconds)
            used = cpu_with_children(process.pid) - before
            own = rss_mb(process.pid)
            children, count = descendants_rss_mb(process.pid)
            skipped = sum("skipped" in x or "missed" in x for x in lines) - skipped_before
        finally:
            process.terminate()
            process.wait(timeout=60)
        bare_rss = bare_python_rss_mb()
    rounds = args.seconds / args.poll
    per_round = used / rounds
    print(f"{args.diaries} diaries, schedule.poll {args.poll} s, measured over "
          f"{args.seconds:.0f} s ({rounds:.1f} rounds of {args.diaries} polls); start-up "
          f"{startup:.1f} s")
    print(f"CPU used in the window (process + children)   {used:7.2f} s "
          f"({used / args.seconds * 100:.1f} % of one core at this poll)")
    print(f"CPU per round of {args.diaries} polls              {per_round * 1000:7.1f} ms "
          f"({per_round / args.diaries * 1000:.2f} ms a diary)")
    print(f"with a 60 s poll: {per_round / 60 * 100:5.2f} % of one core (target <= 5 %)")
    print(f"resident memory: process {own:.1f} MB + {count} live children {children:.1f} MB"
          f" = {own + children:.1f} MB (target <= 150 MB); bare python {bare_rss:.1f} MB")
    if skipped:
        print(f"warning: {skipped} poll runs were skipped or missed (a round took longer "
              "than the poll): the per-round figure is a lower bound; use a longer --poll")


if __name__ == "__main__":
    main()
