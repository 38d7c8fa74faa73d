# Stock mmdet Mask R-CNN (R-50 FPN, 1x COCO) with the GradientConsistencyLoss from recs4r_mm added
# to the mask head's binary cross-entropy. FCNMaskHead builds ONE `loss_mask` and calls it as
# loss_mask(mask_logits (N, C, 28, 28), mask_targets (N, 28, 28), labels (N,)), so the two terms
# are summed by `CompositeLoss`, which calls each listed loss with those arguments. GCL alone
# would not do as a mask loss: it compares edge magnitudes only, so it cannot tell a mask from
# its complement; it sharpens the boundary on top of the region term.
_base_ = ['mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py']
custom_imports = dict(imports=['recs4r_mm'], allow_failed_imports=False)

model = dict(
    roi_head=dict(
        mask_head=dict(
            loss_mask=dict(
                _delete_=True,
                type='CompositeLoss',
                losses=[
                    dict(type='CrossEntropyLoss', use_mask=True, loss_weight=1.0),
                    # 'sigmoid': the mask head outputs logits; the labels pick each RoI's channel
                    dict(type='GradientConsistencyLoss', activation='sigmoid',
                         loss_weight=0.1),  # lambda_4 = 0.1 as in RECS4R
                ]))))
