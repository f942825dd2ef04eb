"""Fusing lexical (BM25) and semantic (embedding) evidence, and the answer / suggest / decline call.

BM25 knows the domain's words (权限集, 61004, 全网发布) and the coverage check knows when a
question is about something else; embeddings know paraphrase. Neither alone is enough on real
questions, so both are normalised per question to [0, 1] and mixed (a weighted sum beat
reciprocal-rank fusion on the tuning set: ranks throw away how far ahead the leader is).

The decision then uses, like Rasa's FallbackClassifier, both how sure the best topic is and how
far it leads the runner-up: a strong but ambiguous match becomes "did you mean", not an answer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LEXICAL_WEIGHT = 0.7  # share of the fused score that comes from BM25
DENSE_FLOOR_RANK = 10  # the 10th best cosine maps to 0: cosines of e5 are all high, only the gap means something
DENSE_LOW, DENSE_HIGH = 0.80, 0.92  # cosine (topic score) mapped to 0 and 1 of semantic confidence
LEXICAL_SHARE = 0.9  # share of the lexical confidence in the calibrated one
ANSWER_THRESHOLD = 0.5  # calibrated confidence needed to answer
AMBIGUITY_MARGIN = 0.05  # ... and this lead of the fused score over the runner-up
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


def semantic_confidence(cosine: float) -> float:
    """Map the best topic's absolute cosine to [0, 1]."""
    return float(np.clip((cosine - DENSE_LOW) / (DENSE_HIGH - DENSE_LOW), 0.0, 1.0))


def calibrate(lexical_confidence: float, cosine: float | None) -> float:
    """One confidence from the lexical one (coverage, strength, BM25 margin) and the cosine."""
    if cosine is None:
        return lexical_confidence
    return LEXICAL_SHARE * lexical_confidence + (1 - LEXICAL_SHARE) * semantic_confidence(cosine)


def decide(confidence: float, fused: np.ndarray, best: int) -> Decision:
    """Answer when sure and clearly ahead, suggest when there is something to offer, else decline."""
    others = np.delete(fused, best)
    runner_up = float(others.max()) if others.size else 0.0
    margin = max(0.0, float(fused[best]) - runner_up)
    if confidence >= ANSWER_THRESHOLD and margin >= AMBIGUITY_MARGIN:
        action = ANSWER
    elif confidence >= SUGGEST_THRESHOLD:
        action = SUGGEST
    else:
        action = DECLINE
    return Decision(action, confidence, margin)
