"""Multi-target and no-target expressions of a scene (the generalized referring set).

A set description names a category, optionally a colour, a shape (buildings) and an
absolute position (``expressions.position_ok``'s regions). The objects it fits are those
of its category with those attributes, in that region. Thresholds follow the single-target
rule (strict for targets, loose for everything else):

* **multi-target**: >= 2 objects fit it strictly, and no other object fits it even loosely
  (so the group is exactly the set the words describe): "all the red vehicles", "the two
  bridges", "both storage tanks on the left", "every ship";
* **no-target**: no object fits it even loosely: a category absent from the scene, a present
  category with a colour/shape none of its objects has, or a region none of them is in. It
  is rendered with the single-target frames, so the wording does not give the answer away.

Loosely, a description of vehicles (storage tanks) also fits convoys (tank pairs), whose
parts carry the same noun (``lexicon.CONTAINED_IN``). Objects are duck-typed as in
``SceneDescriber``: ``category``, ``color``, ``attrs``, ``bbox``.

No paper part; docs/synthetic_data.md, section "Generalized set (no-target and multi-target)".
"""
import itertools
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Sequence, Set, Tuple

import numpy as np

from .colors import COLOR_NAMES
from .expressions import MAX_TOKENS, basic_tokens, position_ok
from .lexicon import (CONTAINED_IN, COUNT_WORDS, FRAMES, GROUP_FRAMES, GROUP_LOC_FRAMES,
                      GROUP_LOC_FRAMES_SINGULAR, GROUP_NOUNS, NOUNS, PLAIN_FRAME, POSITIONS,
                      SHAPE_WORDS)
from .shapes import CATEGORIES

NO_TARGET_KINDS = ('category', 'attribute', 'position')
SHAPED = ('building',)  # categories with a shape attribute (l-/t-/u-shaped)


@dataclass(frozen=True)
class SetDesc:
    """A description of a set of objects: category + optional colour, shape, position."""
    category: str
    color: Optional[str] = None
    shape: Optional[str] = None
    position: Optional[str] = None

    @property
    def structure(self) -> Tuple[bool, bool, bool]:
        return (self.color is not None, self.shape is not None, self.position is not None)

    def as_dict(self) -> Dict[str, Optional[str]]:
        return asdict(self)


@dataclass
class GroupRef:
    """A generated multi-target or no-target referring expression set."""
    desc: SetDesc
    targets: Tuple[int, ...]  # object indices; empty for no-target
    sentences: List[str]
    kind: str  # 'multi', or the no-target kind: 'category' / 'attribute' / 'position'


def fits(desc: SetDesc, obj, fx: float, fy: float, strict: bool) -> bool:
    """Whether ``obj`` (centre at fractions ``fx``, ``fy``) fits ``desc``."""
    cats = (desc.category,) + (() if strict else CONTAINED_IN.get(desc.category, ()))
    if obj.category not in cats:
        return False
    if desc.color is not None and obj.color != desc.color:
        return False
    if desc.shape is not None and obj.attrs.get('shape') != desc.shape:
        return False
    return desc.position is None or position_ok(desc.position, fx, fy, strict)


