"""Token classes of the contour sequence (docs/design.md §6).

A sequence for one target is ``tokens: int64 (T,)`` + ``coords: float32 (T, 2)`` with layout
``START, part-1 vertices, [HOLE, hole vertices]*, SEP, part-2 vertices, ..., END``.

The classes of L_cls (RECS4R, CVPR 2026, Loss & Training) plus HOLE (ours, docs/design.md §8
"holes").
"""
TOKEN_COORD = 0  # a vertex; coords hold its normalised (x, y)
TOKEN_SEP = 1  # separator between two parts (connected components)
TOKEN_START = 2  # first token of every sequence
TOKEN_END = 3  # last token of every sequence
TOKEN_HOLE = 4  # starts a hole contour of the preceding outer part
NUM_TOKEN_CLASSES = 5

TOKEN_NAMES = ('coord', 'sep', 'start', 'end', 'hole')
