"""Data preprocessors."""
from .recs_data_preprocessor import RECSDataPreprocessor

__all__ = ['RECSDataPreprocessor']
