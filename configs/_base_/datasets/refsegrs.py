# RefSegRS (docs/datasets.md): data_root holds images/<id>.tif, masks/<id>.tif (binarised > 50)
# and output_phrase_{train,val,test}.txt, at the root or under phrase_txts/.
_base_ = './referring_base.py'
dataset_type = 'RefSegRSDataset'
data_root = 'data/refsegrs/'

train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
