"""Counting folds case as `re` does (long s and s, Kelvin sign and k, dotless i and i),
from `re`'s own table: on a Python without it, counting text that needs the table fails
loudly instead of quietly finding other URLs."""

from __future__ import annotations

import subprocess
import sys

_WITHOUT_TABLE = """
import sys
sys.modules["re._casefix"] = None  # as on a Python that moved or dropped it
from agent_diary.text import twittertext
print(twittertext.weighted_length("no URL here"))  # no dot: no TLD looked up
try:
    twittertext.weighted_length("see example.com")  # the TLD table folds IDN TLDs
except Exception as exc:
    print(type(exc).__name__, exc)
"""


def test_counting_without_the_case_table_of_re_fails_loudly() -> None:
    result = subprocess.run([sys.executable, "-c", _WITHOUT_TABLE], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    weight, error = result.stdout.splitlines()
    assert weight == "11"
    assert error.startswith("RuntimeError") and "re._casefix" in error


def test_long_s_folds_as_in_re() -> None:
    from agent_diary.text.twittertext import url_entities

    assert url_entities("see example.\u017fite") == [(4, 16, "example.\u017fite")]
