# Tiny RECS4R for CPU: the shared recipe (recs4r_recipe.py) on ResNet-18 with 8 base channels
# (GroupNorm), a 1-layer random BERT (BertConfig + the vocabulary file next to this one, no
# download), width 32, 16 vertices, fine stage at 64². The synthetic main job widens it; the
# test config (configs/_tiny_/recs4r_tiny.py) sets the tests' own training choices on top.
_base_ = ['./recs4r_recipe.py']
embed_dims = 32
num_vertices = 16
vocab_file = '{{ fileDirname }}/recs4r_tiny_vocab.txt'

model = dict(
    backbone=dict(
        type='ResNet',
        depth=18,
        base_channels=8,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        norm_cfg=dict(type='GN', num_groups=4, requires_grad=True),  # no BN: design.md §8
        norm_eval=False,
        zero_init_residual=False,
        style='pytorch',
        init_cfg=None),
    text_encoder=dict(
        name_or_path=None,
        bert_config=dict(
            vocab_size=256,
            hidden_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=64,
            max_position_embeddings=32),
        vocab_file=vocab_file,
        out_channels=embed_dims),
    neck=dict(
        in_channels=[8, 16, 32, 64],
        cm_channels=embed_dims // 4,
        working_level=1,  # stride 8: 8x8 tokens at 64x64
        text_channels=embed_dims,
        num_heads=2),
    encoder=dict(embed_dims=embed_dims, num_layers=1, num_heads=2, ffn_dims=64, dropout=0.0),
    head=dict(
        embed_dims=embed_dims,
        num_layers=2,
        num_heads=2,
        ffn_dims=64,
        dropout=0.0,
        grid_size=16,
        max_len=num_vertices + 8,
        gcl_raster_size=32),
    aux_head=dict(embed_dims=embed_dims),
    rce=dict(embed_dims=embed_dims, num_heads=2, pool_size=4),
    refine=dict(input_size=64, min_size=8),
    sequence_coder=dict(num_vertices=num_vertices))
