"""The shipped dataset configs agree with docs/datasets.md, and their splits exist.

* every ``configs/_base_/datasets/*.py`` (but the shared ``referring_base.py``) has a row in the
  docs' config table; its train/val/test loaders use that row's loader, ``data_root`` and
  splits, and that ``data_root`` is the root of the folder tree in the loader's docs section;
* every config's train/val/test dataset, pipeline included, builds and yields a sample on a
  tiny dataset laid out as documented with the public dataset's split names; a split name the
  dataset does not have fails, so the build really checks the split.
"""
import copy
import glob
import os.path as osp
import re

import pytest
from mmengine import Config
from mmengine.registry import init_default_scope
from recs_data_builders import build_phrase_json, build_refer_splits, build_refsegrs

import recs4r_mm.datasets  # noqa: F401  (registers)
from recs4r_mm.registry import DATASETS

init_default_scope('mmdet')

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DOCS = osp.join(REPO, 'docs', 'datasets.md')
CONFIG_DIR = osp.join(REPO, 'configs', '_base_', 'datasets')
SHARED_BASES = {'referring_base.py'}
CONFIGS = sorted(osp.basename(p) for p in glob.glob(osp.join(CONFIG_DIR, '*.py'))
                 if osp.basename(p) not in SHARED_BASES)
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')

# The split names each public dataset ships (what the tiny stand-ins below are built with).
PUBLIC_SPLITS = {
    'refcoco.py': ('train', 'val', 'testA', 'testB'),
    'refcoco+.py': ('train', 'val', 'testA', 'testB'),
    'refcocog.py': ('train', 'val', 'test'),  # umd partition
    'rrsisd.py': ('train', 'val', 'test'),
    'refdior.py': ('train', 'val', 'test'),
    'refsegrs.py': ('train', 'val', 'test'),
    'synthetic_refrs.py': ('train', 'val', 'test'),
}
TINY_SYNTHETIC = dict(num_images=10, image_size=64, seed=1)


def _build_tiny(config, root, splits):
    """Write a tiny stand-in of ``config``'s dataset, with ``splits``, into ``root``."""
    if config in ('refcoco.py', 'refcoco+.py', 'refcocog.py'):
        name = osp.splitext(config)[0]
        refs = 'refs(umd).p' if name == 'refcocog' else 'refs(unc).p'
        build_refer_splits(root, name=name, refs_file=refs, splits=splits)
    elif config == 'rrsisd.py':
        build_refer_splits(root, name='rrsisd', splits=splits, bbox_format='xyxy',
                           img_dir='images/rrsisd/JPEGImages')
    elif config == 'refdior.py':
        for split in splits:
            build_phrase_json(root, split=split)
    elif config == 'refsegrs.py':
        for split in splits:
            build_refsegrs(root, split=split)
    elif config != 'synthetic_refrs.py':  # the synthetic set generates itself
        raise AssertionError(f'no tiny stand-in for {config}: add one to this test')


def _docs():
    """``(table rows, sections)`` parsed from docs/datasets.md's "## Formats" part.

    rows: config file name -> dict(data_root, loader, splits (train, val, test));
    sections: list of dict(loaders, tree_root, example_roots, split_names).
    """
    with open(DOCS, encoding='utf-8') as f:
        text = f.read()
    assert '\n## Formats\n' in text, 'docs/datasets.md has no "## Formats" section'
    formats = text.split('\n## Formats\n', 1)[1].split('\n## ', 1)[0]
    intro, *chunks = re.split(r'\n### ', formats)
    rows = {}
    for line in intro.splitlines():
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if len(cells) != 4 or not cells[0].startswith('`') or 'configs/' in cells[0]:
            continue
        names = re.findall(r'`([^`]+\.py)`', cells[0])
        splits = tuple(re.findall(r'`(\w+)`', cells[3]))
        for name in names:
            assert name not in rows, f'{name} has two rows in the docs table'
            rows[name] = dict(data_root=cells[1].strip('`'), loader=cells[2].strip('`'),
                              splits=splits)
    sections = []
    for chunk in chunks:
        heading, body = chunk.split('\n', 1)
        blocks = re.findall(r'```(\w*)\n(.*?)```', body, re.S)
        trees = [b for lang, b in blocks if lang == '']
        assert trees, f'docs section "{heading}" has no folder tree'
        splits_line = re.search(r'^Splits: (.*)$', body, re.M)
        assert splits_line, f'docs section "{heading}" has no "Splits:" line'
        sections.append(dict(
            heading=heading,
            loaders=set(re.findall(r'`(\w+Dataset)`', heading)),
            tree_root=trees[0].splitlines()[0].strip(),
            example_roots=re.findall(r"data_root='([^']*)'",
                                     ''.join(b for lang, b in blocks if lang == 'python')),
            split_names=set(re.findall(r'`(\w+)`', splits_line.group(1)))))
    return rows, sections


