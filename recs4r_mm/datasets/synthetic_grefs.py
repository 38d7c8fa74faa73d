"""The embedded synthetic *generalized* referring set (no-target and multi-target expressions):
generated on first use, read by the gRefCOCO loader.

No paper part; docs/datasets.md "Synthetic remote-sensing set"; the generator:
docs/synthetic_data.md "Generalized set".
"""
from recs4r_mm.registry import DATASETS
from .grefcoco import GRefCOCODataset
from .synthetic import ensure_synthetic_grefs
from .synthetic_refrs import SyntheticRefRSDataset


@DATASETS.register_module()
class SyntheticGRefRSDataset(GRefCOCODataset):
    """The synthetic remote-sensing scenes with single-, multi- and no-target expressions, in
    gRefCOCO's layout (``grefs(unc).json``, ``instances.json``, ``images/``), generated into
    ``data_root`` if missing.

    Args:
        data_root (str): where the dataset lives (generated there when ``meta.json`` is missing
            or records other generator settings).
        split (str): ``'train'``, ``'val'`` or ``'test'``.
        generator (dict): arguments of :func:`ensure_synthetic_grefs` (``num_images``,
            ``image_size``, ``no_target_rate``, ``multi_target_rate``, ...).
        **kwargs: :class:`GRefCOCODataset` arguments.
    """
    METAINFO = dict(GRefCOCODataset.METAINFO,
                    category_names=SyntheticRefRSDataset.METAINFO['category_names'])

    def __init__(self, data_root: str, split: str = 'train', generator: dict = None, **kwargs):
        ensure_synthetic_grefs(data_root, **(generator or {}))
        kwargs.setdefault('ann_file', 'instances.json')
        kwargs.setdefault('split_file', 'grefs(unc).json')
        kwargs.setdefault('data_prefix', dict(img_path='images/'))
        super().__init__(data_root=data_root, split=split, **kwargs)
