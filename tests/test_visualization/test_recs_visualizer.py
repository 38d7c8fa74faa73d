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
