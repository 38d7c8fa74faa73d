# RRSIS-D, refer layout (docs/datasets.md): data_root holds rrsisd/{refs(unc).p,
# instances.json} and images/rrsisd/JPEGImages/ (800x800). For the txt layouts (RECS
# framework's *_mbr.txt, RSFM family's phrase_txts/output_phrase_*.txt) use RRSISDTxtDataset.
_base_ = './referring_base.py'
dataset_type = 'RRSISDDataset'
data_root = 'data/rrsisd/'

train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
