# The main job on scenes larger than the network input (384 px scenes into the 128 px input, as
# RefDIOR's 800 px images go into 512): the fine stage crops its window from the image as loaded
# (refine.crop_source='original', design.md §3), so a tiny object that is a few pixels at the
# input is seen at up to 3x the detail. Compare with the resized-input crop:
#   python tools/train.py configs/recs4r_tiny_synthetic_native.py
#   python tools/train.py configs/recs4r_tiny_synthetic_native.py \
#       --cfg-options model.refine.crop_source=input --work-dir work_dirs/native_off
_base_ = ['./recs4r_tiny_synthetic.py']

data_root = 'data/synthetic_refrs_384/'
synthetic_generator = dict(num_images=400, image_size=384, seed=0)
img_scale = (128, 128)
meta_keys = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'text', 'box_only',
             'category', 'shape_family')
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadRECSAnnotations', with_bbox=True, with_mask=True),
    # the image and the GT as loaded: the fine stage's crops and its targets at native detail
    dict(type='KeepOriginalImage', max_side=2048),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
    dict(type='PackRECSInputs', meta_keys=meta_keys)
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='KeepOriginalImage', max_side=2048),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
    dict(type='LoadRECSAnnotations', with_bbox=True, with_mask=True),  # GT at original size
    dict(type='PackRECSInputs', meta_keys=meta_keys)
]
train_dataloader = dict(dataset=dict(data_root=data_root, generator=synthetic_generator,
                                     pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(data_root=data_root, generator=synthetic_generator,
                                   pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(data_root=data_root, generator=synthetic_generator,
                                    pipeline=test_pipeline))
model = dict(data_preprocessor=dict(type='RECSDataPreprocessor'),
             refine=dict(crop_source='original', fine_gt='original'))
