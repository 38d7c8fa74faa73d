# Stock mmseg UperNet (160k ADE20K 512x512) with the VMamba-T backbone from recs4r_mm.
# Only the backbone and the heads' input widths change (and the R-50 `pretrained` is cleared,
# which EncoderDecoder would otherwise push into the backbone).
_base_ = ['mmseg::upernet/upernet_r50_4xb4-160k_ade20k-512x512.py']
custom_imports = dict(imports=['recs4r_mm'], allow_failed_imports=False)

pretrained = 'https://github.com/MzeroMiko/VMamba/releases/download/%23v2cls/vssm1_tiny_0230s_ckpt_epoch_264.pth'  # noqa: E501

model = dict(
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='VMamba',
        arch='tiny',
        drop_path_rate=0.2,
        out_indices=(0, 1, 2, 3),
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    decode_head=dict(in_channels=[96, 192, 384, 768]),
    auxiliary_head=dict(in_channels=384))
