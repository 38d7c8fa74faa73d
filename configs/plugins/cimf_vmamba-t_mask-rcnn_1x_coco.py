# Stock mmdet Mask R-CNN with two recs4r_mm parts swapped in: the VMamba-T backbone (see
# vmamba-t_mask-rcnn_1x_coco.py) and the CIMF neck in place of FPN (see
# cimf_mask-rcnn_r50_1x_coco.py), fed with VMamba-T's 96/192/384/768-channel stages.
_base_ = ['./vmamba-t_mask-rcnn_1x_coco.py']
custom_imports = dict(imports=['recs4r_mm'], allow_failed_imports=False)

model = dict(
    neck=dict(
        _delete_=True,
        type='CIMF',
        in_channels=[96, 192, 384, 768],
        cm_channels=64,
        out_mode='multi',
        out_channels=256,
        num_outs=5,
        text_channels=None))
