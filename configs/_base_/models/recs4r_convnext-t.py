# RECS4R with an mmpretrain ConvNeXt-T backbone (feature maps: gap_before_final_norm=False).
_base_ = ['./recs4r_swin-t.py']
convnext_pretrained = 'https://mmassets.onedl.ai/mmclassification/v0/convnext/convnext-tiny_32xb128-noema_in1k_20221208-5d4509c7.pth'  # noqa

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmpretrain.ConvNeXt',
        arch='tiny',
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.4,
        layer_scale_init_value=1.0,
        gap_before_final_norm=False,
        init_cfg=dict(type='Pretrained', checkpoint=convnext_pretrained,
                      prefix='backbone.')),
    neck=dict(in_channels=[96, 192, 384, 768]))
