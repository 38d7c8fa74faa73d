"""Soft rasteriser: exact hard limit, holes/parts, batching, gradients (gradcheck)."""
import numpy as np
import pytest
import torch

from recs4r_mm.models.layers.soft_raster import ring_edges, soft_rasterize
from recs4r_mm.structures import mask_to_polygons, polygons_to_mask


def _rings(parts):
    """parts -> (vertices (N, 2), ring ids (N,)) with outer rings and holes as rings."""
    verts, ids, r = [], [], 0
    for p in parts:
        for ring in [p['outer']] + list(p['holes']):
            verts.append(np.asarray(ring, np.float64))
            ids += [r] * len(ring)
            r += 1
    return torch.from_numpy(np.concatenate(verts)), torch.tensor(ids)


def _masks():
    yy, xx = np.mgrid[:24, :24]
    ring = ((yy - 12)**2 + (xx - 12)**2 < 81) & ((yy - 12)**2 + (xx - 12)**2 >= 16)
    two = np.zeros((24, 24), bool)
    two[2:8, 3:9] = True
    two[14:22, 10:21] = True
    tri = (yy > xx) & (yy < 20) & (xx > 2)
    return dict(ring=ring, two=two, tri=tri)


@pytest.mark.parametrize('name', ['ring', 'two', 'tri'])
def test_hard_limit_equals_fill(name):
    mask = _masks()[name]
    parts = mask_to_polygons(mask)
    verts, ids = _rings(parts)
    soft = soft_rasterize(verts[None], ids[None], mask.shape, tau=0.05)[0]
    assert soft.shape == mask.shape
    assert np.array_equal((soft > 0.5).numpy(), mask)
    assert np.array_equal(polygons_to_mask(parts, mask.shape), mask)
    # the ring's hole is empty whatever the orientation of the hole contour
    if name == 'ring':
        flipped = [dict(outer=p['outer'], holes=[h[::-1] for h in p['holes']]) for p in parts]
        v2, i2 = _rings(flipped)
        soft2 = soft_rasterize(v2[None], i2[None], mask.shape, tau=0.05)[0]
        assert np.array_equal((soft2 > 0.5).numpy(), mask)
        assert soft[12, 12] < 0.01


def test_batched_with_padding_matches_single():
    masks = _masks()
    items = [_rings(mask_to_polygons(masks[k])) for k in ('tri', 'two')]
    n = max(v.shape[0] for v, _ in items)
    verts = torch.zeros(2, n + 3, 2, dtype=torch.float64)
    ids = torch.full((2, n + 3), -1)
    for b, (v, i) in enumerate(items):
        verts[b, :len(v)] = v
        ids[b, :len(i)] = i
    verts[:, -3:] = 100.0  # padding vertices far away must not matter
    batch = soft_rasterize(verts, ids, (24, 24), tau=0.5)
    for b, (v, i) in enumerate(items):
        single = soft_rasterize(v[None], i[None], (24, 24), tau=0.5)[0]
        assert torch.allclose(batch[b], single)
    empty = soft_rasterize(verts[:1], torch.full_like(ids[:1], -1), (24, 24))
    assert float(empty.max()) < 1e-3


def test_ring_edges_close_each_ring():
    ids = torch.tensor([[0, 0, 0, -1, 1, 1, 1, 1, -1]])
    edges, valid = ring_edges(ids)
    assert valid.tolist() == [[True] * 3 + [False] + [True] * 4 + [False]]
    ends = edges[0, :, 1].tolist()
    assert ends[:3] == [1, 2, 0] and ends[4:8] == [5, 6, 7, 4]


def test_gradcheck_wrt_vertices():
    torch.manual_seed(0)
    verts = torch.tensor([[[1.3, 1.2], [6.6, 1.7], [5.9, 6.4], [3.1, 4.2], [1.6, 6.1]]],
                         dtype=torch.float64, requires_grad=True)
    ids = torch.zeros(1, 5, dtype=torch.long)

    def f(v):
        return soft_rasterize(v, ids, (8, 8), tau=0.7)

    assert torch.autograd.gradcheck(f, (verts, ), eps=1e-6, atol=1e-5)
    # the gradient really moves the polygon: growing the soft area pushes vertices outwards
    area = f(verts).sum()
    area.backward()
    g = verts.grad[0]
    centre = verts.detach()[0].mean(0)
    assert float(((verts.detach()[0] - centre) * g).sum(-1).min()) > 0


def test_bad_input():
    with pytest.raises(ValueError, match='fill_rule'):
        soft_rasterize(torch.zeros(1, 3, 2), torch.zeros(1, 3, dtype=torch.long), (4, 4),
                       fill_rule='odd')
    with pytest.raises(ValueError, match=r'\(B, N, 2\)'):
        soft_rasterize(torch.zeros(3, 2), torch.zeros(3, dtype=torch.long), (4, 4))
