# RECS4R with a Swin-T backbone (mmdet SwinTransformer), BERT-base text encoder, CIMF neck,
# multimodal encoder, LUCDP head, RCE coarse-to-fine, GCL. Every "R" has a switch:
#   LUCDP off: model.sequence_coder.seq_format='box_polygon'
#   RCE off:   model.refine=None (single stage)   [model.rce=None: fine stage w/o RCE]
#   CIMF off:  model.neck.variant='fpn_sum'
#   GCL off:   model.head.loss_gcl.loss_weight=0
embed_dims = 256
num_vertices = 64
swin_pretrained = 'https://github.com/SwinTransformer/storage/releases/download/v1.0.0/swin_tiny_patch4_window7_224.pth'  # noqa

model = dict(
    type='RECS4R',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=32),
    backbone=dict(
        type='SwinTransformer',
        embed_dims=96,
        depths=[2, 2, 6, 2],
        num_heads=[3, 6, 12, 24],
        window_size=7,
        mlp_ratio=4,
        qkv_bias=True,
        qk_scale=None,
        drop_rate=0.,
        attn_drop_rate=0.,
        drop_path_rate=0.2,
        patch_norm=True,
        out_indices=(0, 1, 2, 3),
        with_cp=False,
        convert_weights=True,
        init_cfg=dict(type='Pretrained', checkpoint=swin_pretrained)),
    text_encoder=dict(
        type='BertTextEncoder',
        name_or_path='bert-base-uncased',  # or a local directory
        max_tokens=20,
        out_channels=embed_dims),
    neck=dict(
        type='CIMF',
        in_channels=[96, 192, 384, 768],
        cm_channels=embed_dims // 4,  # 4 private subspaces -> 4 * C_m = embed_dims
        working_level=2,  # stride 16
        variant='cimf',
        text_channels=embed_dims,
        num_heads=8),
    encoder=dict(
        type='MultimodalFusionEncoder',
        embed_dims=embed_dims,
        num_layers=3,
        num_heads=8,
        ffn_dims=1024,
        dropout=0.1),
    head=dict(
        type='LUCDPHead',
        embed_dims=embed_dims,
        num_layers=3,
        num_heads=8,
        ffn_dims=1024,
        dropout=0.1,
        grid_size=64,
        max_len=num_vertices + 16,
        # plain teacher forcing as in the paper (e.g. input_coord_noise=0.01 adds noise)
        train_cfg=dict(input_coord_noise=0.0, self_feed_prob=0.0),
        test_cfg=dict(use_cache=True, min_vertices=3),
        # L = L_cls + l1*L1 + l2*smoothL2 + l3*L_coarse + l4*L_gcl, l1:l2:l3:l4 = 1:1:0.1:0.1
        loss_cls=dict(type='CrossEntropyLoss', loss_weight=1.0),
        loss_l1=dict(type='L1Loss', loss_weight=1.0),
        loss_smooth_l2=dict(type='SmoothL2Loss', beta=0.05, loss_weight=1.0),
        loss_coarse_l1=dict(type='L1Loss', loss_weight=0.1),
        loss_coarse_giou=dict(type='GIoULoss', loss_weight=0.1),
        loss_gcl=dict(type='GradientConsistencyLoss', loss_weight=0.1),
        gcl_raster_size=128,
        gcl_tau=1.0),
    rce=dict(type='RCE', embed_dims=embed_dims, num_heads=8, pool_size=8),
    refine=dict(
        input_size=256,  # fine stage on the crop at 256^2 (FLOPs budget, docs/design.md §8)
        margin=0.2,
        min_size=32,
        share_weights=True,
        text_template=dict(
            type='FineTextTemplate',
            template='the {size} {category} in the {position} of the image'),
        train_crop='gt_jitter'),
    # The sequence format of targets and predictions (docs/design.md §6). Contour budget rule
    # ("Fragmented targets"): a GT mask with more parts and holes than fit,
    # min(num_vertices // 3, head.max_len - num_vertices) contours (3 fewer for
    # seq_format='box_polygon'), keeps those whose removal would change the filled area most;
    # specks under min_part_pixels go first. Reduced targets are counted and summarised after
    # training (ContourBudgetLoggerHook, with their Fill IoU when measure_iou).
    sequence_coder=dict(
        type='ContourSequenceCoder',
        num_vertices=num_vertices,
        with_holes=True,
        seq_format='contour',
        budget=dict(min_part_pixels=3, max_contours=None, measure_iou=True)),
    coarse_seq_loss_weight=1.0)
