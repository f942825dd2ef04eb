"""Pictures from strangers: formats, caps, decompression bombs, the AI bot's file encryption; and the web process
never loads the OCR model (its memory does not change)."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from bot.ocr.fetch import decrypt, encrypt
from bot.ocr.images import MAX_SIDE, BadImage, Limits, decode
from tests.support.environment import TEST_AIBOT_AES_KEY

ROOT = Path(__file__).resolve().parents[2]


def picture(fmt: str, size=(300, 120), colour="white", **options) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, fmt, **options)
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF"])
def test_the_four_formats_decode_to_rgb(fmt: str) -> None:
    pixels = decode(picture(fmt))
    assert pixels.shape == (120, 300, 3) and pixels.dtype == np.uint8


def test_an_animated_gif_gives_its_first_frame() -> None:
    frames = [Image.new("RGB", (64, 64), colour) for colour in ("red", "blue", "green")]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:])
    first = decode(out.getvalue())
    assert tuple(first[10, 10]) == (255, 0, 0)


def test_a_large_screenshot_is_shrunk_to_the_long_side() -> None:
    assert max(decode(picture("PNG", size=(4000, 1000))).shape[:2]) == MAX_SIDE


@pytest.mark.parametrize(("data", "reason"), [
    (b"", "empty"),
    (b"GIF89a" + b"\0" * 10, "unreadable"),
    (b"%PDF-1.4 not a picture", "unreadable"),
    (picture("BMP"), "unreadable"),  # a format we do not open
    (picture("PNG", size=(8, 8)), "too_small"),
])
def test_what_is_not_a_readable_picture_is_refused_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(BadImage) as refused:
        decode(data)
    assert refused.value.reason == reason


def test_caps_on_bytes_and_on_declared_pixels() -> None:
    with pytest.raises(BadImage, match="too_big"):
        decode(picture("PNG"), Limits(max_bytes=100))
    out = io.BytesIO()
    Image.new("L", (12_000, 12_000)).save(out, "PNG")  # 144 MP declared, a few hundred KB on the wire
    assert len(out.getvalue()) < 1_000_000
    with pytest.raises(BadImage, match="too_many_pixels"):
        decode(out.getvalue())


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2048))
def test_any_bytes_either_decode_or_are_refused(data: bytes) -> None:
    with contextlib.suppress(BadImage):
        decode(data)


def test_the_ai_bots_file_encryption_round_trips_and_refuses_a_wrong_key() -> None:
    data = picture("PNG")
    assert decrypt(encrypt(data, TEST_AIBOT_AES_KEY), TEST_AIBOT_AES_KEY) == data
    other = "A" * 43
    with pytest.raises(BadImage, match="undecryptable"):
        decrypt(encrypt(data, TEST_AIBOT_AES_KEY), other)
    with pytest.raises(BadImage, match="undecryptable"):
        decrypt(b"short", TEST_AIBOT_AES_KEY)


def test_the_web_process_never_loads_the_ocr_model_or_pillow() -> None:
    """Not even with its answerer of the OCR process's text running (as gunicorn_conf starts it)."""
    script = ("import sys, tempfile; from pathlib import Path; from tests.support.environment import make_env; "
              "from bot.config import load_settings; from bot.web.app import create_app; "
              "from bot.ocr.answers import start_in_web; "
              "start_in_web(create_app(load_settings(make_env(Path(tempfile.mkdtemp()))))).stop(); "
              "print(sorted(m for m in ('rapidocr_onnxruntime', 'onnxruntime', 'PIL', 'cv2') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_the_ocr_process_loads_none_of_the_answering_services() -> None:
    """The ``ocr`` process holds the OCR model only: the web processes answer what it reads."""
    script = ("import sys, tempfile; from pathlib import Path; from tests.support.environment import make_env; "
              "from bot.config import load_settings; from bot.ocr.reader import build; "
              "build(load_settings(make_env(Path(tempfile.mkdtemp()))), engine=object()); "
              "print(sorted(m for m in ('bot.core.pipeline', 'bot.understand', 'bot.faq', 'handlers', 'sklearn') "
              "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
