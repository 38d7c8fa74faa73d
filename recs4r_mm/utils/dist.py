"""Multi-process runs on machines without CUDA (torch.distributed over gloo)."""
import torch


def setup_cpu_distributed(cfg):
    """Make a ``--launcher pytorch|slurm|mpi`` run work on CPU-only machines.

    mmengine defaults to the NCCL backend and wraps the model in DDP with
    ``device_ids=[LOCAL_RANK]``, both of which need CUDA. Without CUDA this switches the backend
    to gloo and passes ``device_ids=None`` (what DDP wants for CPU modules). A config that sets
    its own backend or ``model_wrapper_cfg`` keeps it.
    """
    if cfg.get('launcher', 'none') == 'none' or torch.cuda.is_available():
        return cfg
    env_cfg = cfg.setdefault('env_cfg', {})
    dist_cfg = env_cfg.setdefault('dist_cfg', {})
    if dist_cfg.get('backend', 'nccl') == 'nccl':
        dist_cfg['backend'] = 'gloo'
    if cfg.get('model_wrapper_cfg') is None:
        cfg.model_wrapper_cfg = dict(
            type='MMDistributedDataParallel', device_ids=None, broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
    return cfg
