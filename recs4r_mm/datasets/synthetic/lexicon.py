"""Every surface string the expression generator can emit.

Keeping them in one table lets ``vocab.py`` build a WordPiece vocabulary that
covers all expressions of any seed (a model trained on one synthetic dataset
tokenises another without [UNK]).

No paper part; docs/synthetic_data.md, section "Expressions".
"""
from typing import Dict, List, Tuple

from .colors import COLOR_NAMES

#: category -> noun-phrase templates; ``{adj}`` is the adjective slot (with a
#: trailing space when not empty), ``{count}`` the number of parts in words.
NOUNS: Dict[str, Tuple[str, ...]] = {
    'vehicle': ('{adj}vehicle', '{adj}car'),
    'ship': ('{adj}ship', '{adj}boat'),
    'bridge': ('{adj}bridge', '{adj}overpass'),
    'building': ('{adj}building', '{adj}house'),
    'airplane': ('{adj}airplane', '{adj}plane', '{adj}aircraft'),
    'storage_tank': ('{adj}storage tank', '{adj}oil tank', '{adj}tank'),
    'track_field': ('{adj}ground track field', '{adj}running track', '{adj}stadium'),
    'tank_pair': ('pair of {adj}storage tanks', 'two {adj}storage tanks',
                  '{adj}twin tanks'),
    'convoy': ('convoy of {adj}vehicles', 'line of {count} {adj}cars',
               '{adj}vehicle convoy'),
    'tennis_court': ('{adj}tennis court', '{adj}court'),
    'baseball_field': ('{adj}baseball field', '{adj}baseball diamond'),
}

COUNT_WORDS = {2: 'two', 3: 'three', 4: 'four', 5: 'five'}

#: size label -> (attributive words, words when 2 of a kind, when >= 3)
SIZE_WORDS = {
    'large': (('large', 'big'), ('larger', 'bigger'), ('largest', 'biggest')),
    'small': (('small', 'little'), ('smaller',), ('smallest',)),
}

SHAPE_WORDS = ('l-shaped', 't-shaped', 'u-shaped')

#: absolute position label -> phrases (image regions around the centre)
POSITIONS: Dict[str, Tuple[str, ...]] = {
    'left': ('on the left', 'on the left side', 'at the left of the image'),
    'right': ('on the right', 'on the right side', 'at the right of the image'),
    'top': ('at the top', 'near the top', 'in the upper part of the image'),
    'bottom': ('at the bottom', 'near the bottom', 'in the lower part of the image'),
    'center': ('in the center', 'in the middle', 'in the center of the image'),
    'top_left': ('in the top left corner', 'at the upper left', 'in the upper left part'),
    'top_right': ('in the top right corner', 'at the upper right', 'in the upper right part'),
    'bottom_left': ('in the bottom left corner', 'at the lower left',
                    'in the lower left part'),
    'bottom_right': ('in the bottom right corner', 'at the lower right',
                     'in the lower right part'),
}

#: extreme among objects of the same kind -> templates around the noun phrase
EXTREMES: Dict[str, Tuple[str, ...]] = {
    'leftmost': ('the leftmost {np}', 'the {np} farthest to the left'),
    'rightmost': ('the rightmost {np}', 'the {np} farthest to the right'),
    'topmost': ('the uppermost {np}', 'the {np} nearest the top'),
    'bottommost': ('the lowest {np}', 'the {np} nearest the bottom'),
}

#: relation to an anchor object -> phrases; ``{a}`` is the anchor's phrase
RELATIONS: Dict[str, Tuple[str, ...]] = {
    'next_to': ('next to {a}', 'near {a}', 'beside {a}', 'close to {a}'),
    'left_of': ('left of {a}', 'to the left of {a}', 'on the left of {a}'),
    'right_of': ('right of {a}', 'to the right of {a}', 'on the right of {a}'),
    'above': ('above {a}', 'north of {a}'),
    'below': ('below {a}', 'south of {a}'),
}

#: sentence frames when a location/relation phrase follows the noun phrase
FRAMES = ('the {np} {loc}', 'the {np} {loc}', 'the {np} located {loc}',
          'the {np} that is {loc}')
PLAIN_FRAME = 'the {np}'


