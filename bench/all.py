"""Every bench script in turn, each with its defaults, and what each printed.

    python bench/all.py [--quick] [NAME ...]

Each script's header states its target and its baseline; each prints its figures with
the ratio against that baseline, measured in the same run. NAME (e.g. `startup`) runs
only those scripts. `--quick` gives each script fewer runs and smaller inputs: a check
that every script works, in about two minutes, with rougher figures. Prints, never
asserts; exits 1 if a script failed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
SCRIPTS = {  # name: its arguments with --quick (none: its defaults)
    "startup": ["--runs", "3"],
    "text_scale": ["--runs", "3"],
    "status_scale": ["--entries", "5000", "--runs", "3"],
    "publish_scale": ["--entries", "5000", "--runs", "3"],
    "publish": ["--runs", "3", "--process-runs", "3"],
    "service_idle": ["--seconds", "10"],
    "service_many": ["--diaries", "100", "--poll", "5", "--seconds", "15"],
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true",
                        help="fewer runs and smaller inputs: a smoke run, rougher figures")
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"only these scripts: {', '.join(SCRIPTS)}")
    args = parser.parse_args()
    unknown = [name for name in args.names if name not in SCRIPTS]
    if unknown:
        parser.error(f"no bench script {', '.join(unknown)}; there are {', '.join(SCRIPTS)}")
    missing = sorted(path.stem for path in BENCH.glob("[!_]*.py")
                     if path.stem not in SCRIPTS and path.stem != "all")
    if missing:  # a new script is run here too, or it is forgotten
        raise SystemExit(f"bench/all.py does not know {', '.join(missing)}: add it to SCRIPTS")
    failed = []
    for name in args.names or SCRIPTS:
        command = [sys.executable, str(BENCH / f"{name}.py"),
                   *(SCRIPTS[name] if args.quick else [])]
        print(f"== {name}: {' '.join(['python', f'bench/{name}.py', *command[2:]])}",
              flush=True)
        start = time.perf_counter()
        code = subprocess.run(command, check=False).returncode  # its figures go straight out
        print(f"   ({time.perf_counter() - start:.0f} s{'' if code == 0 else f'; exit {code}'})\n",
              flush=True)
        if code:
            failed.append(name)
    if failed:
        raise SystemExit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
