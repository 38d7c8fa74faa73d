"""The embedded synthetic referring dataset: generated on first use, read by the RefDIOR loader.

No paper part; docs/datasets.md "Synthetic remote-sensing set"; the generator:
docs/synthetic_data.md.
"""
from recs4r_mm.registry import DATASETS
from .phrase_json import PhraseJsonDataset
from .synthetic import CATEGORIES, ensure_synthetic_refrs


@DATASETS.register_module()
class SyntheticRefRSDataset(PhraseJsonDataset):
    """The synthetic remote-sensing set (RefDIOR layout), generated into ``data_root`` if missing.

    Args:
        data_root (str): where the dataset lives (generated there when ``meta.json`` is missing
            or records other generator settings).
        split (str): ``'train'``, ``'val'`` or ``'test'``.
        generator (dict): arguments of :func:`ensure_synthetic_refrs` (``num_images``,
            ``image_size``, ``seed``, ...). Several processes may build the dataset at once.
        **kwargs: :class:`PhraseJsonDataset` arguments.
    """
    # The generator's categories (a sample's ``category`` spells them with '_': 'storage_tank').
    # Not in FineTextTemplate's default vocabulary (DIOR, RefSegRS and COCO names only).
    METAINFO = dict(PhraseJsonDataset.METAINFO,
                    category_names=tuple(name.replace('_', ' ') for name in CATEGORIES))

    def __init__(self, data_root: str, split: str = 'train', generator: dict = None, **kwargs):
        ensure_synthetic_refrs(data_root, **(generator or {}))
        kwargs.setdefault('img_suffix', '.png')
        super().__init__(data_root=data_root, split=split, **kwargs)
