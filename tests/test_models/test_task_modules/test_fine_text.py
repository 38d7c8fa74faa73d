"""Fine-stage text template."""
import pytest

from recs4r_mm.models.task_modules import FineTextTemplate


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
