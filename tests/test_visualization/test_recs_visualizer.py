import numpy as np
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
