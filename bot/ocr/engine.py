"""The OCR model: rapidocr-onnxruntime (PP-OCRv4 detector + recogniser, inside the wheel), loaded once.

Why this one: it reads a rendered WeChat error dialog, error code included, at >= 0.96 confidence;
its models ship in the 15 MB wheel (nothing is downloaded, checked with the network switched off),
it loads in about a second and, with the detector input below, peaks at 300-400 MB after reads.
``rapidocr`` 3.x (PP-OCRv6, 27 MB wheel, models inside too) read the same test images as well, at 1.5-2x
the time and ~70 MB more memory on this 2-core machine: not worth it for screenshots of dialogs (docs/ocr.md,
"Reading screenshots").

Screenshots are upright, so the angle classifier is skipped (a third of the work for nothing).

Memory: a read's peak is the detector's activations, which grow with its input. rapidocr's default scales
the short side *up* to 736 px (a 900 × 311 dialog is detected at 2144 × 736): ~420 MB on top of the loaded
model per read in flight. The detector here gets the long side capped at 960 px instead (PaddleOCR's own
default; the recogniser still reads the crops at full resolution): ~150 MB per read, and on the 120
screenshots of ``scripts/ocr_eval.py`` the same 120 answered right with slightly better character accuracy
(docs/ocr.md, "How fast, how big"). ONNX Runtime's CPU memory arena is already off in rapidocr 1.4.4's sessions
(turning it on raised the peak from ~600 to ~780 MB).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

DET_LIMIT_TYPE, DET_LIMIT_SIDE = "max", 960  # the detector's input: long side at most 960 px (see above)


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
        options: dict[str, Any] = {"print_verbose": False, "det_limit_type": DET_LIMIT_TYPE,
                                   "det_limit_side_len": DET_LIMIT_SIDE}
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
