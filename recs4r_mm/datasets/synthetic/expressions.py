"""Unique referring expressions from object attributes.

A description is a set of constraints on the target: its category (always,
as the head noun), optional adjectives (size among its kind, shape, colour)
and at most one locator (absolute position, extreme among its kind, or a
relation to an anchor object that has its own unique description). A
description is kept only if the target satisfies it *strictly* and no other
object satisfies it even *loosely* (relaxed thresholds), so an expression
never fits a borderline distractor.

Objects are duck-typed: ``category``, ``color``, ``attrs`` (dict; ``shape``,
``count``), ``area``, ``bbox`` (x1, y1, x2, y2 ints, x2 exclusive) and
``boundary`` ((N, 2) float xy of boundary pixel centres, image coordinates).

No paper part; docs/synthetic_data.md, section "Expressions".
"""
import itertools
import re
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .lexicon import (COUNT_WORDS, EXTREMES, FRAMES, NOUNS, PLAIN_FRAME, POSITIONS, RELATIONS,
                      SIZE_WORDS)
from .shapes import CATEGORIES

MAX_TOKENS = 18  # BERT basic tokens; the RefDIOR protocol truncates at 20 with [CLS]/[SEP]
SIZE_RATIO = 1.4  # "large": >= 1.4x the area of every other object of its kind
EXTREME_MARGIN = 0.08  # "leftmost": >= 8% of the width left of the next one
NEAR = 0.15  # "next to": gap <= 15% of the image size
DIRECTION_SLOPE = 0.75  # "left of": within ~37 deg of the horizontal (loose: ~56 deg)
_TOKEN_RE = re.compile(r'[a-z0-9]+|[^\sa-z0-9]')


def basic_tokens(text: str) -> List[str]:
    """Lower-cased words and single punctuation marks (BERT's basic split)."""
    return _TOKEN_RE.findall(text.lower())


@dataclass(frozen=True)
class Desc:
    adjs: Tuple[str, ...]  # ordered subset of ('size', 'shape', 'color')
    loc: Optional[tuple] = None  # ('pos', label) | ('extreme', label) | ('rel', kind, anchor)

    @property
    def complexity(self) -> int:
        return len(self.adjs) + (0 if self.loc is None else 1)


def position_ok(label: str, fx: float, fy: float, strict: bool) -> bool:
    """Whether a centre at (``fx``, ``fy``) (fractions of the image) is in region ``label``
    (``'left'``, ``'top_right'``, ``'center'``, ...), with the strict or loose thresholds."""
    a = 0.38 if strict else 0.5
    c = 0.14 if strict else 0.3
    tests = {
        'left': lambda: fx < a, 'right': lambda: fx > 1 - a,
        'top': lambda: fy < a, 'bottom': lambda: fy > 1 - a,
        'center': lambda: abs(fx - 0.5) < c and abs(fy - 0.5) < c,
    }
    return all(tests[p]() for p in label.split('_'))


