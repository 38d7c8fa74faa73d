"""refine.crop_source='original': the fine stage crops the image as loaded (KeepOriginalImage ->
PackRECSInputs -> RECSDataPreprocessor), not the resized network input."""
import numpy as np
import pytest
import torch

from recs4r_mm.structures import polygons_to_box

pytestmark = pytest.mark.usefixtures('single_thread')

META = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'text', 'box_only')
HI = 512  # original side; the network input is 64: a 6-pixel object is under 1 input pixel


def _image(path):
    import cv2
    rng = np.random.default_rng(0)
    img = rng.integers(0, 60, (HI, HI, 3), dtype=np.uint8)
    img[200:206, 300:306] = (250, 240, 230)  # the tiny object
    img[64:128, 64:128, 1] = np.arange(64, dtype=np.uint8)[None] * 3  # a gradient to compare
    assert cv2.imwrite(str(path), img)
    return img


def _pipeline(max_side=2048):
    from mmengine.dataset import Compose

    from recs4r_mm.registry import TRANSFORMS  # noqa: F401  (registers the steps)
    return Compose([dict(type='LoadImageFromFile'), dict(type='KeepOriginalImage',
                                                         max_side=max_side),
                    dict(type='Resize', scale=(64, 64), keep_ratio=False),
                    dict(type='PackRECSInputs', meta_keys=META)])


def _batch(tmp_path, model, training=False):
    from mmdet.structures.mask import BitmapMasks
    from mmengine.dataset import pseudo_collate
    from mmengine.structures import InstanceData
    img = _image(tmp_path / 'scene.png')
    data = _pipeline()(dict(img_path=str(tmp_path / 'scene.png'), text='the white vehicle',
                            box_only=False, img_id=0))
    gt = np.zeros((64, 64), bool)
    gt[25:26, 37:38] = True
    data['data_samples'].gt_instances = InstanceData(
        bboxes=torch.tensor([[37.0, 25.0, 38.0, 26.0]]),
        masks=BitmapMasks(gt[None], 64, 64), labels=torch.zeros(1, dtype=torch.long))
    return img, model.data_preprocessor(pseudo_collate([data]), training)


def _build(tiny_cfg, crop_source='original'):
    from recs4r_mm.registry import MODELS
    tiny_cfg.model.data_preprocessor.type = 'RECSDataPreprocessor'
    tiny_cfg.model.refine.update(crop_source=crop_source, input_size=64)
    torch.manual_seed(0)
    model = MODELS.build(tiny_cfg.model)
    model.init_weights()
    return model


def test_keep_original_image_bounds_memory():
    from recs4r_mm.datasets.transforms import KeepOriginalImage
    out = KeepOriginalImage(max_side=500)(dict(img=np.zeros((600, 1000, 3), np.uint8)))
    assert out['ori_img'].shape == (300, 500, 3) and out['ori_img_scale'] == (0.5, 0.5)
    out = KeepOriginalImage()(dict(img=np.ones((30, 40, 3), np.uint8)))
    assert out['ori_img'].shape == (30, 40, 3) and out['ori_img_scale'] == (1.0, 1.0)
    with pytest.raises(ValueError, match='max_side'):
        KeepOriginalImage(max_side=0)


def test_fine_crop_holds_the_original_pixels(tiny_cfg, tmp_path):
    model = _build(tiny_cfg)
    img, data = _batch(tmp_path, model)
    sample = data['data_samples'][0]
    # normalised exactly like the input: BGR -> RGB, (x - mean) / std
    mean = torch.tensor(tiny_cfg.model.data_preprocessor.mean)[:, None, None]
    std = torch.tensor(tiny_cfg.model.data_preprocessor.std)[:, None, None]
    expected = (torch.from_numpy(img[..., ::-1].copy()).permute(2, 0, 1).float() - mean) / std
    assert sample.ori_img.shape == (3, HI, HI)
    assert torch.allclose(sample.ori_img, expected, atol=1e-6)
    originals = model._originals(data['data_samples'])
    box = torch.tensor([[8.0, 8.0, 16.0, 16.0]])  # input pixels: 64 original pixels a side
    crop = model.fine_images(data['inputs'], box, originals)[0]
    assert torch.allclose(crop, expected[:, 64:128, 64:128], atol=1e-5)  # not an upsampled copy
    blurred = model.fine_images(data['inputs'], box)[0]  # today's crop of the network input
    assert (blurred - expected[:, 64:128, 64:128]).abs().max() > 0.5
    # the 6-pixel object: a sub-pixel smear in the input, its full contrast in the native crop
    obj = torch.tensor([[34.0, 22.0, 42.0, 30.0]])  # original pixels 272..336 x 176..240
    native = model.fine_images(data['inputs'], obj, originals)[0]
    assert torch.allclose(native[:, 24:30, 28:34], expected[:, 200:206, 300:306], atol=1e-5)
    assert native.amax() > data['inputs'][0].amax() + 0.5


