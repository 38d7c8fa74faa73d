"""Configs (main, ablation, tiny) and the FLOPs tool."""
import glob
import importlib.util
import os.path as osp

import pytest
import torch

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
TINY_CONFIG = osp.join(REPO, 'configs', '_tiny_', 'recs4r_tiny.py')

DATASETS = ('refdior', 'rrsisd', 'refsegrs', 'refcoco', 'refcoco+', 'refcocog')


def _load(path):
    from mmengine.config import Config
    return Config.fromfile(path)


@pytest.mark.parametrize('backbone', ['swin-t', 'convnext-t', 'vmamba-t'])
def test_main_configs_parse_with_paper_schedule(backbone):
    for ds in DATASETS:
        cfg = _load(osp.join(REPO, 'configs', f'recs4r_{backbone}_{ds}.py'))
        assert cfg.default_scope == 'mmdet'
        assert 'recs4r_mm' in cfg.custom_imports['imports']
        assert cfg.model.type == 'RECS4R'
        opt = cfg.optim_wrapper.optimizer
        assert opt.type == 'Adam' and opt.lr == 5e-4 and tuple(opt.betas) == (0.9, 0.999)
        assert opt.weight_decay == 0.01
        assert cfg.train_cfg.max_epochs == 50 and cfg.train_dataloader.batch_size == 4
        assert cfg.param_scheduler[0].type == 'LinearLR'
        assert cfg.val_evaluator.type == 'RECSMetric'
        assert cfg.model.text_encoder.max_tokens == 20
        head = cfg.model.head
        weights = [head.loss_cls.loss_weight, head.loss_l1.loss_weight,
                   head.loss_smooth_l2.loss_weight, head.loss_coarse_l1.loss_weight,
                   head.loss_gcl.loss_weight]
        assert weights == [1.0, 1.0, 1.0, 0.1, 0.1]
        if backbone == 'convnext-t':
            assert cfg.model.backbone.type == 'mmpretrain.ConvNeXt'
            assert cfg.model.backbone.gap_before_final_norm is False
            assert 'mmpretrain.models' in cfg.custom_imports['imports']
        elif backbone == 'vmamba-t':
            assert cfg.model.backbone.type == 'VMamba' and cfg.model.backbone.arch == 'tiny'
            assert cfg.model.backbone.init_cfg.type == 'Pretrained'
            assert cfg.model.neck.in_channels == [96, 192, 384, 768]
        else:
            assert cfg.model.backbone.type == 'SwinTransformer'


def test_ablation_configs_match_the_paper_rows():
    rows = dict(baseline=(0, 0, 0, 0), lucdp=(1, 0, 0, 0), rce=(0, 1, 0, 0),
                cimf=(0, 0, 1, 0), gcl=(0, 0, 0, 1), full=(1, 1, 1, 1))
    files = sorted(glob.glob(osp.join(REPO, 'configs', 'ablation', '*.py')))
    assert len(files) == len(rows)
    for name, (lucdp, rce, cimf, gcl) in rows.items():
        m = _load(osp.join(REPO, 'configs', 'ablation', f'recs4r_swin-t_refdior_{name}.py')).model
        assert (m.sequence_coder.seq_format == 'contour') == bool(lucdp), name
        assert (m.refine is not None) == bool(rce), name
        assert m.neck.variant == ('cimf' if cimf else 'fpn_sum'), name
        assert (m.head.loss_gcl.loss_weight > 0) == bool(gcl), name


@pytest.mark.parametrize('backbone', ['swin-t', 'convnext-t'])
def test_real_backbones_build_and_run(mm_scope, tiny_bert_cfg, backbone, single_thread):
    """Swin-T / ConvNeXt-T models build (random BERT, no pretrained download) and run."""
    import mmpretrain.models  # noqa: F401

    from recs4r_mm.registry import MODELS
    cfg = _load(osp.join(REPO, 'configs', f'recs4r_{backbone}_refdior.py'))
    cfg.model.backbone.init_cfg = None
    cfg.model.text_encoder = dict(tiny_bert_cfg, out_channels=256)
    model = MODELS.build(cfg.model).eval()
    feats = model.extract_feat(torch.zeros(1, 3, 64, 64))
    assert [f.shape[1] for f in feats] == [96, 192, 384, 768]
    fused = model.neck(feats)[0]
    assert fused.shape == (1, 256, 4, 4)


def test_get_flops_tool_on_tiny_config():
    spec = importlib.util.spec_from_file_location(
        'get_flops', osp.join(REPO, 'tools', 'analysis_tools', 'get_flops.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    cfg = _load(TINY_CONFIG)
    res = mod.complexity(cfg, (64, 64), num_vertices=8)
    rows = res['rows']
    for comp in ('backbone', 'neck', 'encoder', 'head'):
        assert rows[comp]['coarse'] > 0 and rows[comp]['fine'] > 0, comp
    assert rows['rce']['coarse'] == 0 and rows['rce']['fine'] > 0
    # the fine pass's BERT reads T_f = template (11 words) + expression
    assert res['fine_tokens'] == 11 + res['num_tokens']
    assert rows['text_encoder']['fine'] > rows['text_encoder']['coarse'] > 0
    assert res['total'] == sum(v['coarse'] + v['fine'] for v in rows.values())
    assert res['total_params'] == sum(res['params'].values())
    # the fine stage is cheaper at a smaller input
    small = mod.complexity(cfg, (64, 64), fine_size=32, num_vertices=8)
    assert small['rows']['backbone']['fine'] < rows['backbone']['fine']
    # fine_text='reuse': BERT reads the template alone ([CLS] 11 words [SEP]); the fine stage
    # still attends to template + expression; the coarse pass is unchanged
    cfg.model.refine.fine_text = 'reuse'
    reuse = mod.complexity(cfg, (64, 64), num_vertices=8)
    assert reuse['fine_tokens'] == 13 + res['num_tokens']
    one_pass = mod.complexity(cfg, (64, 64), num_vertices=8, num_tokens=13)
    assert reuse['rows']['text_encoder']['fine'] == one_pass['rows']['text_encoder']['coarse']
    assert reuse['rows']['text_encoder']['coarse'] == rows['text_encoder']['coarse']
    assert reuse['total'] < res['total']
    # an extra test-time fine pass costs one more fine stage (its text included)
    assert res['test_passes'] == 1 and res['total_all_passes'] == res['total']
    cfg.model.refine.test_passes = 3
    three = mod.complexity(cfg, (64, 64), num_vertices=8)
    fine = three['stage_totals']['fine'] + three['rows']['text_encoder']['fine']
    assert three['total_all_passes'] == three['total'] + 2 * fine
    assert 'refine.test_passes=3 fine passes' in mod.format_report(three)
    report = mod.format_report(res)
    assert '| backbone |' in report and 'total' in report
