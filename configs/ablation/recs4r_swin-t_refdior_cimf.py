# Paper ablation (RefDIOR test, Swin-T), row 4: + CIMF only.
# Switches: LUCDP=off RCE=off CIMF=on GCL=off
_base_ = ['../recs4r_swin-t_refdior.py']

model = dict(
    head=dict(seq_format='box_polygon',
              loss_gcl=dict(loss_weight=0.0)),
    neck=dict(fusion_mode='concat', use_scale_weights=True, use_text_gate=True,
              use_cross_attn=True),
    # RCE off: single stage (no crop, no fine pass, no L_coarse)
    refine=dict(enable=False))
