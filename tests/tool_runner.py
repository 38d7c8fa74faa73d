"""Runs the repo's tools the way a user does (a subprocess from a work directory)."""
import os
import os.path as osp
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def run_tool(args, cwd, timeout=300, env=None):
    """Run a repo tool (``tools/...py`` or ``.sh``) as a user would; fail with its output."""
    script = osp.join(REPO, args[0])
    cmd = (['bash', script] if script.endswith('.sh') else [sys.executable, script]) + args[1:]
    full_env = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS='1')
    full_env.update(env or {})
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=full_env)
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        pytest.fail(f'{" ".join(args)} exited {proc.returncode}:\n{output[-6000:]}')
    return output
