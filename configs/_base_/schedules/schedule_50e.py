# Paper schedule: Adam (beta 0.9/0.999, weight decay 0.01), linear warm-up to lr 5e-4,
# 50 epochs, batch 4 (the batch size lives in the dataset bases: train_dataloader.batch_size).
# After the warm-up the lr decays polynomially (the paper does not say; PolyFormer's choice).
# The paper says Adam (coupled L2 decay); for decoupled decay use
#   --cfg-options optim_wrapper.optimizer.type=AdamW
max_epochs = 50
base_lr = 5e-4

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=base_lr, betas=(0.9, 0.999), weight_decay=0.01),
    clip_grad=dict(max_norm=1.0, norm_type=2))

param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=1000),
    dict(type='PolyLR', power=0.9, eta_min=0.0, by_epoch=True, begin=0, end=max_epochs,
         convert_to_iter_based=True),
]

# lr was set for batch 4 on one GPU (4 x 1); scale with --auto-scale-lr
auto_scale_lr = dict(enable=False, base_batch_size=4)
