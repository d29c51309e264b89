"""Start-up and scale figures for `--help` and `preview` (issue 2).

    python bench/startup.py [--runs 7]

Prints the median wall time of each command and its ratio to the baseline
`python -c "import yaml, jinja2"` measured in the same run, and the ratio of
`preview` in a diary of 20,000 entries to one of 10. Targets: --help at most 1.5 times,
preview at most 2.0 times the baseline (issue 11; it was 2.5); 20,000 vs 10 entries ≤ 1.2.

Every process reads bytecode, as an installed package does (pip compiles it): with
PYTHONDONTWRITEBYTECODE set, as in some shells and CI images, an editable checkout's own
modules would be compiled from source on every run while yaml and jinja2 (the baseline)
are read from their bytecode. The warm-up run of each command writes the bytecode to a
temporary PYTHONPYCACHEPREFIX, so the tree is left untouched.
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

ENTRY = """---
title: Benchmark entry {n}
tags: [bench]
---
A paragraph of diary text with a link https://example.com/{n} and some more words.

""" + " ".join(f"Sentence {i} of another paragraph that carries on for a while, one "
            "after the other." for i in range(12)) + " That was entry {n}.\n"
# Every post its own text: X refuses repeated posts, and so do preview and publish.


def make_diary(root: Path, entries: int) -> None:
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    diary = root / "diary"
    for index in range(entries):
        year = 1970 + index // 365
        day = index % 365 + 1
        name = f"{year:04d}-{(day - 1) // 28 % 12 + 1:02d}-{(day - 1) % 28 + 1:02d}.md"
        folder = diary / f"{year:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(ENTRY.format(n=index), encoding="utf-8")
    (diary / "2026-11-28.md").write_text(ENTRY.format(n="today"), encoding="utf-8")


def bytecode_env(pycache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "PYTHONPYCACHEPREFIX": str(pycache)}


def median_times(commands: list[tuple[list[str], Path]], runs: int,
                 env: dict[str, str]) -> list[float]:
    """Each command's median wall time, the commands run in turn (alternating, so a busy
    moment of the machine falls on all of them alike)."""
    for command, cwd in commands:  # warm the caches and write the bytecode
        subprocess.run(command, cwd=cwd, check=True, capture_output=True, env=env)
    samples: list[list[float]] = [[] for _ in commands]
    for _ in range(runs):
        for index, (command, cwd) in enumerate(commands):
            start = time.perf_counter()
            subprocess.run(command, cwd=cwd, check=True, capture_output=True, env=env)
            samples[index].append(time.perf_counter() - start)
    return [statistics.median(times) for times in samples]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    python = sys.executable
    preview = [python, "-m", "agent_diary", "preview", "--date", "2026-11-28"]
    with tempfile.TemporaryDirectory() as tmp:
        small, large = Path(tmp) / "small", Path(tmp) / "large"
        make_diary(small, 10)
        make_diary(large, 20_000)
        baseline, helptime, small_preview, large_preview = median_times(
            [([python, "-c", "import yaml, jinja2"], small),
             ([python, "-m", "agent_diary", "--help"], small),
             (preview, small), (preview, large)], runs, bytecode_env(Path(tmp) / "pycache"))
    print(f"baseline  python -c 'import yaml, jinja2'  {baseline * 1000:7.1f} ms")
    print(f"--help                                   {helptime * 1000:7.1f} ms  "
          f"ratio {helptime / baseline:.2f} (target ≤ 1.5)")
    print(f"preview, 10 entries                      {small_preview * 1000:7.1f} ms  "
          f"ratio {small_preview / baseline:.2f} (target ≤ 2.0)")
    print(f"preview, 20,000 entries                  {large_preview * 1000:7.1f} ms  "
          f"ratio to 10 entries {large_preview / small_preview:.2f} (target ≤ 1.2)")


if __name__ == "__main__":
    main()
