"""What an image really is (by its bytes, not its name) and what X accepts per post."""

from __future__ import annotations

from typing import NamedTuple

from ..errors import InputError

MB = 1024 * 1024
# kind -> (MIME type, size limit, upload category)
KINDS = {
    "jpeg": ("image/jpeg", 5 * MB, "tweet_image"),
    "png": ("image/png", 5 * MB, "tweet_image"),
    "webp": ("image/webp", 5 * MB, "tweet_image"),
    "gif": ("image/gif", 15 * MB, "tweet_gif"),
}
MAX_IMAGES_PER_POST = 4


class MediaFile(NamedTuple):
    kind: str
    size: int

    @property
    def mime(self) -> str:
        return KINDS[self.kind][0]

    @property
    def category(self) -> str:
        return KINDS[self.kind][2]

    @property
    def chunked(self) -> bool:
        """GIFs go through the chunked upload; the one-shot upload takes still images."""
        return self.kind == "gif"


def sniff(head: bytes) -> str | None:
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    return None


def inspect(data: bytes, label: str) -> MediaFile:
    """The file's kind and size, or an InputError naming the file and the reason."""
    kind = sniff(data[:16])
    if kind is None:
        raise InputError(f"{label} is not a JPEG, PNG, WEBP or GIF image (judged by its "
                         "content, not its name); X accepts only those here")
    size = len(data)
    limit = KINDS[kind][1]
    if size > limit:
        raise InputError(f"{label} is a {kind.upper()} of {size / MB:.1f} MB; X accepts at "
                         f"most {limit // MB} MB for that kind")
    return MediaFile(kind, size)


def check_post(files: list[MediaFile], source: str, number: int) -> None:
    """At most 4 images, or one GIF alone, per post."""
    gifs = sum(1 for f in files if f.kind == "gif")
    if gifs and len(files) > 1:
        raise InputError(f"{source}: post {number} carries a GIF with other media; X allows "
                         "one GIF alone in a post (move the others to another post)")
    if len(files) > MAX_IMAGES_PER_POST:
        raise InputError(f"{source}: post {number} carries {len(files)} images; X allows at "
                         f"most {MAX_IMAGES_PER_POST} per post")
