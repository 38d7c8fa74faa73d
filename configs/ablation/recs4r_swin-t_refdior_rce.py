# Paper ablation (RefDIOR test, Swin-T), row 3: + RCE only.
# Switches: LUCDP=off RCE=on CIMF=off GCL=off
_base_ = ['../recs4r_swin-t_refdior.py']

model = dict(
    sequence_coder=dict(seq_format='box_polygon'),
    head=dict(loss_gcl=dict(loss_weight=0.0)),
    # CIMF off: FPN-style sum of the scales, no scale weights / text gates / attention
    neck=dict(variant='fpn_sum'),
    refine=dict())
