"""Does the message change progress at all? A second, learned opinion before any change is made.

The rules and the intent model read *which* command a message names; this reads *whether* the user
makes one. Reports and requests do; plans, negations, problem reports and stories that only mention a
command ("先别标完成", "晚点再提交认证", "点了下一步没反应") do not. It is a logistic regression over the same
character and pinyin n-grams as the intent model plus the context (step, certification, the pending
question), trained at start from data/understanding/statements.jsonl (messages written by people who
never saw the bot, each labelled by whether a careful agent would change progress on it) and from the
intents' own examples. When it gives a state-changing reading less than ``DOUBT``, the bot asks before
acting ("你是想「勾选第 2 项」吗？"): one more word for the user when the rules were right, no wrong
change when they were not.

Why a separate model and not one more intent: the intent model answers "which of 40 things", trained
on short commands; this one answers one yes/no from whole messages in context, where the cues of
negation, plan and problem live (docs/understanding.md, "Fourth round", has the figures and the
threshold's choice).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from bot.infra.resources import resource_dir
from bot.understand.examples import IntentSpec
from bot.understand.model import pinyin, surface
from bot.understand.reading import Context
from bot.understand.stance import UnderstandingDataError

STATEMENTS_FILE = resource_dir("data/understanding") / "statements.jsonl"
# Below this P(changes progress) a state-changing reading is asked about first. Chosen by leaving out one
# pair of writers at a time on sets 11-20, read as the code each pair first met read them: at 0.3 the gate
# turned 21 of 88 harmful readings into questions for 12 right ones (docs/understanding.md).
DOUBT = 0.3
REGULARISATION = 4.0  # LogisticRegression's C: the same leave-a-pair-out runs (1 and 16 did worse or no better)
_SPEC_CONTEXT = Context(step=1)  # the intents' examples carry no context of their own


def context_words(ctx: Context) -> str:
    """What of the context the gate sees, as words: step, certification, the question the bot asked."""
    return f"step{ctx.step} cert_{ctx.cert} pending_{ctx.pending or 'none'}"


def load_statements(path: Path = STATEMENTS_FILE) -> list[tuple[str, Context, bool]]:
    """(text, context, changes progress) from the data file; a broken line names the file and line."""
    out = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UnderstandingDataError(f"{path.name}: {exc}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("#"):
            continue
        try:
            row = json.loads(line)
            ctx = Context(step=int(row["step"]), cert=str(row["cert"]), pending=row.get("pending"))
            out.append((str(row["text"]), ctx, bool(row["changes"])))
        except (ValueError, KeyError, TypeError) as exc:
            raise UnderstandingDataError(f"{path.name}:{number}: {exc!r}") from None
    return out


class StatementGate:
    """P(the message changes progress | its text and context)."""

    def __init__(self, examples: Iterable[tuple[str, Context, bool]], specs: Sequence[IntentSpec] = ()) -> None:
        rows = list(examples) + [(text, _SPEC_CONTEXT, spec.changes_state) for spec in specs
                                 for text in spec.examples if "{" not in text]
        # n-grams seen once and float64 weights cost memory and bought nothing in the leave-a-pair-out runs
        features = ColumnTransformer([
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), preprocessor=surface,
                                      sublinear_tf=True, min_df=2, dtype=np.float32), 0),
            ("pinyin", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), preprocessor=pinyin,
                                       sublinear_tf=True, min_df=2, dtype=np.float32), 0),
            ("context", TfidfVectorizer(analyzer=str.split), 1),
        ])
        self._pipeline = make_pipeline(features, LogisticRegression(C=REGULARISATION, max_iter=3000,
                                                                    class_weight="balanced"))
        self._pipeline.fit(_matrix([(text, context_words(ctx)) for text, ctx, _ in rows]),
                           [changes for _, _, changes in rows])
        self._changes = list(self._pipeline.classes_).index(True)
        self._cached = lru_cache(maxsize=4096)(self._probability)

    def changes(self, text: str, ctx: Context) -> float:
        """P(a careful agent would change this user's progress on this message)."""
        return self._cached(text, context_words(ctx))

    def doubts(self, text: str, ctx: Context) -> bool:
        return self.changes(text, ctx) < DOUBT

    def _probability(self, text: str, words: str) -> float:
        return float(self._pipeline.predict_proba(_matrix([(text, words)]))[0, self._changes])


def _matrix(rows: Sequence[tuple[str, str]]) -> np.ndarray:
    """Two columns, the text and the context's words: what the ColumnTransformer splits."""
    return np.array([list(row) for row in rows], dtype=object).reshape(len(rows), 2)
