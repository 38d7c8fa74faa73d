from .scope import DEFAULT_SCOPE, setup_default_scope

__all__ = ['DEFAULT_SCOPE', 'setup_default_scope']
