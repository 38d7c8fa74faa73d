# Shared by the real-data referring configs (refcoco*, rrsisd, refdior, refsegrs): pipelines,
# meta keys, input size, dataloaders and evaluator. A child sets only what differs:
#     train_dataloader = dict(dataset=dict(type=..., data_root=...))   # and val_/test_
# The dicts merge into these. Setting only a `dataset_type`/`data_root` variable in a child
# would NOT reach the dicts below: mmengine does not re-evaluate a base file's expressions.
# Splits: 'train' / 'val' / 'test' (refcoco and refcoco+ test on 'testA': see refcoco.py).
backend_args = None
img_scale = (512, 512)
meta_keys = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'text',
             'box_only')

# KeepOriginalImage keeps the image (and in training the GT) as loaded, before Resize, for the
# fine stage's native-resolution crops and targets (model.refine.crop_source / fine_gt);
# longer sides than max_side are shrunk so that 10k px images cannot exhaust memory.
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadRECSAnnotations', with_bbox=True, with_mask=True),
    dict(type='CleanText'),
    dict(type='KeepOriginalImage', max_side=2048),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
    dict(type='PackRECSInputs', meta_keys=meta_keys)
]
# GT stays at the original size (LoadRECSAnnotations after Resize): scored at original size
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='KeepOriginalImage', max_side=2048),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
    dict(type='LoadRECSAnnotations', with_bbox=True, with_mask=True),
    dict(type='CleanText'),
    dict(type='PackRECSInputs', meta_keys=meta_keys)
]

train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(split='val', test_mode=True, pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(split='test', test_mode=True, pipeline=test_pipeline))
val_evaluator = dict(type='RECSMetric')
test_evaluator = val_evaluator
