"""Text to render: real English words (frequency-weighted) mixed with numbers and random strings.

The word list is the 82,765-word English frequency dictionary that ships in the ``symspellpy``
wheel (Google Books n-gram counts intersected with SCOWL). It is read straight from the installed
package's data file; ``symspellpy`` itself is never imported.
"""

from __future__ import annotations

import importlib.util
import string
from functools import lru_cache
from pathlib import Path

import numpy as np

_WORDFILE = "frequency_dictionary_en_82_765.txt"


def word_list_path() -> Path:
    from sgenet.data.extra import require_synth_extra

    require_synth_extra("synthetic text (the English word list)", fonts=False)
    spec = importlib.util.find_spec("symspellpy")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the English word list needs the 'symspellpy' package")
    path = Path(next(iter(spec.submodule_search_locations))) / _WORDFILE
    if not path.is_file():
        raise FileNotFoundError(f"word list not found in the symspellpy package: {path}")
    return path


@lru_cache(maxsize=4)
def load_words(max_words: int = 60000, min_len: int = 1, max_len: int = 16) -> tuple[list[str], np.ndarray]:
    """The ``max_words`` most frequent alphabetic words and their sampling probabilities.

    Probabilities follow frequency**0.35: common words dominate as on real signs, but rare words still
    appear often enough to teach the model unusual letter sequences.
    """
    words, counts = [], []
    with open(word_list_path(), encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) != 2 or not parts[0].isascii() or not parts[0].isalpha():
                continue
            if not min_len <= len(parts[0]) <= max_len:
                continue
            words.append(parts[0])
            counts.append(float(parts[1]))
            if len(words) >= max_words:
                break
    weights = np.asarray(counts) ** 0.35
    return words, weights / weights.sum()


class TextSampler:
    """Draws the label of one synthetic crop from a numpy Generator (deterministic given its state)."""

    def __init__(self, max_words: int = 60000):
        self.words, self.probs = load_words(max_words)
        self._cdf = np.cumsum(self.probs)

    def word(self, rng: np.random.Generator) -> str:
        i = int(np.searchsorted(self._cdf, rng.random() * self._cdf[-1]))
        return self.words[min(i, len(self.words) - 1)]

    def __call__(self, rng: np.random.Generator) -> str:
        kind = rng.random()
        if kind < 0.70:
            text = self._case(self.word(rng), rng)
            r = rng.random()
            if r < 0.04 and len(text) < 10:  # compounds as on signs: "Car-Wash", "Rock&Roll"
                text = text + "-&'"[int(rng.integers(3))] + self._case(self.word(rng), rng)
            elif r < 0.08:
                text = text + "!.,:?"[int(rng.integers(5))]
            elif r < 0.11:
                text = text + "'s"
        elif kind < 0.85:
            text = self._number(rng)
        else:
            text = self._random_string(rng)
        return text[:20]

    @staticmethod
    def _case(word: str, rng: np.random.Generator) -> str:
        r = rng.random()
        if r < 0.40:
            return word.lower()
        if r < 0.70:
            return word.capitalize()
        if r < 0.97:
            return word.upper()
        return "".join(c.upper() if rng.random() < 0.5 else c for c in word)

    @staticmethod
    def _number(rng: np.random.Generator) -> str:
        r = rng.random()
        if r < 0.35:
            return str(int(rng.integers(0, 10 ** int(rng.integers(1, 6)))))
        if r < 0.50:
            return f"{rng.integers(0, 1000)}.{rng.integers(0, 100):02d}"
        if r < 0.62:
            return "$" + f"{rng.integers(1, 500)}.{rng.integers(0, 100):02d}"
        if r < 0.72:
            return str(int(rng.integers(1900, 2031)))
        if r < 0.84:
            return f"{rng.integers(100, 1000)}-{rng.integers(1000, 10000)}"
        if r < 0.92:
            return f"{rng.integers(1, 100)}%"
        return f"{rng.integers(0, 24):02d}:{rng.integers(0, 60):02d}"

    @staticmethod
    def _random_string(rng: np.random.Generator) -> str:
        n = int(rng.integers(1, 11))
        r = rng.random()
        if r < 0.35:
            pool = string.ascii_uppercase + string.digits
        elif r < 0.6:
            pool = string.ascii_lowercase
        elif r < 0.8:
            pool = string.ascii_uppercase
        else:
            pool = string.ascii_letters + string.digits
        return "".join(pool[int(i)] for i in rng.integers(0, len(pool), size=n))
