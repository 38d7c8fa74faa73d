"""Token classes of the contour sequence (docs/design.md §6).

A sequence for one target is ``tokens: int64 (T,)`` + ``coords: float32 (T, 2)`` with layout
``START, part-1 vertices, [HOLE, hole vertices]*, SEP, part-2 vertices, ..., END``; a
generalized sequence (several targets, or none) separates objects by OBJ (``START, object-1
contours, OBJ, object-2 contours, ..., END``) and says "no target" as ``START, END``.

The classes of L_cls (RECS4R, CVPR 2026, Loss & Training) plus HOLE (ours, docs/design.md §8
"holes") and OBJ (ours, generalized referring, design.md §6 "Generalized sequences").
"""
TOKEN_COORD = 0  # a vertex; coords hold its normalised (x, y)
TOKEN_SEP = 1  # separator between two parts (connected components)
TOKEN_START = 2  # first token of every sequence
TOKEN_END = 3  # last token of every sequence
TOKEN_HOLE = 4  # starts a hole contour of the preceding outer part
TOKEN_OBJ = 5  # starts the next target object (generalized sequences only)
NUM_TOKEN_CLASSES = 5  # classes of a (single-target) contour sequence
NUM_GENERALIZED_TOKEN_CLASSES = 6  # with OBJ

TOKEN_NAMES = ('coord', 'sep', 'start', 'end', 'hole', 'obj')
