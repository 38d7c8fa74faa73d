# RefCOCO (refer layout, docs/datasets.md): data_root holds refcoco/{refs(unc).p,
# instances.json} and train2014/. Splits train/val/testA/testB; test_dataloader uses 'testA'
# (override its split for testB). refcoco+.py and refcocog.py inherit this file.
_base_ = './referring_base.py'
dataset_type = 'ReferDataset'
data_root = 'data/refer/'
refer_args = dict(ann_file='refcoco/instances.json', split_file='refcoco/refs(unc).p',
                  data_prefix=dict(img_path='train2014/'))

train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root, **refer_args))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root, **refer_args))
test_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, split='testA', **refer_args))
