"""Fragmented GT masks for the contour budget tests (structures, detector, pipeline)."""
import numpy as np

PART_COUNTS = (1, 5, 20, 60, 200)


def blob_mask(n_parts: int, hw: int = 128, holes: bool = False, seed: int = 0) -> np.ndarray:
    """``n_parts`` separate squares of random size on a grid (the first row and column touch
    the image border); with ``holes`` every square of side >= 8 gets a square hole."""
    rng = np.random.default_rng(seed)
    m = np.zeros((hw, hw), bool)
    g = int(np.ceil(np.sqrt(n_parts)))
    cell = hw // g
    for k in range(n_parts):
        i, j = divmod(k, g)
        s = int(rng.integers(max(3, cell // 4), max(4, cell - 2)))
        y, x = i * cell, j * cell
        m[y:y + s, x:x + s] = True
        if holes and s >= 8:
            m[y + s // 3:y + 2 * s // 3, x + s // 3:x + 2 * s // 3] = False
    return m
