"""Multi-process runs on machines without CUDA (torch.distributed over gloo).

No paper part; docs/get_started.md §6 "Several GPUs (or processes)".
"""
import logging
import os
import sys

import torch
import torch.distributed as torch_dist


def setup_cpu_distributed(cfg):
    """Make a ``--launcher pytorch`` run (``tools/dist_train.sh``) work on CPU-only machines.

    mmengine defaults to the NCCL backend, its pytorch launcher calls ``torch.cuda.set_device``,
    and it wraps the model in DDP with ``device_ids=[LOCAL_RANK]``: all three need CUDA. Without
    CUDA this switches the backend to gloo, initialises the process group itself (the Runner then
    skips its own initialisation) and passes ``device_ids=None``, which DDP wants for CPU modules.
    A config that sets its own non-NCCL backend or ``model_wrapper_cfg`` keeps it. Slurm/MPI
    launches are left to mmengine.
    """
    launcher = cfg.get('launcher', 'none')
    if launcher == 'none' or torch.cuda.is_available():
        return cfg
    env_cfg = cfg.setdefault('env_cfg', {})
    dist_cfg = env_cfg.setdefault('dist_cfg', {})
    if dist_cfg.get('backend', 'nccl') == 'nccl':
        dist_cfg['backend'] = 'gloo'
    if cfg.get('model_wrapper_cfg') is None:
        cfg.model_wrapper_cfg = dict(
            type='MMDistributedDataParallel', device_ids=None, broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
    if launcher == 'pytorch' and not torch_dist.is_initialized():
        torch_dist.init_process_group(backend=dist_cfg['backend'], rank=int(os.environ['RANK']),
                                      world_size=int(os.environ['WORLD_SIZE']))
    return cfg


def finish_distributed() -> None:
    """End a finished multi-process run of a tool cleanly (call it last in ``main``).

    Leaves the process group, then, in a distributed run only, flushes the logs and standard
    streams and ends the process with exit status 0 without the interpreter's teardown: a gloo
    rank whose C++ objects are destroyed at interpreter exit while one of their threads is still
    joinable aborts ("terminate called without an active exception", exit -6) after the work
    is done and saved, and torchrun then reports the whole run as failed. A single-process run
    returns normally.
    """
    if not (torch_dist.is_available() and torch_dist.is_initialized()):
        return
    torch_dist.barrier()  # every rank is done before any leaves
    torch_dist.destroy_process_group()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
