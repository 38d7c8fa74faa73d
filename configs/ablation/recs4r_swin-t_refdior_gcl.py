# Paper ablation (RefDIOR test, Swin-T), row 5: + GCL only.
# Switches: LUCDP=off RCE=off CIMF=off GCL=on
_base_ = ['../recs4r_swin-t_refdior.py']

model = dict(
    sequence_coder=dict(seq_format='box_polygon'),
    head=dict(loss_gcl=dict(loss_weight=0.1)),
    # CIMF off: FPN-style sum of the scales, no scale weights / text gates / attention
    neck=dict(variant='fpn_sum'),
    # RCE off: single stage (no crop, no fine pass, no L_coarse)
    refine=None)
