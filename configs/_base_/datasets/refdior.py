# RefDIOR (the RECS4R authors' "phrase json" layout, docs/datasets.md): data_root holds
# images/<id>.jpg, masks/<id>.png, phrase_txts/{train,val,test}.json. 800x800 -> 512x512.
_base_ = './referring_base.py'
dataset_type = 'RefDIORDataset'
data_root = 'data/refdior/'

train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