class SceneDescriber:
    """Finds unique descriptions of the objects of one scene and renders them."""

    def __init__(self, objects: Sequence, image_size: int, rng):
        self.objs = list(objects)
        self.size = image_size
        self.rng = rng
        n = len(self.objs)
        boxes = np.array([o.bbox for o in self.objs], np.float64).reshape(n, 4)
        self.boxes = boxes
        self.cx = (boxes[:, 0] + boxes[:, 2]) / 2
        self.cy = (boxes[:, 1] + boxes[:, 3]) / 2
        self.fx, self.fy = self.cx / image_size, self.cy / image_size
        self.area = np.array([o.area for o in self.objs], np.float64)
        self.kind = {}
        for i, o in enumerate(self.objs):
            self.kind.setdefault(o.category, []).append(i)
        self.gap = np.zeros((n, n))
        bounds = [o.boundary for o in self.objs]
        for i, j in itertools.combinations(range(n), 2):
            bi, bj = bounds[i], bounds[j]
            d2 = ((bi[:, None, :] - bj[None, :, :]) ** 2).sum(-1).min()
            self.gap[i, j] = self.gap[j, i] = np.sqrt(d2)  # between pixel centres
        self.size_label = [self._size_label(i) for i in range(n)]
        self._simple = [None] * n  # anchor descriptions, filled lazily

    # --- predicates -------------------------------------------------------
    def _others(self, i: int) -> List[int]:
        return [j for j in self.kind[self.objs[i].category] if j != i]

    def _size_ok(self, label: Optional[str], i: int, strict: bool) -> bool:
        others = self.area[self._others(i)]
        if label is None or others.size == 0:
            return False
        a = self.area[i]
        if label == 'large':
            return a >= SIZE_RATIO * others.max() if strict else a * SIZE_RATIO > others.max()
        return a * SIZE_RATIO <= others.min() if strict else a < SIZE_RATIO * others.min()

    def _size_label(self, i: int) -> Optional[str]:
        if not CATEGORIES[self.objs[i].category].sizeable:
            return None
        for label in ('large', 'small'):
            if self._size_ok(label, i, True):
                return label
        return None

    def _extreme_ok(self, label: str, i: int, strict: bool) -> bool:
        others = self._others(i)
        if not others:
            return False
        v = {'leftmost': self.fx, 'rightmost': -self.fx,
             'topmost': self.fy, 'bottommost': -self.fy}[label]
        best_other = v[others].min()
        return v[i] + EXTREME_MARGIN <= best_other if strict else v[i] < best_other + EXTREME_MARGIN

    def _rel_ok(self, kind: str, i: int, a: int, t: int, strict: bool) -> bool:
        if i == a:
            return False
        if kind == 'next_to':
            if strict:
                return self.gap[i, a] <= NEAR * self.size
            g = self.gap[t, a]
            return self.gap[i, a] <= max(1.8 * g, g + 0.06 * self.size)
        dx, dy = self.cx[a] - self.cx[i], self.cy[a] - self.cy[i]
        bi, ba = self.boxes[i], self.boxes[a]
        if kind in ('left_of', 'right_of'):
            sgn = 1 if kind == 'left_of' else -1
            if strict:
                clear = bi[2] <= ba[0] if sgn > 0 else bi[0] >= ba[2]
                return clear and abs(dy) <= DIRECTION_SLOPE * abs(dx)
            return sgn * dx > 0 and abs(dy) <= 1.5 * sgn * dx
        sgn = 1 if kind == 'above' else -1
        if strict:
            clear = bi[3] <= ba[1] if sgn > 0 else bi[1] >= ba[3]
            return clear and abs(dx) <= DIRECTION_SLOPE * abs(dy)
        return sgn * dy > 0 and abs(dx) <= 1.5 * sgn * dy

    def _matches(self, d: Desc, i: int, t: int, strict: bool) -> bool:
        o, tt = self.objs[i], self.objs[t]
        if o.category != tt.category:
            return False
        for adj in d.adjs:
            if adj == 'color' and o.color != tt.color:
                return False
            if adj == 'shape' and o.attrs.get('shape') != tt.attrs.get('shape'):
                return False
            if adj == 'size' and not self._size_ok(self.size_label[t], i, strict):
                return False
        if d.loc is None:
            return True
        if d.loc[0] == 'pos':
            return position_ok(d.loc[1], self.fx[i], self.fy[i], strict)
        if d.loc[0] == 'extreme':
            return self._extreme_ok(d.loc[1], i, strict)
        return self._rel_ok(d.loc[1], i, d.loc[2], t, strict)

    def unique(self, d: Desc, t: int) -> bool:
        """True when ``d`` fits target ``t`` and no other object of the scene."""
        if not self._matches(d, t, t, True):
            return False
        return not any(self._matches(d, i, t, False)
                       for i in range(len(self.objs)) if i != t)

    # --- candidate descriptions ---------------------------------------------
    def _adj_sets(self, t: int, max_len: int) -> List[Tuple[str, ...]]:
        avail = [a for a, ok in (('size', self.size_label[t] is not None),
                                 ('shape', 'shape' in self.objs[t].attrs),
                                 ('color', True)) if ok]
        return [c for r in range(min(max_len, len(avail)) + 1)
                for c in itertools.combinations(avail, r)]

    def _nonrel(self, t: int) -> List[Desc]:
        cands = [Desc(a) for a in self._adj_sets(t, 3)]
        for label in POSITIONS:
            if position_ok(label, self.fx[t], self.fy[t], True):
                cands += [Desc(a, ('pos', label)) for a in self._adj_sets(t, 2)]
        for label in EXTREMES:
            cands.append(Desc((), ('extreme', label)))
        return [d for d in cands if self.unique(d, t)]

    def simple(self, a: int) -> List[Desc]:
        """Unique non-relational descriptions of ``a`` usable as an anchor."""
        if self._simple[a] is None:
            ds = [d for d in self._nonrel(a) if d.complexity <= 2]
            lo = min((d.complexity for d in ds), default=0)
            self._simple[a] = [d for d in ds if d.complexity == lo]
        return self._simple[a]

    def candidates(self, t: int) -> List[Desc]:
        """All unique descriptions of object ``t``."""
        cands = self._nonrel(t)
        for a in range(len(self.objs)):
            if a == t or not self.simple(a):
                continue
            for kind in RELATIONS:
                if self._rel_ok(kind, t, a, t, True):
                    cands += [d for d in (Desc(s, ('rel', kind, a))
                                          for s in self._adj_sets(t, 1))
                              if self.unique(d, t)]
        return cands

    # --- rendering ----------------------------------------------------------
    def _choice(self, seq):
        return seq[int(self.rng.integers(len(seq)))]

    def _noun_phrase(self, d: Desc, t: int) -> str:
        o = self.objs[t]
        words = []
        for adj in d.adjs:
            if adj == 'size':
                attributive, pair, many = SIZE_WORDS[self.size_label[t]]
                n_kind = len(self.kind[o.category])
                words.append(self._choice(attributive + (pair if n_kind == 2 else many)))
            elif adj == 'shape':
                words.append(o.attrs['shape'])
            else:
                words.append(o.color)
        adj = ' '.join(words) + ' ' if words else ''
        tpl = self._choice(NOUNS[o.category])
        return tpl.format(adj=adj, count=COUNT_WORDS.get(o.attrs.get('count'), ''))

    def render(self, d: Desc, t: int) -> str:
        np_ = self._noun_phrase(d, t)
        if d.loc is None:
            return PLAIN_FRAME.format(np=np_)
        if d.loc[0] == 'extreme':
            return self._choice(EXTREMES[d.loc[1]]).format(np=np_)
        if d.loc[0] == 'pos':
            loc = self._choice(POSITIONS[d.loc[1]])
        else:
            anchor = d.loc[2]
            loc = self._choice(RELATIONS[d.loc[1]]).format(
                a=self.render(self._choice(self.simple(anchor)), anchor))
        return self._choice(FRAMES).format(np=np_, loc=loc)

    def describe(self, t: int, n_min: int, n_max: int) -> Optional[List[str]]:
        """``n_min``..``n_max`` distinct unique expressions for ``t`` (or None)."""
        cands = self.candidates(t)
        if not cands:
            return None
        want = int(self.rng.integers(n_min, n_max + 1))
        order = [cands[i] for i in self.rng.permutation(len(cands))]
        texts, sigs = [], set()

        def add(d):
            s = self.render(d, t)
            if s not in texts and len(basic_tokens(s)) <= MAX_TOKENS:
                texts.append(s)
                sigs.add((d.adjs, None if d.loc is None else d.loc[0]))

        for diverse in (True, False):  # prefer different attribute/locator kinds
            for d in order:
                if len(texts) >= want:
                    break
                if not diverse or (d.adjs, None if d.loc is None else d.loc[0]) not in sigs:
                    add(d)
        for _ in range(20):  # re-phrase (synonyms, frames) if still short
            if len(texts) >= want:
                break
            add(self._choice(order))
        return texts if len(texts) >= n_min else None


def describe_scene(objects: Sequence, image_size: int, rng,
                   n_sentences: Tuple[int, int] = (2, 3)) -> List[Optional[List[str]]]:
    """Expressions for every object (None where fewer than ``n_sentences[0]``
    unique ones exist). Texts are unique across the scene."""
    desc = SceneDescriber(objects, image_size, rng)
    out = [desc.describe(t, *n_sentences) for t in range(len(objects))]
    seen = {}
    for t, texts in enumerate(out):
        for s in texts or ():
            seen.setdefault(s, set()).add(t)
    dup = {s for s, owners in seen.items() if len(owners) > 1}
    if dup:  # cannot happen for consistent predicates; guard anyway
        for t, texts in enumerate(out):
            if texts:
                kept = [s for s in texts if s not in dup]
                out[t] = kept if len(kept) >= n_sentences[0] else None
    return out
