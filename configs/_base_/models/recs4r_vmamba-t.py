# RECS4R with our VMamba-T backbone (VSSM, pure-PyTorch selective scan on CPU, fused kernel on
# CUDA when mamba_ssm is installed). Official vssm1_tiny_0230s keys load as-is (docs/vmamba.md).
_base_ = ['./recs4r_swin-t.py']
vmamba_pretrained = 'https://github.com/MzeroMiko/VMamba/releases/download/%23v2cls/vssm1_tiny_0230s_ckpt_epoch_264.pth'  # noqa

model = dict(
    backbone=dict(
        _delete_=True,
        type='VMamba',
        arch='tiny',
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.2,
        init_cfg=dict(type='Pretrained', checkpoint=vmamba_pretrained)),
    neck=dict(in_channels=[96, 192, 384, 768]))
