# RECS4R with a Swin-T backbone (mmdet SwinTransformer), BERT-base text encoder, CIMF neck,
# multimodal encoder, LUCDP head, RCE coarse-to-fine, GCL: the architecture at 512² (fine stage
# at 224², Swin's pretraining size); what is trained and how is the shared recipe.
# Every "R" has a switch:
#   LUCDP off: model.sequence_coder.seq_format='box_polygon'
#   RCE off:   model.refine=None (single stage)   [model.rce=None: fine stage w/o RCE]
#   CIMF off:  model.neck.variant='fpn_sum'
#   GCL off:   model.head.loss_gcl.loss_weight=0
_base_ = ['./recs4r_recipe.py']
embed_dims = 256
num_vertices = 64
swin_pretrained = 'https://github.com/SwinTransformer/storage/releases/download/v1.0.0/swin_tiny_patch4_window7_224.pth'  # noqa

model = dict(
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
        name_or_path='bert-base-uncased',  # or a local directory
        out_channels=embed_dims),
    neck=dict(
        in_channels=[96, 192, 384, 768],
        cm_channels=embed_dims // 4,  # 4 private subspaces -> 4 * C_m = embed_dims
        working_level=2,  # stride 16
        text_channels=embed_dims,
        num_heads=8),
    encoder=dict(embed_dims=embed_dims, num_layers=3, num_heads=8, ffn_dims=1024, dropout=0.1),
    head=dict(
        embed_dims=embed_dims,
        num_layers=3,
        num_heads=8,
        ffn_dims=1024,
        dropout=0.1,
        grid_size=64,
        max_len=num_vertices + 16,
        gcl_raster_size=128),
    aux_head=dict(embed_dims=embed_dims),
    rce=dict(embed_dims=embed_dims, num_heads=8, pool_size=8),
    # fine stage on the crop at 224² (the paper: the full input size; FLOPs, docs/design.md §8)
    refine=dict(input_size=224, min_size=32),
    sequence_coder=dict(num_vertices=num_vertices))
