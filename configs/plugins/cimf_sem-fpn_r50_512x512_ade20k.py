# Stock mmseg Semantic FPN (R-50, 160k ADE20K 512x512) with the CIMF neck from recs4r_mm in
# place of FPN: 4 outputs of 256 channels at strides 4/8/16/32, as the FPNHead of the base
# config expects (in_channels=[256] * 4, feature_strides=[4, 8, 16, 32]).
_base_ = ['mmseg::sem_fpn/fpn_r50_4xb4-160k_ade20k-512x512.py']
custom_imports = dict(imports=['recs4r_mm'], allow_failed_imports=False)

model = dict(
    neck=dict(
        _delete_=True,
        type='CIMF',
        in_channels=[256, 512, 1024, 2048],
        cm_channels=64,
        out_mode='multi',
        out_channels=256,
        num_outs=4,
        text_channels=None))
