"""Fine-stage text template."""
import pytest

from recs4r_mm.datasets import RefDIORDataset, SyntheticRefRSDataset
from recs4r_mm.models.task_modules import FineTextTemplate, fine_text
from recs4r_mm.registry import TASK_UTILS

# The default vocabulary as it was hard-coded in fine_text.py before the class-name lists moved
# into the datasets' METAINFO: DIOR + RefSegRS + COCO names, first seen first. It must not
# change: the category word it picks is part of T_f, hence of every prediction.
DEFAULT_BEFORE = (
    'airplane', 'airport', 'baseball field', 'basketball court', 'bridge', 'chimney', 'dam',
    'expressway service area', 'expressway toll station', 'golf field', 'golf course',
    'ground track field', 'harbor', 'overpass', 'ship', 'stadium', 'storage tank', 'tennis court',
    'train station', 'vehicle', 'windmill',
    'road', 'car', 'van', 'building', 'truck', 'trailer', 'bus', 'road marking', 'bikeway',
    'sidewalk', 'tree', 'low vegetation', 'impervious surface',
    'person', 'bicycle', 'motorcycle', 'train', 'boat', 'traffic light', 'fire hydrant',
    'stop sign', 'parking meter', 'bench', 'bird', 'cat', 'dog', 'horse', 'sheep', 'cow',
    'elephant', 'bear', 'zebra', 'giraffe', 'backpack', 'umbrella', 'handbag', 'tie', 'suitcase',
    'frisbee', 'skis', 'snowboard', 'sports ball', 'kite', 'baseball bat', 'baseball glove',
    'skateboard', 'surfboard', 'tennis racket', 'bottle', 'wine glass', 'cup', 'fork', 'knife',
    'spoon', 'bowl', 'banana', 'apple', 'sandwich', 'orange', 'broccoli', 'carrot', 'hot dog',
    'pizza', 'donut', 'cake', 'chair', 'couch', 'potted plant', 'bed', 'dining table', 'toilet',
    'tv', 'laptop', 'mouse', 'remote', 'keyboard', 'cell phone', 'microwave', 'oven', 'toaster',
    'sink', 'refrigerator', 'book', 'clock', 'vase', 'scissors', 'teddy bear', 'hair drier',
    'toothbrush')


def test_template_words():
    t = FineTextTemplate()
    out = t('the large storage tank on the left', (0.0, 0.4, 0.2, 0.6))
    assert out == ('the medium storage tank in the left of the image '
                   'the large storage tank on the left')
    assert t.size_word(0.001) == 'tiny' and t.size_word(0.5) == 'large'
    assert t.position_word(0.1, 0.1) == 'upper left'
    assert t.position_word(0.5, 0.5) == 'middle'
    assert t.position_word(0.99, 0.99) == 'lower right'
    assert t.position_word(1.0, 0.5) == 'right'


def test_category_matching_and_head_noun():
    t = FineTextTemplate()
    assert t.category('two tennis courts next to the road') == 'tennis court'
    assert t.category('A Ground Track Field, top right') == 'ground track field'
    # no class name: head noun of the first noun phrase
    assert t.category('the gray roundabout near the river') == 'roundabout'
    assert t.category('leftmost silo which is white') == 'silo'
    assert t.category('on the left') == 'object'
    custom = FineTextTemplate(class_names=['silo'], append_expression=False,
                              template='{category}|{size}|{position}')
    assert custom('the white silo', (0.4, 0.4, 0.6, 0.6)) == 'silo|medium|middle'
    with pytest.raises(ValueError, match='size word'):
        FineTextTemplate(size_thresholds=(0.1, ), size_words=('a', 'b', 'c'))


def test_default_vocabulary_from_dataset_metainfo():
    assert fine_text.default_class_names() == DEFAULT_BEFORE
    t = FineTextTemplate()
    assert set(t.class_names) == set(DEFAULT_BEFORE)
    assert len(t.class_names) == len(DEFAULT_BEFORE)
    lengths = [len(n) for n in t.class_names]
    assert lengths == sorted(lengths, reverse=True)  # longest name matched first
    # the synthetic set's own categories stay out of the default (they would change T_f)
    synth_only = set(SyntheticRefRSDataset.METAINFO['category_names']) - set(DEFAULT_BEFORE)
    assert synth_only and not synth_only & set(t.class_names)
    assert FineTextTemplate().category('the pair of storage tanks') == 'storage tank'
    # a config may name another vocabulary, e.g. one dataset's METAINFO
    dior = TASK_UTILS.build(dict(type='FineTextTemplate',
                                 class_names=RefDIORDataset.METAINFO['category_names']))
    assert set(dior.class_names) == set(RefDIORDataset.METAINFO['category_names'])
    assert dior.category('the red truck near the dam') == 'dam'


@pytest.mark.parametrize('name', ['DIOR_CLASSES', 'REFSEGRS_CLASSES', 'COCO_CLASSES',
                                  'DEFAULT_CLASS_NAMES'])
def test_moved_names_say_where(name):
    with pytest.raises(AttributeError, match=f'{name} moved: use .*'):
        getattr(fine_text, name)
    with pytest.raises(AttributeError, match='no attribute'):
        fine_text.NOT_A_NAME  # noqa: B018


def test_category_ties_do_not_depend_on_the_hash_seed():
    """Equal-length names are ordered by name (a total order), not by the set's hash order, so
    every process picks the same word: 'boat' before 'ship', 'stadium' before 'vehicle'."""
    for names in (['ship', 'boat', 'vehicle', 'stadium'], ['stadium', 'vehicle', 'boat', 'ship']):
        t = FineTextTemplate(class_names=names)
        assert t.class_names == ['stadium', 'vehicle', 'boat', 'ship']
        assert t.category('the ship next to the boat') == 'boat'
        assert t.category('a vehicle near the stadium') == 'stadium'