def all_phrases() -> List[str]:
    """Every fixed string that can appear in an expression."""
    out: List[str] = list(COLOR_NAMES) + list(SHAPE_WORDS) + list(COUNT_WORDS.values())
    for tpls in NOUNS.values():
        out += [t.replace('{adj}', '').replace('{count}', '') for t in tpls]
    for groups in SIZE_WORDS.values():
        for g in groups:
            out += list(g)
    for table in (POSITIONS, EXTREMES, RELATIONS):
        for tpls in table.values():
            out += [t.replace('{np}', '').replace('{a}', '') for t in tpls]
    out += [f.replace('{np}', '').replace('{loc}', '') for f in FRAMES + (PLAIN_FRAME,)]
    return out


# --- generalized set (group_expressions.py); not part of ``all_phrases()`` ---------------

#: category -> (singular, plural) noun-phrase templates naming a group; ``{adj}`` as above
GROUP_NOUNS: Dict[str, Tuple[Tuple[str, ...], Tuple[str, ...]]] = {
    'vehicle': (('{adj}vehicle', '{adj}car'), ('{adj}vehicles', '{adj}cars')),
    'ship': (('{adj}ship', '{adj}boat'), ('{adj}ships', '{adj}boats')),
    'bridge': (('{adj}bridge', '{adj}overpass'), ('{adj}bridges', '{adj}overpasses')),
    'building': (('{adj}building', '{adj}house'), ('{adj}buildings', '{adj}houses')),
    'airplane': (('{adj}airplane', '{adj}plane', '{adj}aircraft'),
                 ('{adj}airplanes', '{adj}planes', '{adj}aircraft')),
    'storage_tank': (('{adj}storage tank', '{adj}oil tank', '{adj}tank'),
                     ('{adj}storage tanks', '{adj}oil tanks', '{adj}tanks')),
    'track_field': (('{adj}ground track field', '{adj}running track', '{adj}stadium'),
                    ('{adj}ground track fields', '{adj}running tracks', '{adj}stadiums')),
    'tank_pair': (('pair of {adj}storage tanks', '{adj}tank pair'),
                  ('pairs of {adj}storage tanks', '{adj}tank pairs')),
    'convoy': (('convoy of {adj}vehicles', '{adj}vehicle convoy'),
               ('convoys of {adj}vehicles', '{adj}vehicle convoys')),
    'tennis_court': (('{adj}tennis court', '{adj}court'), ('{adj}tennis courts', '{adj}courts')),
    'baseball_field': (('{adj}baseball field', '{adj}baseball diamond'),
                       ('{adj}baseball fields', '{adj}baseball diamonds')),
}

#: group frames by kind; ``{pl}``/``{sg}`` plural/singular noun phrase, ``{n}`` the count word.
#: 'count' needs a count word (2..5 members), 'all_count' 3..5 members, 'both' exactly 2
GROUP_FRAMES: Dict[str, Tuple[str, ...]] = {
    'all': ('all the {pl}', 'all {pl}'),
    'every': ('every {sg}',),
    'count': ('the {n} {pl}',),
    'all_count': ('all {n} {pl}', 'all the {n} {pl}'),
    'both': ('both {pl}', 'both the {pl}', 'both of the {pl}'),
}

#: a group phrase ``{g}`` followed by a position phrase ``{loc}`` (plural, and for 'every')
GROUP_LOC_FRAMES = ('{g} {loc}', '{g} {loc}', '{g} located {loc}', '{g} that are {loc}')
GROUP_LOC_FRAMES_SINGULAR = ('{g} {loc}', '{g} {loc}', '{g} located {loc}', '{g} that is {loc}')

#: categories whose objects are made of things another category's noun names ("all the
#: vehicles" would include a convoy's): groups and no-target phrases of the key category
#: must not fit any object of these either
CONTAINED_IN: Dict[str, Tuple[str, ...]] = {
    'vehicle': ('convoy',),
    'storage_tank': ('tank_pair',),
}


def group_phrases() -> List[str]:
    """Fixed strings of the generalized set's group expressions (no-target expressions use
    the classic ones)."""
    out: List[str] = []
    for forms in GROUP_NOUNS.values():
        for tpls in forms:
            out += [t.replace('{adj}', '') for t in tpls]
    for tpls in GROUP_FRAMES.values():
        out += [t.replace('{pl}', '').replace('{sg}', '').replace('{n}', '') for t in tpls]
    for f in GROUP_LOC_FRAMES + GROUP_LOC_FRAMES_SINGULAR:
        out.append(f.replace('{g}', '').replace('{loc}', ''))
    return out
