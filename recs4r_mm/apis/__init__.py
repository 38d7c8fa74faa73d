from .inferencer import RECSInferencer

__all__ = ['RECSInferencer']
