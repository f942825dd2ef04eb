"""Turn the bytes of a pasted picture into pixels OCR can read, or a clear refusal.

Pictures come from strangers: a 40 KB PNG can declare 100,000 × 100,000 pixels (a decompression
bomb), a GIF can have hundreds of frames, a "JPEG" can be anything. So the byte size is capped
before decoding, the declared pixel count is checked before any pixel is decoded (Pillow reads it
from the header), only PNG, JPEG, GIF (first frame) and WebP are opened, and what OCR gets is
scaled down to at most ``MAX_SIDE`` pixels on its long side (bounded work per image).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, UnidentifiedImageError

FORMATS = ("PNG", "JPEG", "GIF", "WEBP")
MAX_SIDE = 1600  # long side OCR reads; a 4K phone screenshot is shrunk, a dialog is untouched
MIN_SIDE = 16  # smaller than this holds no readable text


class BadImage(ValueError):
    """The picture cannot be read; ``reason`` names why (a template key: too_big, too_many_pixels, ...)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 10 * 1024 * 1024  # WeCom's own cap on an image message
    max_pixels: int = 40_000_000  # width × height as the file declares it


def decode(data: bytes, limits: Limits = Limits()) -> np.ndarray:
    """RGB pixels (H × W × 3, uint8) of the first frame, scaled to ``MAX_SIDE``; BadImage otherwise."""
    if not data:
        raise BadImage("empty")
    if len(data) > limits.max_bytes:
        raise BadImage("too_big", f"{len(data)} bytes > {limits.max_bytes}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data), formats=FORMATS)  # reads the header only
            width, height = opened.size
            if width * height > limits.max_pixels:
                raise BadImage("too_many_pixels", f"{width}x{height}")
            if min(width, height) < MIN_SIDE:
                raise BadImage("too_small", f"{width}x{height}")
            opened.seek(0)  # a GIF or animated WebP: the first frame
            opened.draft("RGB", (MAX_SIDE, MAX_SIDE))  # JPEG: decode at a reduced scale when it is huge
            image = opened.convert("RGB")
    except BadImage:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:  # Pillow's own, larger cap
        raise BadImage("too_many_pixels", type(exc).__name__) from None
    except UnidentifiedImageError as exc:
        raise BadImage("unreadable", type(exc).__name__) from None
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError) as exc:  # truncated or corrupt files
        raise BadImage("unreadable", type(exc).__name__) from None
    if max(image.size) > MAX_SIDE:
        image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    return np.asarray(image)
