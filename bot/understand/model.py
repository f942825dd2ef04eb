"""The statistical part: a linear classifier over character n-grams of the text and of its pinyin.

Character n-grams generalise over word boundaries Chinese does not mark and over one-character
typos; the pinyin view makes homophone typos (下一部 / 下一步) and typed pinyin (xiayibu) read like
the characters. scikit-learn's TF-IDF + a calibrated linear SVM trains on a few thousand examples in
well under a second, so every process trains its own model at start from the data files (nothing
is downloaded, nothing pickled) and again when staff teach it something.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from pypinyin import lazy_pinyin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion, make_pipeline
from sklearn.svm import LinearSVC

_MENTION = re.compile(r"^@\S+\s+")
_DIGITS = re.compile(r"\d")
_SPACES = re.compile(r"\s+")
MAX_MODEL_CHARS = 200  # a longer message is read from its start (pasted logs are questions anyway)


def surface(text: str) -> str:
    """What the character view sees: NFKC, lower-case, digits as '0' (勾选3 ~ 勾选5), one space."""
    text = unicodedata.normalize("NFKC", text[:MAX_MODEL_CHARS]).lower()
    text = _MENTION.sub("", text)
    return _SPACES.sub(" ", _DIGITS.sub("0", text)).strip()


@lru_cache(maxsize=4096)
def pinyin(text: str) -> str:
    """Toneless pinyin of the Chinese characters, other characters kept: 下一部 -> 'xiayibu'."""
    return "".join(lazy_pinyin(surface(text), errors="default")).replace(" ", "")


class IntentModel:
    """Labels with probabilities for a message; trained from (text, label) pairs."""

    def __init__(self, pairs: Sequence[tuple[str, str]]) -> None:
        texts = [t for t, _ in pairs]
        labels = [label for _, label in pairs]
        features = FeatureUnion([
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), preprocessor=surface,
                                      sublinear_tf=True, min_df=1)),
            ("pinyin", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), preprocessor=pinyin,
                                       sublinear_tf=True, min_df=1)),
        ])
        # A linear SVM trains in a fraction of a second; the sigmoid calibration (3-fold) turns its
        # margins into probabilities the policy can put thresholds on.
        classifier = CalibratedClassifierCV(LinearSVC(C=1.0, class_weight="balanced"), cv=3, method="sigmoid")
        self._pipeline = make_pipeline(features, classifier)
        self._pipeline.fit(texts, labels)
        self.labels: tuple[str, ...] = tuple(self._pipeline.classes_)

    def rank(self, text: str, top: int = 3) -> list[tuple[str, float]]:
        """The ``top`` labels, most probable first."""
        probs = self._pipeline.predict_proba([text])[0]
        order = np.argsort(-probs)[:top]
        return [(self.labels[i], float(probs[i])) for i in order]
