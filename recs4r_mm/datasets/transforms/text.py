"""Expression clean-up.

No paper part; docs/datasets.md "Pipelines".
"""
import re
from typing import Optional

from mmcv.transforms import BaseTransform

from recs4r_mm.registry import TRANSFORMS


@TRANSFORMS.register_module()
class CleanText(BaseTransform):
    """Normalise ``results['text']``: collapse white space, optionally lower-case, strip
    punctuation and keep at most ``max_words`` words (sub-word truncation to 20 BERT tokens is
    the text encoder's job).

    Raises:
        ValueError: the expression is empty after cleaning (names the image).
    """

    def __init__(self, lower: bool = True, strip_punctuation: bool = False,
                 max_words: Optional[int] = None):
        self.lower = lower
        self.strip_punctuation = strip_punctuation
        self.max_words = max_words

    def transform(self, results: dict) -> dict:
        text = str(results.get('text', ''))
        if self.lower:
            text = text.lower()
        if self.strip_punctuation:
            text = re.sub(r'[^\w\s]', ' ', text)
        words = text.split()
        if self.max_words is not None:
            words = words[:self.max_words]
        if not words:
            raise ValueError(f'empty expression for {results.get("img_path")}')
        results['text'] = ' '.join(words)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(lower={self.lower}, strip_punctuation='
                f'{self.strip_punctuation}, max_words={self.max_words})')
