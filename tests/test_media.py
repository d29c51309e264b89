"""Images and GIFs: validated before any request, uploaded once, on the right post."""

from __future__ import annotations

import hashlib
import signal
import struct
import zlib
from pathlib import Path

import pytest
import requests

from .helpers import DiaryRepo, EmulatorHandle, git

DATE = "2026-11-28"


def png(seed: int = 0, padding: int = 0) -> bytes:
    """A real 1x1 PNG (a different pixel per seed), optionally padded with a tEXt chunk."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + \
            struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    pixel = zlib.compress(bytes([0, seed % 256, 0, 0]))
    extra = chunk(b"tEXt", b"pad\x00" + b"x" * padding) if padding else b""
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + extra + chunk(b"IDAT", pixel) + chunk(b"IEND", b""))


GIF = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00"
       b"\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


ENTRY = """---
title: Screenshots
media:
  - path: media/front.png
    alt: The first screenshot
  - path: /diary/media/second.png
    alt: Goes with the second post
    post: 2
---
The first post, with the front-matter image.

---

The second post.

---

The third post carries an inline image ![The inline one](media/inline.png) right here.
"""


@pytest.fixture
def illustrated(repo: DiaryRepo) -> DiaryRepo:
    repo.write("diary/media/front.png", png(1))
    repo.write("diary/media/second.png", png(2))
    repo.write("diary/media/inline.png", png(3))
    repo.write(f"diary/{DATE}.md", ENTRY)
    repo.commit()
    return repo


def posted_media(emulator: EmulatorHandle) -> list[list[tuple[str, str | None]]]:
    """Per post in thread order: (sha256, alt) of each image it carries."""
    state = emulator.world.snapshot()
    posts = sorted(state["posts"], key=lambda p: int(p["id"]))
    return [[(state["media"][m]["sha256"], state["media"][m]["alt"]) for m in p["media_ids"]]
            for p in posts]


EXPECTED = [[(sha(png(1)), "The first screenshot")],
            [(sha(png(2)), "Goes with the second post")],
            [(sha(png(3)), "The inline one")]]


def test_images_with_alt_text_on_the_right_posts(illustrated: DiaryRepo,
                                                 emulator: EmulatorHandle) -> None:
    preview = illustrated.run("preview", "--date", DATE)
    assert '🖼 diary/media/inline.png — alt: "The inline one"' in preview.stdout
    result = illustrated.run("publish", "--date", DATE, env=emulator.env())
    assert result.code == 0, result.stderr
    assert posted_media(emulator) == EXPECTED
    assert emulator.count("POST /2/media/upload") == 3
    assert emulator.count("POST /2/media/metadata") == 3
    texts = [p["text"] for p in sorted(emulator.posts(), key=lambda p: int(p["id"]))]
    assert texts[2] == "The third post carries an inline image right here."
    page = requests.get(emulator.url + "/").text
    assert page.count('src="data:image/png;base64,') == 3
    assert 'alt="The inline one"' in page


def test_a_gif_goes_through_the_chunked_upload(repo: DiaryRepo,
                                               emulator: EmulatorHandle) -> None:
    repo.write("diary/media/anim.gif", GIF)
    repo.write(f"diary/{DATE}.md", "Moving ![A tiny animation](media/anim.gif) picture.\n")
    repo.commit()
    result = repo.run("publish", "--date", DATE, env=emulator.env())
    assert result.code == 0, result.stderr
    assert posted_media(emulator) == [[(sha(GIF), "A tiny animation")]]
    media_id = next(iter(emulator.world.snapshot()["media"]))
    for key in ("POST /2/media/upload/initialize", f"POST /2/media/upload/{media_id}/append",
                f"POST /2/media/upload/{media_id}/finalize", "GET /2/media/upload"):
        assert emulator.count(key) == 1, key
    assert emulator.count("POST /2/media/upload") == 0  # not the one-shot upload


def test_killed_between_upload_and_create(illustrated: DiaryRepo,
                                          emulator: EmulatorHandle) -> None:
    # Journal writes: account, start, media (post 1) -> killed right after the upload.
    crashed = illustrated.run("publish", "--date", DATE,
                              env=emulator.env(AGENT_DIARY_FAILPOINT="journal:3"))
    assert crashed.code == -signal.SIGKILL
    assert emulator.count("POST /2/media/upload") == 1 and emulator.posts() == []
    result = illustrated.run("publish", "--date", DATE, env=emulator.env())
    assert result.code == 0, result.stderr
    assert posted_media(emulator) == EXPECTED
    assert emulator.count("POST /2/media/upload") == 3  # the first upload was reused


def test_killed_after_x_created_a_post_with_media(illustrated: DiaryRepo,
                                                  emulator: EmulatorHandle) -> None:
    import os
    import subprocess
    import sys
    import time

    emulator.fault(skip=2, after="hold", hold=30)  # post 3 (inline image) created, held
    process = subprocess.Popen([sys.executable, "-m", "agent_diary", "publish", "--date",
                                DATE], cwd=illustrated.root, env={**os.environ,
                                                                  **emulator.env()})
    deadline = time.monotonic() + 20
    while len(emulator.posts()) < 3:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    emulator.clear_faults()
    result = illustrated.run("publish", "--date", DATE, env=emulator.env())
    assert result.code == 0, result.stderr
    assert "post 3/3 was already on X" in result.stderr  # found despite the media link
    assert posted_media(emulator) == EXPECTED


def test_an_expired_upload_is_uploaded_again(illustrated: DiaryRepo,
                                             emulator: EmulatorHandle) -> None:
    crashed = illustrated.run("publish", "--date", DATE,
                              env=emulator.env(AGENT_DIARY_FAILPOINT="journal:3"))
    assert crashed.code == -signal.SIGKILL
    requests.post(emulator.url + "/_emulator/expire_media")
    result = illustrated.run("publish", "--date", DATE, env=emulator.env())
    assert result.code == 0, result.stderr
    assert "uploading again" in result.stderr
    assert posted_media(emulator) == EXPECTED
    assert emulator.count("POST /2/media/upload") == 4


@pytest.mark.parametrize(("setup", "fragment"), [
    ("uncommitted", "is not committed"),
    ("not_an_image", "is not a JPEG, PNG, WEBP or GIF image"),
    ("big_png", "X accepts at most 5 MB"),
    ("big_gif", "X accepts at most 15 MB"),
    ("five_images", "carries 5 images; X allows at most 4"),
    ("gif_and_image", "one GIF alone in a post"),
    ("outside", "resolves outside the repository"),
    ("missing", "not found"),
    ("long_alt", "alt text has 1001 characters"),
])
def test_invalid_media_never_reaches_the_network(repo: DiaryRepo, emulator: EmulatorHandle,
                                                 tmp_path: Path, setup: str,
                                                 fragment: str) -> None:
    body = "Text ![alt](media/a.png)\n"
    repo.write("diary/media/a.png", png())
    if setup == "not_an_image":
        repo.write("diary/media/a.png", "this is text, named like an image\n")
    elif setup == "big_png":
        repo.write("diary/media/a.png", png(padding=5 * 1024 * 1024))
    elif setup == "big_gif":
        repo.write("diary/media/a.gif", GIF + b"\x00" * (15 * 1024 * 1024))
        body = "Text ![alt](media/a.gif)\n"
    elif setup == "five_images":
        for i in range(5):
            repo.write(f"diary/media/{i}.png", png(i))
        body = "Text " + " ".join(f"![alt {i}](media/{i}.png)" for i in range(5)) + "\n"
    elif setup == "gif_and_image":
        repo.write("diary/media/a.gif", GIF)
        body = "Text ![a](media/a.png) ![b](media/a.gif)\n"
    elif setup == "outside":
        (tmp_path / "secret.png").write_bytes(png())
        body = f"Text ![alt](../../{'../' * 5}{tmp_path.relative_to('/')}/secret.png)\n"
    elif setup == "missing":
        body = "Text ![alt](media/none.png)\n"
    elif setup == "long_alt":
        body = f"Text ![{'a' * 1001}](media/a.png)\n"
    repo.write(f"diary/{DATE}.md", body)
    repo.commit()
    if setup == "uncommitted":
        repo.write("diary/media/a.png", png(9))  # changed after the commit
    result = repo.run("publish", "--date", DATE, env=emulator.env())
    assert result.code == 2, result.stderr
    assert fragment in result.stderr and "diary/2026-11-28.md" in result.stderr
    assert emulator.requests() == 0
    assert git(repo.root, "status", "--porcelain", "diary/2026-11-28.md") == ""


# --- GIF processing: X asks to poll STATUS while `pending`/`in_progress` ----------------

@pytest.fixture
def animated(repo: DiaryRepo) -> DiaryRepo:
    repo.write("diary/media/anim.gif", GIF)
    repo.write(f"diary/{DATE}.md", "Moving ![A tiny animation](media/anim.gif) picture.\n")
    repo.commit()
    return repo


def test_a_gif_is_awaited_while_x_processes_it(animated: DiaryRepo,
                                                emulator: EmulatorHandle) -> None:
    emulator.world.gif_processing_checks = 70  # more than the old cap of 60 checks
    emulator.world.gif_check_after_secs = 0
    result = animated.run("publish", "--date", DATE, env=emulator.env())
    assert result.code == 0, result.stderr
    assert posted_media(emulator) == [[(sha(GIF), "A tiny animation")]]
    assert emulator.count("GET /2/media/upload") == 71


def test_a_gif_x_fails_to_process_is_bad_input(animated: DiaryRepo,
                                               emulator: EmulatorHandle) -> None:
    emulator.world.gif_processing_checks = 2
    emulator.world.gif_processing_result = "failed"
    emulator.world.gif_check_after_secs = 0
    result = animated.run("publish", "--date", DATE, env=emulator.env())
    assert result.code == 2, result.stderr
    assert "X could not process the GIF (Unsupported video format)" in result.stderr
    assert emulator.posts() == []


def test_a_gif_still_processing_past_the_wait_is_temporary(animated: DiaryRepo,
                                                           emulator: EmulatorHandle) -> None:
    from agent_diary.networks.x import MAX_PROCESSING_WAIT

    # X asks for a longer wait than the whole budget: stop at once, without sleeping it.
    emulator.world.gif_processing_checks = 1
    emulator.world.gif_check_after_secs = MAX_PROCESSING_WAIT + 1
    result = animated.run("publish", "--date", DATE, env=emulator.env())
    assert result.code == 5, result.stderr
    assert "X is still processing the GIF" in result.stderr and "rerun" in result.stderr
    assert emulator.posts() == []
    emulator.world.gif_processing_checks = 0
    emulator.world.gif_check_after_secs = 0
    rerun = animated.run("publish", "--date", DATE, env=emulator.env())
    assert rerun.code == 0, rerun.stderr
    assert len(emulator.posts()) == 1


def _gif_client(emulator: EmulatorHandle, sleeps: list[float]):  # -> XClient
    from agent_diary.auth import Credentials
    from agent_diary.networks.x import XClient

    a = emulator.account
    return XClient(Credentials(a.consumer_key, a.consumer_secret, a.access_token,
                               a.access_token_secret), emulator.url, retry_delays=(),
                   sleep=sleeps.append)


def test_the_gif_wait_is_the_one_x_asks_for(emulator: EmulatorHandle) -> None:
    from agent_diary.text.media import MediaFile

    emulator.world.gif_processing_checks = 3
    emulator.world.gif_check_after_secs = 2.5
    sleeps: list[float] = []
    media_id, _ = _gif_client(emulator, sleeps).upload(GIF, MediaFile("gif", len(GIF)))
    assert sleeps == [2.5] * 4  # after FINALIZE's `pending`, then after each `in_progress`
    assert emulator.world.snapshot()["media"][media_id]["processing"] == "succeeded"


@pytest.mark.parametrize("check_after", [5.0, 0.0])
def test_the_gif_wait_is_bounded(emulator: EmulatorHandle, check_after: float) -> None:
    from agent_diary.errors import TemporaryError
    from agent_diary.networks.x import MAX_PROCESSING_WAIT
    from agent_diary.text.media import MediaFile

    emulator.world.gif_processing_checks = 10**6  # X never finishes
    emulator.world.gif_check_after_secs = check_after
    sleeps: list[float] = []
    with pytest.raises(TemporaryError, match="X is still processing the GIF"):
        _gif_client(emulator, sleeps).upload(GIF, MediaFile("gif", len(GIF)))
    assert sum(sleeps) <= MAX_PROCESSING_WAIT
    # A server asking for no wait at all is not polled forever either.
    assert 0 < emulator.count("GET /2/media/upload") <= MAX_PROCESSING_WAIT
