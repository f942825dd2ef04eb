"""Fusing lexical (BM25) and semantic (embedding) evidence, and the answer / suggest / decline call.

BM25 knows the domain's words (权限集, 61004, 全网发布) and the coverage check knows when a
question is about something else; embeddings know paraphrase. Neither alone is enough on real
questions, so both are normalised per question to [0, 1] and mixed (a weighted sum beat
reciprocal-rank fusion on the tuning set: ranks throw away how far ahead the leader is).

The decision then uses, like Rasa's FallbackClassifier, both how sure the best topic is and how
far it leads the runner-up: a strong but ambiguous match becomes "did you mean", not an answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

LEXICAL_WEIGHT = 0.7  # share of the fused score that comes from BM25
DENSE_FLOOR_RANK = 10  # the 10th best cosine maps to 0: cosines of e5 are all high, only the gap means something
# Calibrated confidence = logistic(BIAS + W_LEXICAL*lexical + W_COSINE*(cosine-0.9)*10 + W_MARGIN*margin),
# fitted (logistic regression, "is the best-ranked topic right?") on the tuning set faq_eval.tsv and the
# dev rows of faq_real.tsv (weighted 2:1 to real questions); never on any held-out file. Refit with
# scripts/faq_calibrate.py tests/data/faq_eval.tsv tests/data/faq_real.tsv:2 after larger knowledge edits.
CALIBRATION_BIAS = -1.707
W_LEXICAL = 3.013
W_COSINE = 1.304
W_MARGIN = 1.539
ANSWER_THRESHOLD = 0.6  # calibrated confidence needed to answer
LEXICAL_ANSWER_THRESHOLD = 0.5  # ... when there is no embedding (pinyin, lexical-only): the old rule
AMBIGUITY_MARGIN = 0.03  # ... and this lead of the fused score over the runner-up
SUGGEST_THRESHOLD = 0.2  # below this nothing is offered: the question is not ours

ANSWER, SUGGEST, DECLINE = "answer", "suggest", "decline"


@dataclass(frozen=True)
class Decision:
    """What to do with a question, the calibrated confidence and the fused lead behind it."""

    action: str
    confidence: float
    margin: float


def normalise_lexical(bm25: np.ndarray) -> np.ndarray:
    """BM25 relative to the best topic of this question (0 everywhere when nothing matched)."""
    best = float(bm25.max()) if bm25.size else 0.0
    return bm25 / best if best > 0 else np.zeros_like(bm25, dtype=float)


def normalise_dense(cosines: np.ndarray) -> np.ndarray:
    """Cosines relative to this question's best and its DENSE_FLOOR_RANK-th best, clipped to [0, 1]."""
    if cosines.size == 0:
        return cosines.astype(float)
    ordered = np.sort(cosines)[::-1]
    floor = float(ordered[min(DENSE_FLOOR_RANK, len(ordered) - 1)])
    span = float(ordered[0]) - floor
    if span <= 1e-9:
        return np.zeros_like(cosines, dtype=float)
    return np.clip((cosines - floor) / span, 0.0, 1.0)


def fuse(bm25: np.ndarray, cosines: np.ndarray | None) -> np.ndarray:
    """Per-topic fused score in [0, 1]; lexical only when no embedding was computed."""
    lexical = normalise_lexical(bm25)
    if cosines is None:
        return lexical
    return LEXICAL_WEIGHT * lexical + (1 - LEXICAL_WEIGHT) * normalise_dense(cosines)


def calibrate(lexical_confidence: float, cosine: float | None, margin: float) -> float:
    """P(the best topic is right) from the lexical confidence (coverage, strength, BM25 margin),
    the best topic's cosine and its fused lead; the lexical confidence alone without an embedding."""
    if cosine is None:
        # Rescaled so that LEXICAL_ANSWER_THRESHOLD lands on ANSWER_THRESHOLD.
        return float(min(1.0, lexical_confidence * ANSWER_THRESHOLD / LEXICAL_ANSWER_THRESHOLD))
    z = CALIBRATION_BIAS + W_LEXICAL * lexical_confidence + W_COSINE * (cosine - 0.9) * 10 + W_MARGIN * margin
    return float(1 / (1 + math.exp(-z)))


def lead(fused: np.ndarray, best: int) -> float:
    """How far the best topic's fused score is ahead of the runner-up."""
    others = np.delete(fused, best)
    return max(0.0, float(fused[best]) - (float(others.max()) if others.size else 0.0))


def decide(confidence: float, fused: np.ndarray, best: int, *, answerable: bool = True) -> Decision:
    """Answer when sure and clearly ahead, suggest when there is something to offer, else decline.

    ``answerable=False`` (the question quotes an error code no topic knows) caps it at a suggestion.
    """
    margin = lead(fused, best)
    if answerable and confidence >= ANSWER_THRESHOLD and margin >= AMBIGUITY_MARGIN:
        action = ANSWER
    elif confidence >= SUGGEST_THRESHOLD:
        action = SUGGEST
    else:
        action = DECLINE
    return Decision(action, confidence, margin)
