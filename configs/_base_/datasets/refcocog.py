# RefCOCOg, umd partition (refer layout): refcoco.py with the refcocog/ annotations (same
# data_root, same train2014/ images). Splits train/val/test; test_dataloader uses 'test'.
_base_ = './refcoco.py'
refer_args = dict(ann_file='refcocog/instances.json', split_file='refcocog/refs(umd).p')

train_dataloader = dict(dataset=refer_args)
val_dataloader = dict(dataset=refer_args)
test_dataloader = dict(dataset=dict(split='test', **refer_args))
