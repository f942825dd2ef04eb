"""The OCR model: rapidocr-onnxruntime (PP-OCRv4 detector + recogniser, inside the wheel), loaded once.

Why this one: it reads a rendered WeChat error dialog, error code included, at >= 0.96 confidence;
its models ship in the 15 MB wheel (nothing is downloaded, checked with the network switched off),
it loads in about a second and stays under 500 MB resident. ``rapidocr`` 3.x (PP-OCRv6, 27 MB wheel,
models inside too) read the same test images as well, at 1.5-2x the time and ~70 MB more memory on
this 2-core machine: not worth it for screenshots of dialogs (README, "Reading screenshots").

Screenshots are upright, so the angle classifier is skipped (a third of the work for nothing).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Line:
    text: str
    confidence: float
    top: float  # y of the box's top edge: lines are given in reading order


@dataclass(frozen=True)
class Reading:
    lines: tuple[Line, ...]
    seconds: float

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    @property
    def confidence(self) -> float:
        """Mean confidence weighted by characters (0 when nothing was read)."""
        total = sum(len(line.text) for line in self.lines)
        return sum(line.confidence * len(line.text) for line in self.lines) / total if total else 0.0


class Engine:
    """One RapidOCR per process; ``read`` may be called from several threads (ONNX Runtime sessions are
    thread-safe), the pool around it bounds how many at once."""

    def __init__(self, threads: int = 0) -> None:
        from rapidocr_onnxruntime import RapidOCR  # ~1 s and ~150 MB: only in the process that reads

        started = time.monotonic()
        options: dict[str, Any] = {"print_verbose": False}
        if threads > 0:
            options.update(intra_op_num_threads=threads, inter_op_num_threads=1)
        self._ocr = RapidOCR(**options)
        self.load_seconds = time.monotonic() - started
        log.info("OCR model loaded in %.2f s", self.load_seconds)

    def read(self, rgb: np.ndarray) -> Reading:
        started = time.monotonic()
        result, _ = self._ocr(np.ascontiguousarray(rgb[:, :, ::-1]), use_cls=False)  # RapidOCR takes BGR
        lines = []
        for box, text, score in result or []:
            text = str(text).strip()
            if text:
                lines.append(Line(text, float(score), float(min(point[1] for point in box))))
        lines.sort(key=lambda line: line.top)
        return Reading(tuple(lines), time.monotonic() - started)
