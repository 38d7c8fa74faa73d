# RefSegRS: images/<id>.tif, masks/<id>.tif (binarised > 50), output_phrase_{split}.txt.
dataset_type = 'RefSegRSDataset'
data_root = 'data/RefSegRS/'
backend_args = None
img_scale = (512, 512)
meta_keys = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'text',
             'box_only')

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadRECSAnnotations', with_bbox=True, with_mask=True),
    dict(type='CleanText'),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
    dict(type='PackDetInputs', meta_keys=meta_keys)
]
# GT stays at the original size (LoadRECSAnnotations after Resize): scored at original size
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
    dict(type='LoadRECSAnnotations', with_bbox=True, with_mask=True),
    dict(type='CleanText'),
    dict(type='PackDetInputs', meta_keys=meta_keys)
]

train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split='train',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='val', test_mode=True,
                 pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='test', test_mode=True,
                 pipeline=test_pipeline))
val_evaluator = dict(type='RECSMetric')
test_evaluator = val_evaluator
