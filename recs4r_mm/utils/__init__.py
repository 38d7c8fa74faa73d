"""Tool and runtime helpers (no paper part): default scope, CPU distributed runs, config set-up
(docs/get_started.md §6, docs/plugins.md "Scope notes")."""
from .config_packages import fix_config_package_names
from .dist import finish_distributed, setup_cpu_distributed
from .moved_options import reject_moved_options
from .scope import DEFAULT_SCOPE, setup_default_scope
from .tool_config import load_tool_config

__all__ = [
    'DEFAULT_SCOPE', 'setup_default_scope', 'setup_cpu_distributed', 'finish_distributed',
    'fix_config_package_names', 'load_tool_config', 'reject_moved_options'
]
