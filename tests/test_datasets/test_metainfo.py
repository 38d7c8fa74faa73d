"""Dataset METAINFO: the instance label stays ``classes=('object',)``; ``category_names`` holds
each dataset's object categories (the fine-text template's vocabulary, docs/design.md §3)."""
import pytest
from mmengine.registry import init_default_scope
from recs_data_builders import build_phrase_json

from recs4r_mm.datasets import (BaseReferringDataset, DIORRSVGDataset, PhraseJsonDataset,
                                RefDIORDataset, ReferDataset, RefSegRSDataset, RRSISDDataset,
                                RRSISDTxtDataset, SyntheticRefRSDataset)
from recs4r_mm.datasets.synthetic import CATEGORIES
from recs4r_mm.registry import DATASETS

ALL = (BaseReferringDataset, PhraseJsonDataset, RefDIORDataset, DIORRSVGDataset, RRSISDDataset,
       RRSISDTxtDataset, ReferDataset, RefSegRSDataset, SyntheticRefRSDataset)


@pytest.mark.parametrize('cls', ALL, ids=lambda c: c.__name__)
def test_instance_label_unchanged(cls):
    # bbox_label=0 of every sample indexes ``classes``; checkpoints store it as dataset_meta
    assert cls.METAINFO['classes'] == ('object', )
    assert cls.METAINFO['palette'] == [(220, 20, 60)]
    names = cls.METAINFO['category_names']
    assert isinstance(names, tuple) and len(set(names)) == len(names)
    assert all(n == n.lower().strip() and '_' not in n for n in names)


def test_category_names_per_dataset():
    dior = RefDIORDataset.METAINFO['category_names']
    assert len(dior) == 21 and {'storage tank', 'expressway toll station', 'windmill'} <= set(dior)
    # DIOR-RSVG and RRSIS-D (built on RSVGD, both layouts) use DIOR's categories
    for cls in (DIORRSVGDataset, RRSISDDataset, RRSISDTxtDataset):
        assert cls.METAINFO['category_names'] == dior
    assert len(ReferDataset.METAINFO['category_names']) == 80
    assert 'teddy bear' in ReferDataset.METAINFO['category_names']
    assert 'impervious surface' in RefSegRSDataset.METAINFO['category_names']
    # the general phrase-json reader knows no categories
    assert BaseReferringDataset.METAINFO['category_names'] == ()
    assert PhraseJsonDataset.METAINFO['category_names'] == ()
    synth = SyntheticRefRSDataset.METAINFO['category_names']
    assert synth == tuple(c.replace('_', ' ') for c in CATEGORIES)
    assert 'storage tank' in synth and 'tank pair' in synth


def test_metainfo_override(tmp_path):
    init_default_scope('mmdet')
    build_phrase_json(tmp_path)
    ds = DATASETS.build(dict(type='RefDIORDataset', data_root=str(tmp_path), split='train'))
    assert ds.metainfo['category_names'] == RefDIORDataset.METAINFO['category_names']
    assert ds.metainfo['classes'] == ('object', )
    ds = DATASETS.build(dict(type='RefDIORDataset', data_root=str(tmp_path), split='train',
                             metainfo=dict(category_names=('silo', ))))
    assert ds.metainfo['category_names'] == ('silo', )
    assert ds.metainfo['classes'] == ('object', )
    assert RefDIORDataset.METAINFO['category_names'] != ('silo', )  # class attribute untouched
