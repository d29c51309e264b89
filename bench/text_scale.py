"""How `preview` and counting scale with the size of an entry's text (issue 11, rows 3-4).

    python bench/text_scale.py [--runs 7] [--code PATH]

Builds one diary per case in a temporary folder and runs the real
`python -m agent_diary preview` on each, the cases in turn within every round (so a busy
machine slows all of them alike), and prints the medians and the ratios:

  row 3: a 30 KB Japanese paragraph (one URL, a few dots, no spaces) vs 1 KB English prose,
         target ≤ 4; also the same without 。 and 、, which is cut between characters;
  row 4: a 1 MB entry (English prose; Japanese; one run of "x" without a break point,
         cut between characters) vs the same 1 KB entry, target ≤ 3. With
         thread.max_posts ≤ 100 such an entry is always refused: the time is how long the
         refusal takes. A 10 MB run is over the 1 MiB an entry file may have: refused by
         its size, unparsed. A case past --timeout seconds is shown as inf and not run
         again.

Each line also gives the peak resident memory of the `preview` process (its ru_maxrss,
median over the runs): refusing a huge entry must not build an object per character.

Then it times `weighted_length` in one process on 30 KB, 300 KB and 3 MB of the Japanese
text: a linear counter takes ten times as long for ten times the text. A size is skipped
once the one before took more than --count-cap seconds (the quadratic counter of old).

`--code PATH` runs another checkout's package (PYTHONPATH), e.g. a `git worktree` of the
commit before a change, to measure before and after on the same machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENGLISH_SENTENCE = ("Day {n} of the diary: I wrote some code, read a paper about caches, "
                    "and walked for an hour before dinner. ")
JAPANESE_SENTENCES = ("今日は{n}番目の記録を書いた。",
                      "午前中は設計について考え、午後は試験を直した。",
                      "Pythonの3.{m}版で動かしてみたところ、思ったより速かった。",
                      "夕方には散歩に出かけて、{n}枚の写真を撮った。")
URL = "https://example.com/diary/notes?id=42"


def english(size: int) -> str:
    """English prose of about `size` bytes, in paragraphs of ten sentences."""
    sentences, total, n = [], 0, 0
    while total < size:
        sentence = ENGLISH_SENTENCE.format(n=n)
        sentences.append(sentence + ("\n\n" if n % 10 == 9 else ""))
        total += len(sentence.encode())
        n += 1
    return "".join(sentences).strip() + "\n"


def japanese(size: int) -> str:
    """One Japanese paragraph of about `size` bytes (UTF-8), no spaces, a few ASCII dots
    (version numbers) and one URL in the middle: every sentence differs."""
    parts, total, n = [], 0, 0
    while total < size:
        part = JAPANESE_SENTENCES[n % 4].format(n=n, m=n % 13)
        parts.append(part)
        total += len(part.encode())
        n += 1
    middle = len(parts) // 2
    parts.insert(middle, f"詳しくは{URL}を見てください。")
    return "".join(parts) + "\n"


CASES = {  # name: body
    "1 KB English": lambda: english(1_000),
    "30 KB Japanese, one URL": lambda: japanese(30_000),
    "30 KB Japanese, no 。 or 、": lambda: japanese(30_000).replace("。", "").replace("、", ""),
    "1 MB English (refused)": lambda: english(1_000_000),
    "1 MB Japanese (refused)": lambda: japanese(1_000_000),
    "1 MB, no break point": lambda: "x" * 1_000_000 + "\n",
    "10 MB, no break point": lambda: "x" * 10_000_000 + "\n",
}
DATE = "2026-11-28"


def make_diary(root: Path, body: str) -> None:
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / "config.yaml").write_text("thread:\n  max_posts: 100\n", encoding="utf-8")
    (root / "diary").mkdir()
    (root / "diary" / f"{DATE}.md").write_text(
        f"---\ntitle: Scale\nstatus: ready\n---\n{body}", encoding="utf-8")


# Runs one command and prints its time and peak memory: ru_maxrss from wait4 in this
# (large) process would report this process's own peak, which a child started by vfork
# inherits as its high-water mark, so the measuring is done by a small process.
_MEASURE = """
import os, subprocess, sys, threading, time
start = time.perf_counter()
proc = subprocess.Popen(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
timer = threading.Timer(float(sys.argv[1]), proc.kill)
timer.start()
_, status, usage = os.wait4(proc.pid, 0)
elapsed = time.perf_counter() - start
timer.cancel()
code = os.waitstatus_to_exitcode(status)
print("inf" if elapsed >= float(sys.argv[1]) else elapsed, code, usage.ru_maxrss)
"""


def run_once(command: list[str], cwd: Path, env: dict[str, str],
             timeout: float) -> tuple[float, int, int]:
    """(seconds, exit code, peak resident kB of the process); (inf, -1, peak) past
    `timeout`: the quadratic counter of old needs hours for the 1 MB Japanese entry."""
    result = subprocess.run([sys.executable, "-c", _MEASURE, str(timeout), *command],
                            cwd=cwd, env=env, capture_output=True, text=True, check=True)
    elapsed, code, peak = result.stdout.split()
    return float(elapsed), int(code) if elapsed != "inf" else -1, int(peak)


def count_figures(cap: float) -> None:
    """In this process: weighted_length of the Japanese text at three sizes."""
    from agent_diary.text import twittertext

    twittertext.weighted_length("warm up: example.com 😷")  # tables built on first use
    previous = 0.0
    for size in (30_000, 300_000, 3_000_000):
        label = f"weighted_length, {size // 1000:>5} KB Japanese"
        if previous > cap:
            print(f"{label}  skipped (the size before took {previous:.1f} s)")
            continue
        text = japanese(size)
        twittertext.weighted_length.cache_clear()
        start = time.perf_counter()
        weight = twittertext.weighted_length(text)
        previous = time.perf_counter() - start
        print(f"{label}  {previous * 1000:9.1f} ms  ({weight} weighted, "
              f"{previous / size * 1e9:6.0f} ns a byte)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--code", dest="src", type=Path, help="a checkout whose agent_diary to run")
    parser.add_argument("--count-cap", type=float, default=5.0)
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds after which a case is given up (and not run again)")
    parser.add_argument("--count-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.count_only:
        count_figures(args.count_cap)
        return
    env = dict(os.environ)
    if args.src:
        env["PYTHONPATH"] = str(args.src.resolve())
    python = sys.executable
    preview = [python, "-m", "agent_diary", "preview", "--date", DATE]
    samples: dict[str, list[float]] = {name: [] for name in CASES}
    peaks: dict[str, list[int]] = {name: [] for name in CASES}
    codes: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        roots = {}
        for index, (name, body) in enumerate(CASES.items()):
            roots[name] = Path(tmp) / f"case{index}"
            make_diary(roots[name], body())
        for name, root in list(roots.items()):  # warm the caches; the first run is not counted
            elapsed, codes[name], peak = run_once(preview, root, env, args.timeout)
            if elapsed == float("inf"):
                samples[name].append(elapsed)
                peaks[name].append(peak)
                del roots[name]
        for _ in range(args.runs):
            for name, root in roots.items():
                elapsed, codes[name], peak = run_once(preview, root, env, args.timeout)
                samples[name].append(elapsed)
                peaks[name].append(peak)
    medians = {name: statistics.median(values) for name, values in samples.items()}
    base = medians["1 KB English"]
    print(f"source: {args.src or 'this checkout'}; median of {args.runs} alternating runs")
    for name, value in medians.items():
        print(f"preview, {name:<26} {value * 1000:8.1f} ms  exit {codes[name]}  "
              f"ratio {value / base:6.2f}  peak {statistics.median(peaks[name]) / 1024:7.1f} MB")
    print(f"row 3: 30 KB Japanese / 1 KB English  {medians['30 KB Japanese, one URL'] / base:.2f}"
          " (target ≤ 4)")
    print(f"row 3: same without 。 or 、 / 1 KB    "
          f"{medians['30 KB Japanese, no 。 or 、'] / base:.2f} (cut between characters)")
    print(f"row 4: 1 MB English / 1 KB English    {medians['1 MB English (refused)'] / base:.2f}"
          " (target ≤ 3)")
    print(f"row 4: 1 MB Japanese / 1 KB English   "
          f"{medians['1 MB Japanese (refused)'] / base:.2f} (target ≤ 3)")
    for name in ("1 MB, no break point", "10 MB, no break point"):
        print(f"row 4: {name} / 1 KB English  {medians[name] / base:.2f}, peak "
              f"{statistics.median(peaks[name]) / 1024:.0f} MB vs "
              f"{statistics.median(peaks['1 KB English']) / 1024:.0f} MB")
    subprocess.run([python, __file__, "--count-only", "--count-cap", str(args.count_cap)],
                   env=env, check=True)


if __name__ == "__main__":
    main()
