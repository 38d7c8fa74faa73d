# Stock mmseg UperNet (R-50, 160k ADE20K 512x512) with the GradientConsistencyLoss from recs4r_mm
# added to the decode head's cross-entropy (mmseg decode heads sum a list of losses, each logged
# under its `loss_name`). 'softmax' compares the Sobel edge maps of the class probabilities with
# those of the one-hot labels (ignore_index pixels are masked out).
_base_ = ['mmseg::upernet/upernet_r50_4xb4-160k_ade20k-512x512.py']
custom_imports = dict(imports=['recs4r_mm'], allow_failed_imports=False)

model = dict(
    decode_head=dict(loss_decode=[
        dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
        dict(type='GradientConsistencyLoss', activation='softmax', loss_weight=0.1,
             loss_name='loss_gcl'),
    ]))