class GroupDescriber:
    """Finds and renders the multi-target and no-target descriptions of one scene."""

    def __init__(self, objects: Sequence, image_size: int, rng):
        self.objs = list(objects)
        self.rng = rng
        boxes = np.array([o.bbox for o in self.objs], np.float64).reshape(-1, 4)
        self.fx = (boxes[:, 0] + boxes[:, 2]) / 2 / image_size
        self.fy = (boxes[:, 1] + boxes[:, 3]) / 2 / image_size

    # --- matching -------------------------------------------------------------
    def matches(self, desc: SetDesc, strict: bool) -> List[int]:
        """Indices of the objects that fit ``desc`` (strictly or loosely)."""
        return [i for i, o in enumerate(self.objs)
                if fits(desc, o, self.fx[i], self.fy[i], strict)]

    def exact_targets(self, desc: SetDesc) -> Optional[List[int]]:
        """The objects ``desc`` refers to, or None when a borderline object makes it
        ambiguous (fits loosely but not strictly)."""
        strict = self.matches(desc, True)
        return strict if self.matches(desc, False) == strict else None

    # --- candidates -------------------------------------------------------------
    def _descs(self, category: str, colors, shapes, positions, max_mods: int):
        for c, s, p in itertools.product(colors, shapes, positions):
            d = SetDesc(category, c, s, p)
            if sum(d.structure) <= max_mods:
                yield d

    def multi_candidates(self) -> List[SetDesc]:
        """Descriptions that fit exactly >= 2 objects."""
        out = []
        cats = sorted({o.category for o in self.objs})
        for cat in cats:
            members = [o for o in self.objs if o.category == cat]
            if len(members) < 2:
                continue
            colors = [None] + sorted({o.color for o in members})
            shapes = [None] + (sorted({o.attrs.get('shape') for o in members} - {None})
                               if cat in SHAPED else [])
            for d in self._descs(cat, colors, shapes, [None] + list(POSITIONS), 2):
                targets = self.exact_targets(d)
                if targets is not None and len(targets) >= 2:
                    out.append(d)
        return out

    def no_target_candidates(self) -> List[Tuple[str, SetDesc]]:
        """``(kind, description)`` pairs that fit no object even loosely."""
        out = []
        for cat in CATEGORIES:
            shapes = [None] + (list(SHAPE_WORDS) if cat in SHAPED else [])
            base_fits = bool(self.matches(SetDesc(cat), False))
            for d in self._descs(cat, [None] + list(COLOR_NAMES), shapes,
                                 [None] + list(POSITIONS), 2):
                if self.matches(d, False):
                    continue
                if not base_fits:
                    kind = 'category'
                elif not self.matches(SetDesc(cat, d.color, d.shape), False):
                    kind = 'attribute'
                else:
                    kind = 'position'
                out.append((kind, d))
        return out

    # --- rendering ---------------------------------------------------------------
    def _choice(self, seq):
        return seq[int(self.rng.integers(len(seq)))]

    @staticmethod
    def _adj(desc: SetDesc) -> str:
        words = [w for w in (desc.shape, desc.color) if w is not None]
        return ' '.join(words) + ' ' if words else ''

    def render_group(self, desc: SetDesc, n: int) -> str:
        """A phrase for the ``n`` objects of ``desc`` ("all the red cars", "both bridges")."""
        kinds = ['all', 'every']
        # "the two storage tanks" is how a single tank pair is called
        if n in COUNT_WORDS and not (desc.category == 'storage_tank' and n == 2):
            kinds.append('count')
        if n in COUNT_WORDS and n > 2:
            kinds.append('all_count')
        if n == 2:
            kinds.append('both')
        kind = self._choice(kinds)
        singular, plural = GROUP_NOUNS[desc.category]
        adj = self._adj(desc)
        g = self._choice(GROUP_FRAMES[kind]).format(
            pl=self._choice(plural).format(adj=adj), sg=self._choice(singular).format(adj=adj),
            n=COUNT_WORDS.get(n, ''))
        if desc.position is None:
            return g
        frames = GROUP_LOC_FRAMES_SINGULAR if kind == 'every' else GROUP_LOC_FRAMES
        return self._choice(frames).format(g=g, loc=self._choice(POSITIONS[desc.position]))

    def render_single(self, desc: SetDesc) -> str:
        """A single-target-style phrase for ``desc`` ("the green vehicle on the left")."""
        np_ = self._choice(NOUNS[desc.category]).format(
            adj=self._adj(desc), count=self._choice((COUNT_WORDS[3], COUNT_WORDS[4])))
        if desc.position is None:
            return PLAIN_FRAME.format(np=np_)
        return self._choice(FRAMES).format(np=np_, loc=self._choice(POSITIONS[desc.position]))

    def _texts(self, render, n_sentences: Tuple[int, int], used: Set[str]) -> List[str]:
        want = int(self.rng.integers(n_sentences[0], n_sentences[1] + 1))
        texts: List[str] = []
        for _ in range(20):
            if len(texts) >= want:
                break
            s = render()
            if s not in used and s not in texts and len(basic_tokens(s)) <= MAX_TOKENS:
                texts.append(s)
        return texts

    # --- sampling --------------------------------------------------------------------
    def _draw(self, pools: Dict[tuple, List]):
        """Pop a candidate: a group key uniformly, then one of its candidates uniformly."""
        keys = sorted(k for k, v in pools.items() if v)
        if not keys:
            return None
        pool = pools[self._choice(keys)]
        return pool.pop(int(self.rng.integers(len(pool))))

    def multi_target(self, n_refs: int, n_sentences: Tuple[int, int],
                     used: Set[str]) -> List[GroupRef]:
        """Up to ``n_refs`` multi-target refs with distinct descriptions and texts not in
        ``used`` (updated). Descriptions are drawn by structure first (colour / shape /
        position present or not), so bare categories are not swamped by positional ones."""
        pools: Dict[tuple, List[SetDesc]] = {}
        for d in self.multi_candidates():
            pools.setdefault(d.structure, []).append(d)
        out: List[GroupRef] = []
        while len(out) < n_refs:
            d = self._draw(pools)
            if d is None:
                break
            targets = tuple(self.exact_targets(d))
            texts = self._texts(lambda: self.render_group(d, len(targets)), n_sentences, used)
            if texts:
                used.update(texts)
                out.append(GroupRef(d, targets, texts, 'multi'))
        return out

    def no_target(self, n_refs: int, n_sentences: Tuple[int, int],
                  used: Set[str]) -> List[GroupRef]:
        """Up to ``n_refs`` no-target refs (texts not in ``used``, which is updated), drawn by
        kind (absent category / absent attribute / empty region), then structure."""
        pools: Dict[tuple, List[SetDesc]] = {}
        for kind, d in self.no_target_candidates():
            pools.setdefault((kind, d.structure), []).append(d)
        out: List[GroupRef] = []
        while len(out) < n_refs:
            kinds = sorted({k[0] for k, v in pools.items() if v})
            if not kinds:
                break
            kind = self._choice(kinds)
            d = self._draw({k: v for k, v in pools.items() if k[0] == kind})
            texts = self._texts(lambda: self.render_single(d), n_sentences, used)
            if texts:
                used.update(texts)
                out.append(GroupRef(d, (), texts, kind))
        return out
