"""The repo's command-line scripts (demo/*.py, tools/*.py) imported as modules, so that a test
can call their functions in-process with the model stubbed."""
import importlib.util
import os.path as osp

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_script(path: str):
    """The module of the script ``path`` (relative to the repo), freshly executed."""
    name = osp.splitext(osp.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, osp.join(REPO, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
