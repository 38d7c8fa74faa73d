# RECS4R, ConvNeXt-T backbone, RefCOCOg: 512x512 input, batch 4, 50 epochs (paper schedule).
_base_ = [
    './_base_/models/recs4r_convnext-t.py', './_base_/datasets/refcocog.py',
    './_base_/schedules/schedule_50e.py', './_base_/default_runtime.py'
]

# mmpretrain's ConvNeXt registers on import of mmpretrain.models
custom_imports = dict(imports=['recs4r_mm', 'mmpretrain.models'], allow_failed_imports=False)
