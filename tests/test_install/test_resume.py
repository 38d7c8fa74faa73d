"""Resuming a Runner checkpoint on torch 2.13 (torch.load defaults to weights_only=True since 2.6).

mmengine 0.10.7 (original family) fails here with `UnpicklingError: Weights only load failed`;
the onedl-mmengine we install loads its own checkpoints. The full train -> resume -> test round trip
through tools/ lives in tests/test_tools.
"""
import numpy as np
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset


class _ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(2, 1)
        self.loss_calls = 0

    def forward(self, inputs, targets, mode='tensor'):
        pred = self.linear(torch.stack(inputs) if isinstance(inputs, list) else inputs)
        if mode == 'loss':
            self.loss_calls += 1
            return dict(loss=((pred.squeeze(-1) - torch.as_tensor(targets)) ** 2).mean())
        return pred


class _ToyData(Dataset):

    def __len__(self):
        return 8

    def __getitem__(self, i):
        x = torch.tensor([i / 8, 1 - i / 8])
        return dict(inputs=x, targets=float(x.sum()))


def _runner(work_dir, max_iters, resume):
    return Runner(
        model=_ToyModel(), work_dir=str(work_dir),
        train_dataloader=dict(dataset=_ToyData(), sampler=dict(type='DefaultSampler', shuffle=True),
                              batch_size=2, num_workers=0),
        # numpy objects in the checkpoint's message hub are what weights_only=True rejects
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=2, by_epoch=False),
                           logger=dict(type='LoggerHook', interval=1)),
        resume=resume, randomness=dict(seed=0), default_scope='mmengine',
        experiment_name=f'toy_{max_iters}_{resume}')


def test_runner_checkpoint_resumes_on_torch_2_13(tmp_path):
    first = _runner(tmp_path, max_iters=2, resume=False)
    first.train()
    assert (tmp_path / 'iter_2.pth').is_file()
    ckpt = torch.load(tmp_path / 'iter_2.pth', map_location='cpu', weights_only=False)
    assert isinstance(ckpt['message_hub']['log_scalars']['train/loss']._log_history, np.ndarray)
    saved_weight = ckpt['state_dict']['linear.weight'].clone()

    second = _runner(tmp_path, max_iters=4, resume=True)
    second.train()
    # It started from iteration 2 with the saved weights and optimizer state: only 2 more steps.
    assert second.iter == 4
    assert second.model.loss_calls == 2
    assert (tmp_path / 'iter_4.pth').is_file()
    resumed = torch.load(tmp_path / 'iter_4.pth', map_location='cpu', weights_only=False)
    assert resumed['meta']['iter'] == 4
    assert 'momentum_buffer' in str(resumed['optimizer']['state'][0].keys())
    assert not torch.equal(resumed['state_dict']['linear.weight'], saved_weight)
