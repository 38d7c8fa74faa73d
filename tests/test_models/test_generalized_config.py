"""configs/recs4r_tiny_synthetic_generalized.py: its data (single-, multi- and no-target
expressions) goes through its pipelines into its model, which trains and predicts."""
import copy
import os.path as osp

import pytest
import torch

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
CONFIG = osp.join(REPO, 'configs', 'recs4r_tiny_synthetic_generalized.py')
TINY = dict(num_images=12, image_size=96, seed=0, no_target_rate=0.2, multi_target_rate=0.2)


@pytest.fixture(scope='module')
def generalized(tmp_path_factory, mm_scope):
    from mmengine.config import Config

    from recs4r_mm.registry import DATASETS
    cfg = Config.fromfile(CONFIG)
    root = str(tmp_path_factory.mktemp('grefs'))
    datasets = {}
    for key in ('train_dataloader', 'val_dataloader'):
        ds = copy.deepcopy(cfg[key].dataset)
        ds.update(data_root=root, generator=TINY)
        datasets[key] = DATASETS.build(ds)
    return cfg, datasets


def test_vocabulary_and_switches(generalized):
    cfg, _ = generalized
    with open(cfg.model.text_encoder.vocab_file) as f:
        assert cfg.model.text_encoder.bert_config.vocab_size == len(f.read().split())
    assert cfg.model.sequence_coder.generalized and cfg.model.score_head.type == \
        'ContourScoreHead'
    assert cfg.val_evaluator.generalized


def test_mixed_batches_train_and_predict(generalized, single_thread):
    from mmengine.dataset import pseudo_collate

    from recs4r_mm.registry import MODELS
    cfg, datasets = generalized
    train, val = datasets['train_dataloader'], datasets['val_dataloader']
    kinds = {}
    for i in range(len(train)):
        kinds.setdefault(train[i]['data_samples'].metainfo['target_type'], i)
        if len(kinds) == 3:
            break
    assert set(kinds) == {'none', 'single', 'multi'}
    batch = [train[i] for i in kinds.values()]
    none = train[kinds['none']]['data_samples']
    assert none.metainfo['no_target'] and len(none.gt_instances) == 0
    assert tuple(none.ori_gt_masks.shape[:1]) == (0, )
    multi = train[kinds['multi']]['data_samples']
    assert len(multi.gt_instances) >= 2 and multi.ori_gt_masks.shape[0] == len(
        multi.gt_instances)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    data = model.data_preprocessor(pseudo_collate(batch), True)
    losses = model.loss(data['inputs'], data['data_samples'])
    assert 'loss_score' in losses
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    model.eval()
    test = [val[i] for i in range(min(4, len(val)))]
    with torch.no_grad():
        out = model.test_step(pseudo_collate(test))
    for s in out:
        k = len(s.pred_instances)
        assert s.pred_instances.masks.shape == (k, *s.metainfo['ori_shape'][:2])
