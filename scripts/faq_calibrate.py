"""Refit the FAQ's calibrated confidence (bot.faq.fusion) by logistic regression and print it.

The label is "the best-ranked topic is right"; the features are what ``fusion.calibrate`` uses
(lexical confidence, the best topic's cosine, its fused lead). Rows of a ``holdout`` split are never
read: held-out figures must stay unseen by any fitting.

Run: .venv/bin/python scripts/faq_calibrate.py tests/data/faq_eval.tsv tests/data/faq_real.tsv:2
     (``path:weight`` weighs a file's rows; real questions count double by default in the README fit)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.faq import KnowledgeBase, fusion  # noqa: E402
from bot.faq.evaluate import read_cases  # noqa: E402

L2 = 0.01
STEPS = 4000
RATE = 0.5


def features(kb: KnowledgeBase, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(features, labels) of a file's non-holdout questions that reach the calibrated decision."""
    rows, labels = [], []
    for case in read_cases(path):
        if case.split == "holdout":
            continue
        evidence = kb.evidence(case.question)
        if evidence is None or evidence.cosine is None:
            continue  # exact hits and lexical-only decisions do not use the fitted formula
        rows.append([evidence.lexical, (evidence.cosine - 0.9) * 10, evidence.lead])
        labels.append(float(evidence.topic in case.accepted))
    return np.array(rows, dtype=float).reshape(-1, 3), np.array(labels)


def fit(x: np.ndarray, y: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted, L2-regularised logistic regression by gradient descent: [bias, w_lex, w_cos, w_lead]."""
    design = np.hstack([np.ones((len(x), 1)), x])
    w = np.zeros(design.shape[1])
    for _ in range(STEPS):
        p = 1 / (1 + np.exp(-design @ w))
        grad = design.T @ ((p - y) * weights) / weights.sum() + L2 * np.r_[0.0, w[1:]]
        w -= RATE * grad
    return w


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", help="evaluation files, optionally path:weight")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    kb = KnowledgeBase.load(KnowledgeBase.default_dir(), background=False)
    xs, ys, ws = [], [], []
    for spec in args.files:
        path, _, weight = spec.partition(":")
        x, y = features(kb, Path(path))
        xs.append(x)
        ys.append(y)
        ws.append(np.full(len(y), float(weight or 1)))
        print(f"{path}: {len(y)} questions reach the fitted formula, {int(y.sum())} with the right best topic")
    w = fit(np.vstack(xs), np.concatenate(ys), np.concatenate(ws))
    print("\nfitted (paste into bot/faq/fusion.py):")
    print(f"CALIBRATION_BIAS = {w[0]:.3f}\nW_LEXICAL = {w[1]:.3f}\nW_COSINE = {w[2]:.3f}\nW_MARGIN = {w[3]:.3f}")
    print(f"\nin use: {fusion.CALIBRATION_BIAS}, {fusion.W_LEXICAL}, {fusion.W_COSINE}, {fusion.W_MARGIN}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
