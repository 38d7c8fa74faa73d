import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData

from recs4r_mm.visualization import RECSLocalVisualizer


def _sample():
    sample = DetDataSample(metainfo=dict(text='the red building on the left', img_shape=(32, 32)))
    gt_mask = np.zeros((1, 32, 32), bool)
    gt_mask[0, 8:20, 4:16] = True
    sample.gt_instances = InstanceData(bboxes=torch.tensor([[4., 8., 16., 20.]]),
                                       masks=torch.from_numpy(gt_mask))
    outer = np.array([[20., 18.], [30., 18.], [30., 28.], [20., 28.]])
    pred_mask = np.zeros((1, 32, 32), bool)
    pred_mask[0, 18:28, 20:30] = True
    sample.pred_instances = InstanceData(bboxes=torch.tensor([[20., 18., 30., 28.]]),
                                         masks=torch.from_numpy(pred_mask),
                                         scores=torch.tensor([0.9]))
    sample.pred_instances.polygons = [[dict(outer=outer, holes=[])]]
    return sample


def test_draws_gt_green_and_prediction_red_at_their_places(tmp_path):
    vis = RECSLocalVisualizer(min_size=128, draw_vertex_ids=True)
    image = np.full((32, 32, 3), 100, np.uint8)
    out = tmp_path / 'sub' / 'vis.png'
    drawn = vis.add_datasample('s', image, _sample(), out_file=str(out))
    assert out.is_file()
    assert drawn.shape == (128, 128, 3)  # upscaled x4 from 32
    # GT mask centre (rows 8-20, cols 4-16 -> x4) is tinted green, prediction centre red.
    gt_px = drawn[14 * 4, 10 * 4].astype(int)
    pred_px = drawn[23 * 4, 25 * 4].astype(int)
    assert gt_px[1] > gt_px[0] + 30 and gt_px[1] > gt_px[2] + 30
    assert pred_px[0] > pred_px[1] + 30 and pred_px[0] > pred_px[2] + 30
    # Background far from both stays the input grey.
    assert np.abs(drawn[30 * 4, 8 * 4].astype(int) - 100).max() <= 5


def test_draws_the_oriented_box_in_white(tmp_path):
    from recs4r_mm.structures import oriented_box_corners
    vis = RECSLocalVisualizer(min_size=128, draw_vertex_ids=False)
    sample = _sample()
    # a 12 x 4 px box turned by 20 degrees around (10, 26), below the caption, left of the
    # red prediction
    sample.pred_instances.oriented_bboxes = torch.tensor([[10., 26., 12., 4., 20.]])
    drawn = vis.add_datasample('s', np.full((32, 32, 3), 100, np.uint8), sample, draw_gt=False)
    corners = oriented_box_corners((10, 26), 12, 4, 20) * 4  # drawn upscaled x4
    mid = (corners[0] + corners[1]) / 2  # on a long edge
    patch = drawn[int(mid[1]) - 2:int(mid[1]) + 3, int(mid[0]) - 2:int(mid[0]) + 3]
    assert patch.astype(int).min(-1).max() > 200  # a white line there
    plain = vis.add_datasample('s', np.full((32, 32, 3), 100, np.uint8), _sample(),
                               draw_gt=False)
    assert np.abs(plain[int(mid[1]), int(mid[0])].astype(int) - 100).max() <= 5


def _instances(boxes, score=0.8, hw=(32, 32)):
    """Rectangular instances (mask, box, one 4-corner part each) from pixel xyxy boxes."""
    masks = np.zeros((len(boxes), *hw), bool)
    polygons = []
    for k, (x1, y1, x2, y2) in enumerate(boxes):
        masks[k, y1:y2, x1:x2] = True
        polygons.append([dict(outer=np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], float),
                              holes=[])])
    inst = InstanceData(bboxes=torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
                        masks=torch.from_numpy(masks), scores=torch.full((len(boxes), ), score))
    inst.polygons = polygons
    return inst


def _captions(vis, monkeypatch):
    """Record the caption strings the visualizer writes (not the vertex numbers)."""
    seen = []
    draw_texts = vis.draw_texts

    def spy(texts, *args, **kwargs):
        if isinstance(texts, str):
            seen.append(texts)
        return draw_texts(texts, *args, **kwargs)
    monkeypatch.setattr(vis, 'draw_texts', spy)
    return seen


@pytest.mark.parametrize('k', [0, 1, 2])
def test_draws_every_predicted_instance_and_says_when_there_is_none(k, monkeypatch):
    boxes = [[4, 12, 14, 24], [20, 16, 30, 28]][:k]
    sample = DetDataSample(metainfo=dict(text='all the tanks', img_shape=(32, 32)))
    sample.pred_instances = _instances(boxes)
    vis = RECSLocalVisualizer(name=f'k{k}', min_size=128, draw_vertex_ids=False)
    seen = _captions(vis, monkeypatch)
    image = np.full((32, 32, 3), 100, np.uint8)
    drawn = vis.add_datasample('s', image, sample, draw_gt=False)
    assert [' '.join(t.split()) for t in seen] == [  # the caption as wrapped on the canvas
        '"all the tanks" ' + ['no target found', 'score 0.80', '2 objects, score 0.80'][k]]
    # instance 0 red, instance 1 blue, at their centres (x4)
    left, right = drawn[18 * 4, 9 * 4].astype(int), drawn[22 * 4, 25 * 4].astype(int)
    assert (left[0] > left[2] + 30) == (k >= 1)
    assert (right[2] > right[0] + 30) == (k >= 2)
    if k == 0:  # nothing but the (two-line) caption: the input grey below it
        assert (drawn[64:] == 100).all()


def test_draws_zero_or_several_gt_instances_green():
    sample = DetDataSample(metainfo=dict(text='the tanks', img_shape=(32, 32)))
    sample.gt_instances = _instances([[4, 12, 14, 24], [20, 16, 30, 28]])
    vis = RECSLocalVisualizer(name='gt2', min_size=128, draw_vertex_ids=False)
    drawn = vis.add_datasample('s', np.full((32, 32, 3), 100, np.uint8), sample, draw_pred=False)
    for x, y in ((9, 18), (25, 22)):
        px = drawn[y * 4, x * 4].astype(int)
        assert px[1] > px[0] + 30 and px[1] > px[2] + 30
    sample.gt_instances = _instances([])
    sample.pred_instances = _instances([])
    drawn = vis.add_datasample('s', np.full((32, 32, 3), 100, np.uint8), sample)
    assert (drawn[64:] == 100).all()
