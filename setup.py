"""recs4r_mm: RECS4R (CVPR 2026) as an OpenMMLab 3.x plugin.

The heavy stack (torch, mmcv with compiled ops, the mm packages) is installed by
``bash tools/install.sh``; ``install_requires`` lists it without pins on torch so pip never swaps the
torch build a user already has.
"""
import os.path as osp

from setuptools import find_packages, setup


def read_requirements(name):
    path = osp.join(osp.dirname(__file__), 'requirements', name)
    with open(path) as f:
        return [line.split('#')[0].strip() for line in f if line.split('#')[0].strip()]


def read_version():
    scope = {}
    with open(osp.join(osp.dirname(__file__), 'recs4r_mm', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


setup(
    name='recs4r_mm',
    version=read_version(),
    description='RECS4R: unified referring grounding and segmentation by contour decoding, for OpenMMLab',
    long_description=open(osp.join(osp.dirname(__file__), 'README.md')).read()
    if osp.exists(osp.join(osp.dirname(__file__), 'README.md')) else '',
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('configs', 'tools', 'demo', 'tests', 'docs')),
    python_requires='>=3.9',
    install_requires=read_requirements('mminstall.txt') + read_requirements('runtime.txt'),
    extras_require={
        'tests': read_requirements('tests.txt'),
        'mamba': read_requirements('optional.txt'),
    },
    license='Apache-2.0',
    zip_safe=False,
)
