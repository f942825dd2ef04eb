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
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from pypinyin import lazy_pinyin
from scipy.special import expit
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
    text = _MENTION.sub("", _without_tone_marks(text))
    return _SPACES.sub(" ", _DIGITS.sub("0", text)).strip()


def _without_tone_marks(text: str) -> str:
    """"xià yī bù" -> "xia yi bu": pinyin typed with tones reads like pinyin typed without."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


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
        classifier = CalibratedClassifierCV(LinearSVC(C=1.0, class_weight="balanced"), cv=3, method="sigmoid",
                                            ensemble=False)
        self._pipeline = make_pipeline(features, classifier)
        self._pipeline.fit(texts, labels)
        self.labels: tuple[str, ...] = tuple(self._pipeline.classes_)
        # Per message, sklearn spends most of its time validating one-row inputs (about 1.5 ms a call
        # here, twice). The same arithmetic done directly — each vectorizer's own analyzer, its
        # vocabulary and idf weights (sublinear tf, l2 norm, as configured above), one product with the
        # SVM's weights, the calibration's per-class sigmoids normalised as CalibratedClassifierCV
        # does — costs about 0.2 ms; tests/understanding/test_understand.py checks both give the same probabilities.
        calibrated = classifier.calibrated_classifiers_[0]
        weights = calibrated.estimator.coef_.T  # (features, classes)
        self._views = []
        offset = 0
        for _, vectorizer in features.transformer_list:
            size = len(vectorizer.vocabulary_)
            self._views.append((vectorizer.build_analyzer(), vectorizer.vocabulary_, vectorizer.idf_,
                                weights[offset:offset + size]))
            offset += size
        self._intercept = calibrated.estimator.intercept_
        self._a = np.array([c.a_ for c in calibrated.calibrators])
        self._b = np.array([c.b_ for c in calibrated.calibrators])
        self._cached = lru_cache(maxsize=4096)(self._probabilities)  # commands repeat: "完成", "进度"

    def probabilities(self, text: str) -> np.ndarray:
        """P(label) for each of ``labels``."""
        return self._cached(text)

    def library_probabilities(self, text: str) -> np.ndarray:
        """The same through sklearn's own predict_proba (the reference the fast path is tested against)."""
        return self._pipeline.predict_proba([text])[0]

    def _probabilities(self, text: str) -> np.ndarray:
        decision = self._intercept.copy()
        for analyzer, vocabulary, idf, weights in self._views:
            counts = Counter(index for token in analyzer(text) if (index := vocabulary.get(token)) is not None)
            if not counts:
                continue
            index = np.fromiter(counts, dtype=np.intp, count=len(counts))
            values = (1.0 + np.log(np.fromiter(counts.values(), dtype=float, count=len(counts)))) * idf[index]
            values /= np.sqrt(values @ values)
            decision += values @ weights[index]
        probs = expit(-(self._a * decision + self._b))
        total = probs.sum()
        return probs / total if total > 0 else np.full(len(probs), 1.0 / len(probs))

    def rank(self, text: str, top: int = 3) -> list[tuple[str, float]]:
        """The ``top`` labels, most probable first."""
        probs = self.probabilities(text)
        order = np.argsort(-probs)[:top]
        return [(self.labels[i], float(probs[i])) for i in order]
