# RECS4R, VMamba-T backbone, refcoco+: 512x512 input, batch 4, 50 epochs (paper schedule).
_base_ = [
    './_base_/models/recs4r_vmamba-t.py', './_base_/datasets/refcoco+.py',
    './_base_/schedules/schedule_50e.py', './_base_/default_runtime.py'
]
