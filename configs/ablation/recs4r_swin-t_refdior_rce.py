# Paper ablation (RefDIOR test, Swin-T), row 3: + RCE only.
# Switches: LUCDP=off RCE=on CIMF=off GCL=off
_base_ = ['../recs4r_swin-t_refdior.py']

model = dict(
    head=dict(seq_format='box_polygon',
              loss_gcl=dict(loss_weight=0.0)),
    # CIMF off: FPN-style sum of the scales, no scale weights / text gates / attention
    neck=dict(fusion_mode='sum', use_scale_weights=False, use_text_gate=False,
              use_cross_attn=False),
    refine=dict(enable=True))