def test_train_and_predict_from_the_original(tiny_cfg, tmp_path):
    model = _build(tiny_cfg)
    _, data = _batch(tmp_path, model, training=True)
    model.train()
    losses = model.loss(data['inputs'], data['data_samples'])
    assert all(torch.isfinite(v).all() for v in losses.values())
    model.eval()
    _, data = _batch(tmp_path, model)
    with torch.no_grad():
        res = model.predict(data['inputs'], data['data_samples'])[0]
    p = res.pred_instances
    assert p.masks.shape == (1, HI, HI) and 'ori_img' not in res  # dropped after use
    assert np.allclose(p.bboxes[0].numpy(), polygons_to_box(p.polygons[0]), atol=1e-3)
    # the same model cropping the input decodes from other pixels, the coarse pass is shared
    model.refine_cfg['crop_source'] = 'input'
    _, data = _batch(tmp_path, model)
    with torch.no_grad():
        res_in = model.predict(data['inputs'], data['data_samples'])[0]
    assert torch.equal(res_in.pred_instances.coarse_bboxes, p.coarse_bboxes)


def test_missing_original_is_named(tiny_cfg, make_batch):
    model = _build(tiny_cfg)
    imgs, samples, _ = make_batch(['rect'])
    data = model.data_preprocessor(dict(inputs=imgs, data_samples=samples), True)
    with pytest.raises(KeyError, match='KeepOriginalImage'):
        model.loss(data['inputs'], data['data_samples'])
    with pytest.raises(ValueError, match='crop_source'):
        _build(tiny_cfg, crop_source='file')


def test_native_config_keeps_the_original_before_resize():
    import os.path as osp

    from mmengine.config import Config
    repo = osp.join(osp.dirname(__file__), '..', '..', '..')
    cfg = Config.fromfile(osp.join(repo, 'configs', 'recs4r_tiny_synthetic_native.py'))
    assert cfg.model.refine.crop_source == 'original'
    assert cfg.model.data_preprocessor.type == 'RECSDataPreprocessor'
    for loader in (cfg.train_dataloader, cfg.val_dataloader, cfg.test_dataloader):
        steps = [s['type'] for s in loader.dataset.pipeline]
        assert steps.index('KeepOriginalImage') < steps.index('Resize')
        assert steps[-1] == 'PackRECSInputs'
        assert loader.dataset.generator.image_size == 384  # scenes 3x the 128 px input


def _batch_with_native_gt(tmp_path, model):
    """The scene with the 6 x 6 object's GT at 512 (LoadRECSAnnotations' fields), kept by
    KeepOriginalImage before Resize shrinks it below one input pixel."""
    from mmdet.structures.bbox import HorizontalBoxes
    from mmdet.structures.mask import BitmapMasks
    from mmengine.dataset import Compose, pseudo_collate

    from recs4r_mm.registry import TRANSFORMS  # noqa: F401  (registers the steps)
    _image(tmp_path / 'scene.png')
    gt = np.zeros((HI, HI), np.uint8)
    gt[200:206, 300:306] = 1
    gt[200, 300] = 0  # a notch only the native GT shows
    results = Compose([dict(type='LoadImageFromFile')])(dict(
        img_path=str(tmp_path / 'scene.png'), text='the white vehicle', box_only=False,
        img_id=0))
    results.update(gt_bboxes=HorizontalBoxes(torch.tensor([[300.0, 200.0, 306.0, 206.0]])),
                   gt_bboxes_labels=np.zeros(1, np.int64), gt_ignore_flags=np.zeros(1, bool),
                   gt_masks=BitmapMasks(gt[None], HI, HI))
    data = Compose([dict(type='KeepOriginalImage'),
                    dict(type='Resize', scale=(64, 64), keep_ratio=False),
                    dict(type='PackRECSInputs', meta_keys=META)])(results)
    return gt, model.data_preprocessor(pseudo_collate([data]), True)


