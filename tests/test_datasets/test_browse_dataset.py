"""tools/misc/browse_dataset.py on a tiny RefDIOR-format dataset."""
import importlib.util
import os.path as osp

import cv2
from recs_data_builders import build_dior_rsvg, build_phrase_json

TOOL = osp.join(osp.dirname(__file__), '..', '..', 'tools', 'misc', 'browse_dataset.py')


def _tool():
    spec = importlib.util.spec_from_file_location('browse_dataset', TOOL)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _config(path, dataset):
    path.write_text(f"""
default_scope = 'mmdet'
custom_imports = dict(imports=['recs4r_mm.datasets'], allow_failed_imports=False)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadRECSAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=(64, 64), keep_ratio=False),
    dict(type='PackDetInputs', meta_keys=('img_path', 'text', 'box_only')),
]
train_dataloader = dict(batch_size=1, dataset=dict({dataset}, pipeline=train_pipeline))
""")
    return str(path)


def test_browse_dataset_writes_pngs(tmp_path):
    root = build_phrase_json(tmp_path / 'refdior')
    cfg = _config(tmp_path / 'cfg.py',
                  f"type='RefDIORDataset', data_root=r'{root}', validate_masks=True")
    out = tmp_path / 'vis'
    written = _tool().main([cfg, '--output-dir', str(out), '--not-show', '--max-samples', '5',
                            '--num-vertices', '24'])
    assert len(written) == 2  # 2 valid refs in the builder's train split
    img = cv2.imread(written[1])
    assert img is not None and img.shape[1] == 512 and img.shape[0] > 512  # text band on top
    # the mask overlay (green-tinted) and the red contour are present
    assert (img[..., 2] > 200).sum() > 50 and (img[..., 1] > img[..., 2] + 60).sum() > 100


def test_browse_dataset_box_only(tmp_path):
    root = build_dior_rsvg(tmp_path / 'rsvg')
    cfg = _config(tmp_path / 'cfg.py', f"type='DIORRSVGDataset', data_root=r'{root}'")
    written = _tool().main([cfg, '--output-dir', str(tmp_path / 'vis'), '--not-show'])
    assert len(written) == 2 and all(osp.exists(p) for p in written)
