"""RECS4R with the VMamba backbone: a CPU loss step, and the recs4r_vmamba-t config's backbone
(the configs' schedule is checked with the others in test_configs_and_flops.py)."""
import os.path as osp

import pytest
import torch

pytestmark = pytest.mark.usefixtures('single_thread')

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..', '..'))


def test_loss_step_with_vmamba_backbone_on_cpu(tiny_cfg, make_batch):
    from recs4r_mm.registry import MODELS
    dims = [8, 16, 32, 64]  # the tiny config's ResNet widths, so CIMF fits unchanged
    tiny_cfg.model.backbone = dict(type='VMamba', depths=[1, 1, 1, 1], dims=dims,
                                   drop_path_rate=0.1, out_indices=(0, 1, 2, 3), init_cfg=None)
    tiny_cfg.model.neck.in_channels = dims
    torch.manual_seed(0)
    model = MODELS.build(tiny_cfg.model)
    model.init_weights()
    model.train()
    imgs, samples, _ = make_batch(['rect', 'ring'])
    data = model.data_preprocessor(dict(inputs=imgs, data_samples=samples), True)
    losses = model.loss(data['inputs'], data['data_samples'])
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total) and total > 0
    total.backward()
    scan_params = [p for n, p in model.backbone.named_parameters()
                   if n.endswith(('A_logs', 'Ds', 'dt_projs_weight', 'x_proj_weight'))]
    assert scan_params, 'no selective-scan parameters found in the VMamba backbone'
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in scan_params)


def test_vmamba_t_backbone_of_the_config_feeds_its_neck():
    """The full VMamba-T from the config produces what the config's CIMF expects."""
    from mmengine.config import Config

    from recs4r_mm.registry import MODELS
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'recs4r_vmamba-t_refdior.py'))
    cfg.model.backbone.init_cfg = None  # no download
    backbone = MODELS.build(cfg.model.backbone).eval()
    with torch.no_grad():
        feats = backbone(torch.randn(1, 3, 64, 64))
    assert [f.shape[1] for f in feats] == cfg.model.neck.in_channels
    assert [f.shape[-1] for f in feats] == [16, 8, 4, 2]
