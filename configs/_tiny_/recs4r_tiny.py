# Tiny RECS4R for CPU tests: the tiny model at 64x64 inputs with a placeholder dataset part
# (the `*_dataloader`/`*_evaluator` dicts) meant to be overridden.
_base_ = ['../_base_/models/recs4r_tiny.py', '../_base_/default_runtime.py']

img_scale = (64, 64)

# the tests' own training choices over the recipe: direct read-out, light coordinate noise
# (helps a 2-sample overfit decode free-running), no grounding head, one fine pass on T_f read
# whole, narrow training crops, fine crops of the input (the tests' hand-built batches carry no
# original image; tests/test_models/test_detectors/test_native_crops.py covers 'original')
model = dict(
    neck=dict(text_fusion='add'),
    head=dict(reg_mode='direct', train_cfg=dict(input_coord_noise=0.02)),
    aux_head=None,
    refine=dict(margin=0.2, fine_text='encode', jitter_shift=0.1, jitter_scale=0.15,
                test_passes=1, crop_source='input', fine_gt='input'))

# ---- data (placeholders meant to be overridden; the pipeline is the contract's)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadRECSAnnotations'),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'text',
                    'box_only'))
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
    dict(type='LoadRECSAnnotations'),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'text',
                    'box_only'))
]
dataset_type = 'RefDIORDataset'
data_root = 'data/tiny_refdior/'
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(type=dataset_type, data_root=data_root, split='train',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='val', test_mode=True,
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='RECSMetric')
test_evaluator = val_evaluator

# ---- short schedule
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=2, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=1e-3, betas=(0.9, 0.999), weight_decay=0.0),
    clip_grad=dict(max_norm=1.0, norm_type=2))
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=0, end=1)]
default_hooks = dict(logger=dict(type='LoggerHook', interval=1),
                     checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=1))
