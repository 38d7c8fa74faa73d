"""Image loading that keeps decoded images in memory, for datasets that fit there.

No paper part; docs/datasets.md "Pipelines".
"""
import os
from collections import OrderedDict
from typing import Hashable, Optional

from mmcv.transforms import LoadImageFromFile

from recs4r_mm.registry import TRANSFORMS


@TRANSFORMS.register_module()
class CachedLoadImageFromFile(LoadImageFromFile):
    """mmcv ``LoadImageFromFile`` with a least-recently-used cache of decoded images.

    A dataset with many expressions per image decodes each image many times an epoch; the
    synthetic main job's noise-textured 384 px PNGs take about 5 ms each, about 11 % of a CPU
    training iteration. The cache holds each file's decoded array (after ``to_float32``) until
    it would exceed ``max_cache_mb``, then drops the least recently used. A local file is known
    by its device, inode, size and modification time, so hard links to one file (the RefDIOR
    layout's one image per object) share an entry and a rewritten file is decoded again; other
    paths (``backend_args`` storage) by their name. Every call gets its own copy, so later
    transforms may change it in place. Each dataloader worker has its own cache.

    Args:
        max_cache_mb (float): bound on the cached arrays' total size in MiB; 0 disables the
            cache (plain ``LoadImageFromFile``). An image larger than the bound is not cached.
        **kwargs: ``LoadImageFromFile`` args (``color_type``, ``backend_args``...).
    """

    def __init__(self, max_cache_mb: float = 1024, **kwargs):
        super().__init__(**kwargs)
        if not max_cache_mb >= 0:
            raise ValueError(f'max_cache_mb must be >= 0, got {max_cache_mb!r}')
        self.max_cache_bytes = int(max_cache_mb * 2**20)
        self._cache = OrderedDict()  # file key -> read-only decoded array
        self._cache_bytes = 0

    @property
    def cache_info(self) -> dict:
        """Number of cached images and their size in bytes."""
        return dict(images=len(self._cache), bytes=self._cache_bytes)

    @staticmethod
    def _file_key(path: str) -> Hashable:
        try:
            st = os.stat(path)
        except (OSError, TypeError, ValueError):  # not a local file: mmengine.fileio reads it
            return path
        return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns

    def transform(self, results: dict) -> Optional[dict]:
        key = self._file_key(results['img_path'])
        img = self._cache.get(key)
        if img is None:
            results = super().transform(results)
            if results is None:  # ignore_empty
                return None
            if self._put(key, results['img']):  # the cache keeps this array: hand out a copy
                results['img'] = results['img'].copy()
            return results
        self._cache.move_to_end(key)
        results['img'] = img.copy()
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def _put(self, key: Hashable, img) -> bool:
        """Cache ``img`` (made read-only) under ``key``; False when it exceeds the bound."""
        if img.nbytes > self.max_cache_bytes:
            return False
        while self._cache_bytes + img.nbytes > self.max_cache_bytes:
            _, old = self._cache.popitem(last=False)
            self._cache_bytes -= old.nbytes
        img.flags.writeable = False
        self._cache[key] = img
        self._cache_bytes += img.nbytes
        return True

    def __repr__(self) -> str:
        return f'{super().__repr__()[:-1]}, max_cache_mb={self.max_cache_bytes / 2**20:g})'
