# The embedded synthetic remote-sensing referring dataset (RefDIOR layout), generated into
# data_root on first use (see docs/synthetic_data.md). Scores are broken down by shape family.
# Deliberately not based on referring_base.py: nearly every entry differs (128x128 input, no
# CleanText, an extra meta key, batch 8/16, no workers, a generator argument, per-family scores),
# so inheriting would override almost all of it and hide what this config really is.
dataset_type = 'SyntheticRefRSDataset'
data_root = 'data/synthetic_refrs/'
synthetic_generator = dict(num_images=400, image_size=128, seed=0)
# The generator's WordPiece vocabulary (fixed; tests check it matches the generator's words).
synthetic_vocab_file = '{{ fileDirname }}/synthetic_refrs_vocab.txt'
img_scale = (128, 128)
meta_keys = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'text', 'box_only',
             'category', 'shape_family')

# Each scene holds several expressions: decoded images stay in memory (1,400 of the main job's
# 384 px scenes take 620 MiB; each PNG costs about 5 ms to decode, 11 % of a CPU iteration).
load_image = dict(type='CachedLoadImageFromFile', max_cache_mb=1024)
# the image (and in training the GT) as loaded, for the fine stage's native crops and targets
train_pipeline = [
    load_image,
    dict(type='LoadRECSAnnotations', with_bbox=True, with_mask=True),
    dict(type='KeepOriginalImage', max_side=2048),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
    dict(type='PackRECSInputs', meta_keys=meta_keys)
]
test_pipeline = [
    load_image,
    dict(type='KeepOriginalImage', max_side=2048),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
    dict(type='LoadRECSAnnotations', with_bbox=True, with_mask=True),  # GT at original size
    dict(type='PackRECSInputs', meta_keys=meta_keys)
]
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split='train',
                 generator=synthetic_generator, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,  # batched greedy decoding; the same scores as batch 1, several times faster
    num_workers=0,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='val', test_mode=True,
                 generator=synthetic_generator, pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=16,
    num_workers=0,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='test', test_mode=True,
                 generator=synthetic_generator, pipeline=test_pipeline))
val_evaluator = dict(type='RECSMetric', category_key='shape_family')
test_evaluator = val_evaluator
