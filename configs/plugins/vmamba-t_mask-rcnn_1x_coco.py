# Stock mmdet Mask R-CNN (R-50 FPN 1x COCO) with the VMamba-T backbone from recs4r_mm.
# Only the backbone and the FPN input widths change; everything else is mmdet's own config.
# Optimiser tip (not applied here): paramwise_cfg=dict(custom_keys={'A_logs': dict(decay_mult=0.),
# 'Ds': dict(decay_mult=0.), 'norm': dict(decay_mult=0.)}) as in the VMamba release.
_base_ = ['mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py']
custom_imports = dict(imports=['recs4r_mm'], allow_failed_imports=False)

# official ImageNet-1k VMamba-T ("vssm1_tiny_0230s", 82.6 % top-1); keys map as in docs/vmamba.md
pretrained = 'https://github.com/MzeroMiko/VMamba/releases/download/%23v2cls/vssm1_tiny_0230s_ckpt_epoch_264.pth'  # noqa: E501

model = dict(
    backbone=dict(
        _delete_=True,
        type='VMamba',
        arch='tiny',
        drop_path_rate=0.2,
        out_indices=(0, 1, 2, 3),
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(in_channels=[96, 192, 384, 768]))
