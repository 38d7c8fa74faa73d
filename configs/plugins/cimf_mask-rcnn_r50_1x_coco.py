# Stock mmdet Mask R-CNN (R-50, 1x COCO) with the CIMF neck from recs4r_mm in place of FPN.
# CIMF in 'multi' mode fuses all four ResNet levels on each level's own grid (strides 4/8/16/32)
# and adds a max-pooled stride-64 level, i.e. the 5 x 256-channel pyramid the RPN and the RoI
# extractors of the base config expect. Everything else is mmdet's own config.
_base_ = ['mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py']
custom_imports = dict(imports=['recs4r_mm'], allow_failed_imports=False)

model = dict(
    neck=dict(
        _delete_=True,
        type='CIMF',
        in_channels=[256, 512, 1024, 2048],
        cm_channels=64,  # C_m per scale; 4 levels x 64 = 256 fused channels
        out_mode='multi',
        out_channels=256,
        num_outs=5,
        text_channels=None))  # no referring expression in COCO: plain visual neck
