# Paper ablation (RefDIOR test, Swin-T), row 1: PolyFormer-style baseline
# (no LUCDP, RCE, CIMF, GCL).
# Switches: LUCDP=off RCE=off CIMF=off GCL=off
_base_ = ['../recs4r_swin-t_refdior.py']

model = dict(
    head=dict(seq_format='box_polygon',
              loss_gcl=dict(loss_weight=0.0)),
    # CIMF off: FPN-style sum of the scales, no scale weights / text gates / attention
    neck=dict(fusion_mode='sum', use_scale_weights=False, use_text_gate=False,
              use_cross_attn=False),
    # RCE off: single stage (no crop, no fine pass, no L_coarse)
    refine=dict(enable=False))
