# Paper ablation (RefDIOR test, Swin-T), row 5: + GCL only.
# Switches: LUCDP=off RCE=off CIMF=off GCL=on
_base_ = ['../recs4r_swin-t_refdior.py']

model = dict(
    head=dict(seq_format='box_polygon',
              loss_gcl=dict(loss_weight=0.1)),
    # CIMF off: FPN-style sum of the scales, no scale weights / text gates / attention
    neck=dict(fusion_mode='sum', use_scale_weights=False, use_text_gate=False,
              use_cross_attn=False),
    # RCE off: single stage (no crop, no fine pass, no L_coarse)
    refine=dict(enable=False))
