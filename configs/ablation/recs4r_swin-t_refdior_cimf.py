# Paper ablation (RefDIOR test, Swin-T), row 4: + CIMF only.
# Switches: LUCDP=off RCE=off CIMF=on GCL=off
_base_ = ['../recs4r_swin-t_refdior.py']

model = dict(
    sequence_coder=dict(seq_format='box_polygon'),
    head=dict(loss_gcl=dict(loss_weight=0.0)),
    neck=dict(variant='cimf'),
    # RCE off: single stage (no crop, no fine pass, no L_coarse)
    refine=None)
