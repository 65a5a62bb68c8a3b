"""The pixel size of a still image read from its header alone (PNG, JPEG, BMP, WebP), so an oversized
picture is refused before anything decodes it (a small file can declare a picture of many gigabytes).

`check_image_size(path)` raises a one-line MediaError for an unreadable header or a picture larger than
MAX_IMAGE_PIXELS.
"""

from __future__ import annotations

import os
from pathlib import Path

from audiox.errors import MediaError
from audiox.media.formats import check_media_file

MAX_IMAGE_PIXELS = 40_000_000  # 40 megapixels (8K UHD is 33); also the cap on one video frame
HEADER_BYTES = 2 * 1024 * 1024  # JPEG metadata (EXIF, ICC profiles) may come before the size
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def check_image_size(path: str | os.PathLike) -> tuple[int, int]:
    """(width, height) of the image at `path`; MediaError when the header cannot be read or the picture
    has more than MAX_IMAGE_PIXELS pixels."""
    path = check_media_file(path)
    with path.open("rb") as f:
        head = f.read(HEADER_BYTES)
    size = _png(head) or _bmp(head) or _webp(head) or _jpeg(head)
    if size is None:
        raise MediaError(f"{path}: not a readable PNG, JPEG, BMP or WebP image; re-save it as PNG or JPEG")
    check_pixels(path, *size)
    return size


def looks_like_image(path: Path) -> bool:
    """True when the file starts like a PNG, JPEG, BMP or WebP image (whatever its name)."""
    with path.open("rb") as f:
        head = f.read(16)
    return head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"BM")) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")


def check_pixels(path: Path, width: int, height: int) -> None:
    """MediaError unless 1 <= width * height <= MAX_IMAGE_PIXELS."""
    if width < 1 or height < 1:
        raise MediaError(f"{path}: picture is {width}x{height} pixels; re-save it")
    if width * height > MAX_IMAGE_PIXELS:
        raise MediaError(
            f"{path}: picture is {width}x{height} pixels, over the {MAX_IMAGE_PIXELS / 1e6:g} megapixel limit; "
            "scale it down first"
        )


def _png(head: bytes) -> tuple[int, int] | None:
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def _bmp(head: bytes) -> tuple[int, int] | None:
    if head[:2] != b"BM" or len(head) < 26:
        return None
    if int.from_bytes(head[14:18], "little") == 12:  # OS/2 BITMAPCOREHEADER: 16-bit sizes
        return int.from_bytes(head[18:20], "little"), int.from_bytes(head[20:22], "little")
    width = int.from_bytes(head[18:22], "little", signed=True)
    height = int.from_bytes(head[22:26], "little", signed=True)
    return abs(width), abs(height)  # a negative height means top-down rows


def _webp(head: bytes) -> tuple[int, int] | None:
    if head[:4] != b"RIFF" or head[8:12] != b"WEBP" or len(head) < 30:
        return None
    chunk = head[12:16]
    if chunk == b"VP8X":
        return 1 + int.from_bytes(head[24:27], "little"), 1 + int.from_bytes(head[27:30], "little")
    if chunk == b"VP8L":
        bits = int.from_bytes(head[21:25], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    if chunk == b"VP8 ":
        return int.from_bytes(head[26:28], "little") & 0x3FFF, int.from_bytes(head[28:30], "little") & 0x3FFF
    return None


def _jpeg(head: bytes) -> tuple[int, int] | None:
    """Walk the JPEG markers to the first start-of-frame segment."""
    if head[:2] != b"\xff\xd8":
        return None
    i = 2
    while i + 9 < len(head):
        if head[i] != 0xFF:
            return None
        marker = head[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        length = int.from_bytes(head[i + 2 : i + 4], "big")
        if marker in _JPEG_SOF:
            return int.from_bytes(head[i + 7 : i + 9], "big"), int.from_bytes(head[i + 5 : i + 7], "big")
        i += 2 + length
    return None
