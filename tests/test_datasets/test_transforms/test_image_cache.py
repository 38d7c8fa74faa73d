"""CachedLoadImageFromFile: the same pixels as LoadImageFromFile, decoded once per file."""
import cv2
import numpy as np
import pytest
from mmcv.transforms import LoadImageFromFile

from recs4r_mm.datasets.transforms import CachedLoadImageFromFile


def _write(tmp_path, name, value, size=(6, 5)):
    img = np.full(size + (3, ), value, np.uint8)
    img[0, 0] = (1, 2, 3)
    path = str(tmp_path / name)
    cv2.imwrite(path, img)
    return path


def test_same_pixels_decoded_once_and_copies_handed_out(tmp_path, monkeypatch):
    path = _write(tmp_path, 'a.png', 7)
    plain = LoadImageFromFile()(dict(img_path=path))
    t = CachedLoadImageFromFile(max_cache_mb=1)
    decodes = []
    real = LoadImageFromFile.transform
    monkeypatch.setattr(LoadImageFromFile, 'transform',
                        lambda self, r: decodes.append(r['img_path']) or real(self, r))
    first = t(dict(img_path=path))
    first['img'][:] = 0  # a later transform writing in place must not reach the cache
    second = t(dict(img_path=path))
    assert decodes == [path]
    np.testing.assert_array_equal(second['img'], plain['img'])
    assert second['img'].flags.writeable and second['img'] is not first['img']
    assert second['ori_shape'] == second['img_shape'] == (6, 5)
    assert t.cache_info == dict(images=1, bytes=6 * 5 * 3)


def test_least_recently_used_is_dropped_at_the_bound(tmp_path):
    paths = [_write(tmp_path, f'{i}.png', 10 * i) for i in range(3)]
    t = CachedLoadImageFromFile(max_cache_mb=2 * 90 / 2**20)  # room for two 6x5x3 images
    t(dict(img_path=paths[0]))
    t(dict(img_path=paths[1]))
    t(dict(img_path=paths[0]))  # 0 is now the most recent: 1 goes when 2 arrives
    t(dict(img_path=paths[2]))
    assert list(t._cache) == [t._file_key(paths[0]), t._file_key(paths[2])]
    assert t.cache_info['bytes'] == 180
    assert t(dict(img_path=paths[1]))['img'][1, 1, 0] == 10  # decoded again, right pixels


def test_disabled_cache_and_bad_bound(tmp_path):
    path = _write(tmp_path, 'a.png', 3)
    t = CachedLoadImageFromFile(max_cache_mb=0)
    assert t(dict(img_path=path))['img'][2, 2, 0] == 3 and t.cache_info['images'] == 0
    with pytest.raises(ValueError, match='max_cache_mb'):
        CachedLoadImageFromFile(max_cache_mb=-1)
    with pytest.raises(FileNotFoundError):
        t(dict(img_path=str(tmp_path / 'missing.png')))


def test_hard_links_share_an_entry_and_a_rewritten_file_is_decoded_again(tmp_path):
    import os
    path = _write(tmp_path, 'a.png', 5)
    os.link(path, str(tmp_path / 'b.png'))  # the RefDIOR layout: one linked image per object
    t = CachedLoadImageFromFile()
    t(dict(img_path=path))
    assert t(dict(img_path=str(tmp_path / 'b.png')))['img'][3, 3, 0] == 5
    assert t.cache_info['images'] == 1
    os.remove(path)
    _write(tmp_path, 'a.png', 9, size=(4, 4))  # a new file under the old name
    out = t(dict(img_path=path))
    assert out['img'][3, 3, 0] == 9 and out['ori_shape'] == (4, 4)
