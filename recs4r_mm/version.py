"""Version of recs4r_mm (the RECS4R, CVPR 2026, plugin; docs/installation.md)."""
__version__ = '0.1.0'
