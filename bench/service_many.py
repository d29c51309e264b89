"""One `agent-diary run` serving many diaries (issue 11): memory and CPU.

    python bench/service_many.py [--diaries 1000] [--poll 10] [--seconds 60]

Starts one `run --repo A --repo B …` process for N diaries (default 1,000) whose entries
for today are already posted, so every poll finds nothing new, against a local emulator.
Once every diary has announced itself and had its first poll, it measures over
`--seconds`:

- CPU: the process's own user+system time and its reaped children's (/proc cutime and
  cstime: every git process it started and waited for), plus that of children still
  alive at the end.
- memory: the resident memory of the process plus that of every live child (git helpers
  a library keeps open), summed (shared pages counted twice: an upper bound).

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

from agent_diary.emulator import Emulator
from agent_diary.emulator_state import Account

TICKS = os.sysconf("SC_CLK_TCK")


def stat_fields(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def descendants(pid: int) -> list[int]:
    """Every live process below `pid`."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, ppid in parents.items() if ppid == parent]
        found += children
        frontier += children
    return found


def cpu_seconds(pid: int) -> float:
    """The process's CPU, its reaped children's, and its live descendants'."""
    fields = stat_fields(pid)
    total = sum(int(fields[i]) for i in (11, 12, 13, 14)) / TICKS
    for child in descendants(pid):
        try:
            total += sum(int(x) for x in stat_fields(child)[11:13]) / TICKS
        except OSError:
            continue  # it ended meanwhile: its time is in cutime/cstime now
    return total


def memory_mb(pid: int) -> tuple[float, float, int]:
    """(resident MB of the process, of its live descendants, how many those are)."""
    children = descendants(pid)
    total = 0.0
    for child in children:
        try:
            total += rss_mb(child)
        except OSError:
            continue
    return rss_mb(pid), total, len(children)


def make_template(root: Path, poll: int) -> None:
    root.mkdir()
    for args in (["init", "-q", "-b", "main"], ["config", "user.name", "bench"],
                 ["config", "user.email", "bench@example.invalid"]):
        subprocess.run(["git", *args], cwd=root, check=True)
    today = dt.datetime.now(dt.UTC).date()
    (root / "diary").mkdir()
    for back in range(3):  # a few days of history, all posted
        day = today - dt.timedelta(days=back)
        (root / "diary" / f"{day}.md").write_text(
            f"---\ntitle: Posted already\ntweet_ids: [\"{back + 1}\"]\n"
            "posted_at: \"2026-01-01T00:00:00Z\"\n---\nNothing new.\n", encoding="utf-8")
    (root / "config.yaml").write_text(f'schedule:\n  time: "00:00"\n  poll: {poll}s\n',
                                      encoding="utf-8")
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "entries"], cwd=root, check=True)
    shutil.rmtree(root / ".git" / "hooks")  # samples only: a thousand copies of them is slow


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--diaries", type=int, default=1000)
    parser.add_argument("--poll", type=int, default=10, help="schedule.poll in seconds")
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    account = Account()
    with Emulator(account) as emulator, tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "AGENT_DIARY_X_API_URL": emulator.url,
               "X_CONSUMER_KEY": account.consumer_key,
               "X_CONSUMER_SECRET": account.consumer_secret,
               "X_ACCESS_TOKEN": account.access_token,
               "X_ACCESS_TOKEN_SECRET": account.access_token_secret}
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
            before = cpu_seconds(process.pid)
            time.sleep(args.seconds)
            used = cpu_seconds(process.pid) - before
            own, children, count = memory_mb(process.pid)
            skipped = sum("skipped" in x or "missed" in x for x in lines) - skipped_before
        finally:
            process.terminate()
            process.wait(timeout=60)
        bare = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        time.sleep(2)
        bare_rss = rss_mb(bare.pid)
        bare.kill()
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
