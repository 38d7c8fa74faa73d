# Paper ablation (RefDIOR test, Swin-T), row 6: full RECS4R (LUCDP + RCE + CIMF + GCL).
# Switches: LUCDP=on RCE=on CIMF=on GCL=on
_base_ = ['../recs4r_swin-t_refdior.py']

model = dict(
    sequence_coder=dict(seq_format='contour'),
    head=dict(loss_gcl=dict(loss_weight=0.1)),
    neck=dict(variant='cimf'),
    refine=dict())
