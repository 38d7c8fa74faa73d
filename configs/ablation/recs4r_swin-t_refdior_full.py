# Paper ablation (RefDIOR test, Swin-T), row 6: full RECS4R (LUCDP + RCE + CIMF + GCL).
# Switches: LUCDP=on RCE=on CIMF=on GCL=on
_base_ = ['../recs4r_swin-t_refdior.py']

model = dict(
    head=dict(seq_format='contour',
              loss_gcl=dict(loss_weight=0.1)),
    neck=dict(fusion_mode='concat', use_scale_weights=True, use_text_gate=True,
              use_cross_attn=True),
    refine=dict(enable=True))
