# RefCOCO+ (refer layout): refcoco.py with the refcoco+/ annotations (same data_root, same
# train2014/ images). Splits train/val/testA/testB; test_dataloader uses 'testA'.
_base_ = './refcoco.py'
refer_args = dict(ann_file='refcoco+/instances.json', split_file='refcoco+/refs(unc).p')

train_dataloader = dict(dataset=refer_args)
val_dataloader = dict(dataset=refer_args)
test_dataloader = dict(dataset=refer_args)
