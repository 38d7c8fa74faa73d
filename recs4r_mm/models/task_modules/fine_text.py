"""Fine-stage text T_f: a template filled from the coarse box, followed by the expression.

RECS4R (CVPR 2026), Overall Architecture (fine stage: "The large {category} in the middle {position}
of the image"); docs/design.md §3; class names: the datasets' ``METAINFO['category_names']``.
"""
import re
from typing import Optional, Sequence, Tuple

from recs4r_mm.registry import TASK_UTILS

#: Datasets whose ``METAINFO['category_names']`` make the default vocabulary: DIOR (RefDIOR,
#: DIOR-RSVG, RRSIS-D), RefSegRS and COCO (the RefCOCO family). The synthetic set's categories
#: are not in it (adding names changes the category word of some expressions).
DEFAULT_VOCABULARY_DATASETS = ('RefDIORDataset', 'RefSegRSDataset', 'ReferDataset')

# Names that lived here before the lists moved into the datasets' METAINFO.
_MOVED = {
    'DIOR_CLASSES': "recs4r_mm.datasets.RefDIORDataset.METAINFO['category_names']",
    'REFSEGRS_CLASSES': "recs4r_mm.datasets.RefSegRSDataset.METAINFO['category_names']",
    'COCO_CLASSES': "recs4r_mm.datasets.ReferDataset.METAINFO['category_names']",
    'DEFAULT_CLASS_NAMES': 'default_class_names()',
}


def __getattr__(name: str):
    if name in _MOVED:
        raise AttributeError(f'{__name__}.{name} moved: use {_MOVED[name]}')
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


def default_class_names() -> Tuple[str, ...]:
    """The union of the category names of :data:`DEFAULT_VOCABULARY_DATASETS` (first seen
    first), read from their ``METAINFO['category_names']``."""
    import recs4r_mm.datasets as datasets  # lazy: models do not import datasets at load time
    names = []
    for ds in DEFAULT_VOCABULARY_DATASETS:
        names += getattr(datasets, ds).METAINFO['category_names']
    return tuple(dict.fromkeys(names))


# Words that end the head noun phrase, and modifiers skipped when looking for the head noun.
_PHRASE_BREAK = {
    'in', 'on', 'at', 'of', 'with', 'near', 'next', 'beside', 'behind', 'above', 'below',
    'under', 'over', 'between', 'to', 'from', 'by', 'that', 'which', 'who', 'where', 'is',
    'are', 'located', 'parked', 'lying', 'standing', 'and', 'closest', 'nearest', 'along',
    'across', 'around', 'inside', 'outside', 'left', 'right', 'top', 'bottom', 'middle',
    'center', 'centre', 'upper', 'lower', ','
}
_MODIFIERS = {
    'the', 'a', 'an', 'this', 'that', 'these', 'those', 'one', 'two', 'large', 'small', 'big',
    'tiny', 'huge', 'little', 'medium', 'long', 'short', 'tall', 'white', 'black', 'gray',
    'grey', 'red', 'blue', 'green', 'yellow', 'brown', 'dark', 'light', 'first', 'second',
    'third', 'last', 'leftmost', 'rightmost', 'topmost', 'bottommost'
}


@TASK_UTILS.register_module()
class FineTextTemplate:
    """Build T_f = template(size, category, position) + ' ' + expression.

    - size: from the coarse box's area relative to the image (``size_thresholds``);
    - position: 3 x 3 cell of the coarse box's centre;
    - category: the longest class name found in the expression (whole words, plural 's'
      accepted), else the expression's head noun (last word of the first noun phrase), else
      ``fallback``.

    Args:
        template (str): Uses ``{size}``, ``{category}``, ``{position}``.
        class_names (Sequence[str], optional): Names matched in the expression. Defaults to
            :func:`default_class_names` (DIOR, RefSegRS and COCO categories, from the
            datasets' ``METAINFO``); a config sets ``refine.text_template.class_names``.
        size_thresholds (Sequence[float]): Upper bounds of relative area for the words in
            ``size_words`` (one more word than thresholds).
        size_words (Sequence[str]): Size words.
        append_expression (bool): Append the original expression after the template.
        fallback (str): Category when nothing is found.
    """

    POSITIONS = (('upper left', 'top', 'upper right'), ('left', 'middle', 'right'),
                 ('lower left', 'bottom', 'lower right'))

    def __init__(self,
                 template: str = 'the {size} {category} in the {position} of the image',
                 class_names: Optional[Sequence[str]] = None,
                 size_thresholds: Sequence[float] = (0.005, 0.03, 0.15),
                 size_words: Sequence[str] = ('tiny', 'small', 'medium', 'large'),
                 append_expression: bool = True,
                 fallback: str = 'object') -> None:
        if len(size_words) != len(size_thresholds) + 1:
            raise ValueError('FineTextTemplate: need one more size word than thresholds')
        self.template = template
        names = default_class_names() if class_names is None else tuple(class_names)
        # longest first, ties by name: the same category word in every process (sorting the set
        # by length alone left ties to the string hash seed, e.g. 'ship' vs 'boat')
        self.class_names = sorted({n.lower().strip() for n in names}, key=lambda n: (-len(n), n))
        self.size_thresholds = tuple(size_thresholds)
        self.size_words = tuple(size_words)
        self.append_expression = append_expression
        self.fallback = fallback

    def size_word(self, rel_area: float) -> str:
        for thr, word in zip(self.size_thresholds, self.size_words):
            if rel_area < thr:
                return word
        return self.size_words[-1]

    def position_word(self, cx: float, cy: float) -> str:
        col = min(int(max(cx, 0.0) * 3), 2)
        row = min(int(max(cy, 0.0) * 3), 2)
        return self.POSITIONS[row][col]

    def category(self, expression: str) -> str:
        text = ' ' + re.sub(r'[^a-z0-9 ]+', ' ', expression.lower()) + ' '
        text = re.sub(r'\s+', ' ', text)
        for name in self.class_names:
            if re.search(rf' {re.escape(name)}(s|es)? ', text):
                return name
        words = re.findall(r"[a-z]+|,", expression.lower())
        phrase = []
        for w in words:
            if w in _PHRASE_BREAK and phrase:
                break
            if w in _PHRASE_BREAK:
                continue
            phrase.append(w)
        nouns = [w for w in phrase if w not in _MODIFIERS]
        return nouns[-1] if nouns else self.fallback

    def fill(self, expression: str, box_norm: Tuple[float, float, float, float]) -> str:
        """The template alone, filled for one sample; ``box_norm`` = coarse box, xyxy
        normalised to [0, 1]."""
        x1, y1, x2, y2 = [float(v) for v in box_norm]
        area = max(x2 - x1, 0.0) * max(y2 - y1, 0.0)
        return self.template.format(size=self.size_word(area),
                                    category=self.category(expression),
                                    position=self.position_word((x1 + x2) / 2, (y1 + y2) / 2))

    def __call__(self, expression: str, box_norm: Tuple[float, float, float, float]) -> str:
        """Fine text for one sample: the filled template, then the expression."""
        # T_f = template(size, category, position) + expression (Overall Architecture)
        text = self.fill(expression, box_norm)
        return f'{text} {expression}' if self.append_expression else text
