"""Bilinear coordinate embedding on a learned grid (PolyFormer-style).

PolyFormer (Liu et al., CVPR 2023): the 2-D coordinate embedding of its regression-based decoder,
LUCDP's step input in RECS4R (CVPR 2026, Key Design 1); docs/design.md §2 step 5.
"""
import torch.nn as nn
from torch import Tensor


class CoordGridEmbedding(nn.Module):
    """Embed continuous (x, y) in [0, 1] as the bilinear mix of the 4 nearest grid embeddings.

    Eq. (LUCDP input): e(x, y) = sum_{i,j in {0,1}} w_ij * E[floor(gy)+i, floor(gx)+j],
    with g = (x, y) * (G - 1) and bilinear weights w_ij. Differentiable w.r.t. E and (x, y).

    Args:
        grid_size (int): G (G x G learned embeddings).
        embed_dims (int): C.
    """

    def __init__(self, grid_size: int = 64, embed_dims: int = 256) -> None:
        super().__init__()
        if grid_size < 2:
            raise ValueError(f'grid_size must be >= 2, got {grid_size}')
        self.grid_size = grid_size
        self.embedding = nn.Embedding(grid_size * grid_size, embed_dims)
        nn.init.normal_(self.embedding.weight, std=0.02)

    def forward(self, coords: Tensor) -> Tensor:
        """coords (..., 2) in [0, 1] -> (..., C)."""
        g = self.grid_size
        pos = coords.clamp(0, 1) * (g - 1)
        p0 = pos.detach().floor().clamp(0, g - 2)
        w1 = pos - p0  # weight of the upper neighbour, (..., 2)
        w0 = 1 - w1
        x0, y0 = p0[..., 0].long(), p0[..., 1].long()
        table = self.embedding.weight
        out = 0  # Eq. (LUCDP input): bilinear mix of the 4 nearest grid embeddings
        for dy, wy in ((0, w0[..., 1]), (1, w1[..., 1])):
            for dx, wx in ((0, w0[..., 0]), (1, w1[..., 0])):
                idx = (y0 + dy) * g + (x0 + dx)
                out = out + (wy * wx)[..., None] * table[idx]
        return out