DOC_ROWS, DOC_SECTIONS = _docs()


def _load(config):
    return Config.fromfile(osp.join(CONFIG_DIR, config))


def test_docs_parse_finds_every_format():
    # guards the parser: a renamed heading or a lost table would silently test nothing
    loaders = set().union(*(s['loaders'] for s in DOC_SECTIONS))
    assert {'ReferDataset', 'RRSISDDataset', 'RRSISDTxtDataset', 'RefDIORDataset',
            'RefSegRSDataset', 'DIORRSVGDataset', 'SyntheticRefRSDataset'} <= loaders
    assert set(DOC_ROWS) == set(CONFIGS), 'docs table rows != configs/_base_/datasets/*.py'
    for section in DOC_SECTIONS:
        assert section['tree_root'].startswith('data/') and section['tree_root'].endswith('/')
        # the section's own code examples use its tree root
        assert section['example_roots'], section['heading']
        assert set(section['example_roots']) == {section['tree_root']} or (
            # RefDIOR's section also shows PhraseJsonDataset on other data
            'PhraseJsonDataset' in section['loaders']
            and section['tree_root'] in section['example_roots']), section


@pytest.mark.parametrize('config', CONFIGS)
def test_config_data_root_and_splits_match_the_docs(config):
    cfg = _load(config)
    row = DOC_ROWS[config]
    datasets = [cfg[k].dataset for k in LOADERS]
    assert [d.type for d in datasets] == [row['loader']] * 3
    assert [d.data_root for d in datasets] == [row['data_root']] * 3
    assert tuple(d.split for d in datasets) == row['splits']
    assert [d.test_mode for d in datasets[1:]] == [True, True]
    assert not datasets[0].get('test_mode', False)
    sections = [s for s in DOC_SECTIONS if row['loader'] in s['loaders']]
    assert row['data_root'] in [s['tree_root'] for s in sections], (
        f'{config}: data_root {row["data_root"]!r} is not the folder tree root of a docs '
        f'section of {row["loader"]} ({[s["tree_root"] for s in sections]})')
    section = [s for s in sections if s['tree_root'] == row['data_root']][0]
    assert set(row['splits']) <= set(PUBLIC_SPLITS[config]) <= section['split_names']


@pytest.mark.parametrize('config', CONFIGS)
def test_config_datasets_build_with_their_splits(config, tmp_path):
    cfg = _load(config)
    splits = PUBLIC_SPLITS[config]
    root = str(tmp_path / 'data') + '/'
    _build_tiny(config, root, splits)
    lengths = []
    for key in LOADERS:
        ds_cfg = copy.deepcopy(cfg[key].dataset)
        ds_cfg.data_root = root
        if 'generator' in ds_cfg:
            ds_cfg.generator = TINY_SYNTHETIC
        ds = DATASETS.build(ds_cfg)
        assert ds.split in splits
        sample = ds[0]  # the config's own pipeline runs on it
        assert sample['data_samples'].gt_instances.masks.masks.any()
        lengths.append(len(ds))
    assert min(lengths) > 0
    bad = copy.deepcopy(cfg.train_dataloader.dataset)
    bad.update(data_root=root, split='no_such_split', pipeline=[])
    if 'generator' in bad:
        bad.generator = TINY_SYNTHETIC
    with pytest.raises((FileNotFoundError, ValueError), match='no_such_split'):
        DATASETS.build(bad)