def test_keep_original_image_keeps_the_gt_union_at_its_size():
    from mmdet.structures.mask import BitmapMasks

    from recs4r_mm.datasets.transforms import KeepOriginalImage
    masks = np.zeros((2, 600, 1000), np.uint8)
    masks[0, 100:200, 100:300] = 1
    masks[1, 400:410, 800:810] = 1
    out = KeepOriginalImage(max_side=500)(dict(img=np.zeros((600, 1000, 3), np.uint8),
                                               gt_masks=BitmapMasks(masks, 600, 1000)))
    m = out['ori_gt_mask']
    assert m.shape == (300, 500) and m.dtype == np.uint8
    assert m[50:100, 50:150].all() and m[200:205, 400:405].all() and m.sum() == 5000 + 25
    assert 'ori_gt_mask' not in KeepOriginalImage(with_mask=False)(
        dict(img=np.zeros((6, 6, 3), np.uint8), gt_masks=BitmapMasks(masks[:, :6, :6], 6, 6)))
    with pytest.raises(ValueError, match='before Resize'):
        KeepOriginalImage()(dict(img=np.zeros((60, 100, 3), np.uint8), img_path='a.png',
                                 gt_masks=BitmapMasks(masks, 600, 1000)))


def test_fine_targets_at_native_resolution(tiny_cfg, tmp_path, monkeypatch):
    model = _build(tiny_cfg)
    model.refine_cfg['fine_gt'] = 'original'
    gt, data = _batch_with_native_gt(tmp_path, model)
    sample = data['data_samples'][0]
    assert torch.equal(sample.ori_gt_mask[0].cpu(), torch.from_numpy(gt))
    # a box of 8 x 8 input pixels holds the object's 64 x 64 original pixels 1:1
    box = torch.tensor([[34.0, 22.0, 42.0, 30.0]])  # original 272..336 x 176..240
    crop, small = model._original_gt_crops([sample], box, (64, 16))
    assert torch.equal(crop[0, 0], torch.from_numpy(gt[176:240, 272:336]).float())
    assert small.shape == (1, 1, 16, 16) and abs(small.sum().item() - 35 / 16) < 0.2
    # the loss encodes its fine targets from the native GT: 35 of 36 pixels, the notch kept
    seen = {}
    encode = model.coder.encode_crops

    def spy(crop_masks, *args):
        seen.update(masks=crop_masks, boxes=args[2])
        return encode(crop_masks, *args)

    monkeypatch.setattr(model.coder, 'encode_crops', spy)
    model.train()
    losses = model.loss(data['inputs'], data['data_samples'])
    assert all(torch.isfinite(v).all() for v in losses.values())
    w = (seen['boxes'][0, 2] - seen['boxes'][0, 0]).item() * HI / 64  # crop side, original px
    side = model.refine_cfg['input_size']
    assert abs(seen['masks'].sum().item() - 35 * (side / w) ** 2) < 0.15 * 35 * (side / w) ** 2
    # from the resized GT (under one input pixel, resized to one whole pixel) another area
    model.refine_cfg['fine_gt'] = 'input'
    model.loss(data['inputs'], data['data_samples'])
    w_in = (seen['boxes'][0, 2] - seen['boxes'][0, 0]).item() * HI / 64
    assert abs(seen['masks'].sum().item() - 35 * (side / w_in) ** 2) > 0.5 * 35 * (side / w_in) ** 2


def test_native_gt_errors_are_named(tiny_cfg, tmp_path):
    from recs4r_mm.registry import MODELS
    cfg = tiny_cfg.model
    cfg.refine.update(fine_gt='original')
    with pytest.raises(ValueError, match="crop_source='original'"):
        MODELS.build(cfg)
    model = _build(tiny_cfg)
    model.refine_cfg['fine_gt'] = 'original'
    _, data = _batch(tmp_path, model, training=True)  # KeepOriginalImage before the GT
    model.train()
    with pytest.raises(KeyError, match='scene.png: no ori_gt_mask'):
        model.loss(data['inputs'], data['data_samples'])
