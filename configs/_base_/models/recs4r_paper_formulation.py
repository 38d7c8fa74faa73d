# The paper's formulation of RECS4R, for comparison with the shared recipe (recs4r_recipe.py;
# docs/design.md §10). A config switches to it by adding this file to its _base_ list and
#   model = {{_base_.paper_formulation}}
# (see configs/paper/). What changes: 4 token classes (no HOLE), direct regression of the
# vertices, plain teacher forcing, no grounding head, CIMF adds the attended text, the coarse
# pass supervised by L_coarse only (lambda 1:1:0.1:0.1 and nothing else), one fine pass on
# T_f = template + expression read by BERT, the fine stage trained on GT boxes jittered as
# little as the crop margin of 0.2.
paper_formulation = dict(
    neck=dict(text_fusion='add'),
    head=dict(reg_mode='direct', train_cfg=dict(input_coord_noise=0.0, self_feed_prob=0.0),
              test_cfg=dict(allow_holes=False)),
    aux_head=None,
    rce=dict(channel_source='global'),
    refine=dict(margin=0.2, fine_text='encode', train_crop='gt_jitter', jitter_shift=0.1,
                jitter_scale=0.15, test_passes=1),
    sequence_coder=dict(with_holes=False, seq_format='contour'),
    coarse_seq_loss_weight=0.0)
