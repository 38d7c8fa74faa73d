# Tiny RECS4R for CPU: ResNet-18 with 8 base channels, a 1-layer random BERT (BertConfig +
# the vocabulary file next to this one, no download), width 32, 16 vertices.
# Used by the tests (configs/_tiny_/recs4r_tiny.py) and the synthetic main job.
embed_dims = 32
num_vertices = 16
vocab_file = '{{ fileDirname }}/recs4r_tiny_vocab.txt'

model = dict(
    type='RECS4R',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=32),
    backbone=dict(
        type='ResNet',
        depth=18,
        base_channels=8,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        norm_cfg=dict(type='GN', num_groups=4, requires_grad=True),  # no BN: batch of 2
        norm_eval=False,
        zero_init_residual=False,
        style='pytorch',
        init_cfg=None),
    text_encoder=dict(
        type='BertTextEncoder',
        name_or_path=None,
        bert_config=dict(
            vocab_size=256,
            hidden_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=64,
            max_position_embeddings=32),
        vocab_file=vocab_file,
        max_tokens=20,
        out_channels=embed_dims),
    neck=dict(
        type='CIMF',
        in_channels=[8, 16, 32, 64],
        cm_channels=embed_dims // 4,
        working_level=1,  # stride 8: 8x8 tokens at 64x64
        text_channels=embed_dims,
        num_heads=2),
    encoder=dict(
        type='MultimodalFusionEncoder',
        embed_dims=embed_dims,
        num_layers=1,
        num_heads=2,
        ffn_dims=64,
        dropout=0.0),
    head=dict(
        type='LUCDPHead',
        embed_dims=embed_dims,
        num_layers=2,
        num_heads=2,
        ffn_dims=64,
        dropout=0.0,
        grid_size=16,
        max_len=num_vertices + 8,
        train_cfg=dict(input_coord_noise=0.02),  # helps a 2-sample overfit decode free-running
        loss_cls=dict(type='CrossEntropyLoss', loss_weight=1.0),
        loss_l1=dict(type='L1Loss', loss_weight=1.0),
        loss_smooth_l2=dict(type='SmoothL2Loss', beta=0.05, loss_weight=1.0),
        loss_coarse_l1=dict(type='L1Loss', loss_weight=0.1),
        loss_coarse_giou=dict(type='GIoULoss', loss_weight=0.1),
        loss_gcl=dict(type='GradientConsistencyLoss', loss_weight=0.1),
        gcl_raster_size=32),
    rce=dict(type='RCE', embed_dims=embed_dims, num_heads=2, pool_size=4),
    refine=dict(input_size=64, margin=0.2, min_size=8, train_crop='gt_jitter'),
    # sequence format and contour budget rule: see recs4r_swin-t.py and docs/design.md §6
    sequence_coder=dict(
        type='ContourSequenceCoder',
        num_vertices=num_vertices,
        with_holes=True,
        seq_format='contour',
        budget=dict(min_part_pixels=3, max_contours=None, measure_iou=True)),
    coarse_seq_loss_weight=1.0)
