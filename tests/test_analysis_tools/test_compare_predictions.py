"""compare_predictions: identical dumps pass, any changed field is named, exit codes."""
import pickle

import numpy as np
import torch


def _dump(score=0.9, mask_pixel=False):
    mask = np.zeros((1, 4, 4), bool)
    mask[0, 1, 1] = mask_pixel
    return [dict(img_path='a.png', pred_instances=dict(
        bboxes=torch.tensor([[1.0, 2.0, 3.0, 4.0]]), scores=torch.tensor([score]),
        masks=mask, polygons=[[dict(outer=np.array([[1.0, 2.0], [3.0, 2.0], [3.0, 4.0]]),
                                    holes=[])]]))]


def test_identical_and_each_kind_of_difference(compare_tool, tmp_path):
    assert compare_tool.compare(_dump(), _dump()) is None
    assert compare_tool.compare(_dump(), _dump(score=0.9 + 1e-7)) == \
        '[0].pred_instances.scores: values differ (max abs diff 1.1920928955078125e-07)'
    assert compare_tool.compare(_dump(), _dump(mask_pixel=True)).startswith(
        '[0].pred_instances.masks: values differ')
    other = _dump()
    other[0]['pred_instances']['polygons'][0][0]['outer'][2, 1] = 4.5
    assert compare_tool.compare(_dump(), other).startswith(
        '[0].pred_instances.polygons[0][0].outer: values differ')
    other = _dump()
    other[0]['pred_instances']['labels'] = torch.zeros(1)
    assert 'keys' in compare_tool.compare(_dump(), other)
    assert compare_tool.compare(_dump(), _dump() * 2) == '1 vs 2 samples'
    # the command line: exit 0 when identical, 1 (and the first difference) otherwise
    a, b = tmp_path / 'a.pkl', tmp_path / 'b.pkl'
    a.write_bytes(pickle.dumps(_dump()))
    b.write_bytes(pickle.dumps(_dump()))
    assert compare_tool.main([str(a), str(b)]) == 0
    b.write_bytes(pickle.dumps(_dump(score=0.5)))
    assert compare_tool.main([str(a), str(b)]) == 1
