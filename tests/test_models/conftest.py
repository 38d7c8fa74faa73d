"""Shared fixtures of the model tests (tiny BERT, tiny config, synthetic samples).

Nothing here is autouse: the VMamba tests next door are not affected.
"""
import copy
import os.path as osp

import numpy as np
import pytest
import torch

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
TINY_CONFIG = osp.join(REPO, 'configs', '_tiny_', 'recs4r_tiny.py')

VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] + (
    'the a of in on at left right top bottom middle center image large small tiny medium red '
    'blue green white building tank storage vehicle road ship object near next to upper lower '
    'round square ring').split()


@pytest.fixture(scope='session')
def mm_scope():
    """mmdet registries + every recs4r_mm model module registered, default scope mmdet."""
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    import recs4r_mm.models.detectors  # noqa: F401
    import recs4r_mm.models.encoders  # noqa: F401
    import recs4r_mm.models.heads  # noqa: F401
    import recs4r_mm.models.layers  # noqa: F401
    import recs4r_mm.models.losses  # noqa: F401
    import recs4r_mm.models.necks  # noqa: F401
    return True


@pytest.fixture(scope='session')
def tiny_vocab(tmp_path_factory):
    path = tmp_path_factory.mktemp('bert') / 'vocab.txt'
    path.write_text('\n'.join(VOCAB) + '\n')
    return str(path)


@pytest.fixture
def tiny_bert_cfg(tiny_vocab):
    """BertTextEncoder kwargs of a 1-layer random BERT (no download)."""
    return dict(
        type='BertTextEncoder',
        name_or_path=None,
        bert_config=dict(vocab_size=64, hidden_size=16, num_hidden_layers=1,
                         num_attention_heads=2, intermediate_size=32,
                         max_position_embeddings=32),
        vocab_file=tiny_vocab,
        max_tokens=20,
        out_channels=32)


@pytest.fixture
def tiny_cfg(mm_scope):
    """The tiny RECS4R config (a fresh copy)."""
    from mmengine.config import Config
    return copy.deepcopy(Config.fromfile(TINY_CONFIG))


def _shape_mask(kind: str, hw=(64, 64)) -> np.ndarray:
    h, w = hw
    yy, xx = np.mgrid[:h, :w]
    sy, sx = h / 64, w / 64
    if kind == 'rect':
        return (yy >= 10 * sy) & (yy < 30 * sy) & (xx >= 20 * sx) & (xx < 50 * sx)
    if kind == 'circle':
        return ((yy - 40 * sy) / sy)**2 + ((xx - 30 * sx) / sx)**2 < 15**2
    if kind == 'ring':
        r2 = ((yy - 32 * sy) / sy)**2 + ((xx - 32 * sx) / sx)**2
        return (r2 < 20**2) & (r2 >= 8**2)
    if kind == 'two':
        return (((yy >= 5 * sy) & (yy < 20 * sy) & (xx >= 5 * sx) & (xx < 20 * sx)) |
                ((yy >= 40 * sy) & (yy < 58 * sy) & (xx >= 35 * sx) & (xx < 60 * sx)))
    if kind == 'empty':
        return np.zeros(hw, bool)
    raise ValueError(kind)


TEXTS = dict(rect='the red building on the left', circle='the blue tank in the middle',
             ring='the white ring', two='the green objects', empty='the tiny vehicle')


def build_batch(kinds, ori_hw=(64, 64), in_hw=(64, 64), box_only=(), train=True, seed=0):
    """(list of uint8 CHW images at ``in_hw``, list of DetDataSample, list of original-size
    masks). Training samples carry GT at the input size, test samples at the original size
    (the pipelines' contract)."""
    from mmdet.structures import DetDataSample
    from mmdet.structures.mask import BitmapMasks
    from mmengine.structures import InstanceData
    rng = np.random.RandomState(seed)
    imgs, samples, masks = [], [], []
    for i, kind in enumerate(kinds):
        m_ori = _shape_mask(kind, ori_hw)
        m_in = _shape_mask(kind, in_hw)
        m = m_in if train else m_ori
        hw = m.shape
        if kind == 'empty':
            box = np.array([10, 10, 20, 20], np.float32) * np.array(
                [hw[1] / 64, hw[0] / 64] * 2, np.float32)
        else:
            ys, xs = np.nonzero(m)
            box = np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float32)
        bo = i in box_only
        gt_mask = m.copy()
        if bo:
            gt_mask = np.zeros_like(m)
            x1, y1, x2, y2 = box.astype(int)
            gt_mask[y1:y2, x1:x2] = True
        img = np.repeat(np.where(m_in[..., None], 200, 50), 3, 2) + rng.randint(
            0, 30, (*in_hw, 3))
        imgs.append(torch.from_numpy(img.astype(np.uint8)).permute(2, 0, 1).contiguous())
        s = DetDataSample(metainfo=dict(
            img_shape=in_hw, ori_shape=ori_hw,
            scale_factor=(in_hw[1] / ori_hw[1], in_hw[0] / ori_hw[0]),
            text=TEXTS[kind], box_only=bo, img_path=f'{kind}_{i}.png'))
        s.gt_instances = InstanceData(
            bboxes=torch.from_numpy(box[None]),
            masks=BitmapMasks(gt_mask[None], hw[0], hw[1]),
            labels=torch.zeros(1, dtype=torch.long))
        samples.append(s)
        masks.append(m_ori)
    return imgs, samples, masks


@pytest.fixture
def make_batch():
    """Factory fixture: :func:`build_batch`."""
    return build_batch
