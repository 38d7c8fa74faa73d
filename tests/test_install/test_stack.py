"""The installed stack: versions, compiled mmcv ops, and the paper's two stock backbones."""
import torch


def test_torch_and_torchvision_match():
    import torchvision
    from torchvision.ops import nms  # a CPU-only torch with a CUDA torchvision fails right here

    assert torch.__version__.split('+')[0] == '2.13.0'
    assert torchvision.__version__.split('+')[0] == '0.28.0'
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.], [20., 20., 30., 30.]])
    keep = nms(boxes, torch.tensor([0.9, 0.8, 0.7]), iou_threshold=0.5)
    assert keep.tolist() == [0, 2]


def test_mmcv_compiled_ops_run():
    from mmcv.ops import RoIAlign, nms

    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.]])
    dets, keep = nms(boxes, torch.tensor([0.9, 0.8]), iou_threshold=0.5)
    assert keep.tolist() == [0]
    feat = torch.arange(16.).view(1, 1, 4, 4)
    rois = torch.tensor([[0., 0., 0., 4., 4.]])
    out = RoIAlign((2, 2), spatial_scale=1.0, sampling_ratio=2, aligned=True)(feat, rois)
    # the 2x2 pooled means of a 4x4 ramp
    assert torch.allclose(out.flatten(), torch.tensor([2.5, 4.5, 10.5, 12.5]))


def test_stack_is_the_onedl_family():
    """Our code only imports mmcv/mmengine/mmdet/mmseg/mmpretrain; the distributions are onedl-*."""
    import importlib.metadata as md

    for dist in ('onedl-mmengine', 'onedl-mmcv', 'onedl-mmdetection', 'onedl-mmsegmentation',
                 'onedl-mmpretrain'):
        assert md.version(dist)
    import mmdet
    import mmengine
    assert mmengine.__version__ == md.version('onedl-mmengine')
    assert mmdet.__version__ == md.version('onedl-mmdetection')


def test_swin_t_from_mmdet_runs_forward():
    from mmdet.registry import MODELS
    from mmengine.registry import DefaultScope

    with DefaultScope.overwrite_default_scope('mmdet'):
        import mmdet.models  # noqa: F401
        swin = MODELS.build(dict(type='SwinTransformer', embed_dims=96, depths=[2, 2, 6, 2],
                                 num_heads=[3, 6, 12, 24], window_size=7,
                                 out_indices=(0, 1, 2, 3)))
    swin.eval()
    with torch.no_grad():
        feats = swin(torch.randn(1, 3, 64, 64))
    assert [tuple(f.shape) for f in feats] == [(1, 96, 16, 16), (1, 192, 8, 8), (1, 384, 4, 4),
                                               (1, 768, 2, 2)]
    assert all(torch.isfinite(f).all() for f in feats)


def test_convnext_t_from_mmpretrain_runs_forward():
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS

    with DefaultScope.overwrite_default_scope('mmpretrain'):
        import mmpretrain.models  # noqa: F401
        convnext = MODELS.build(dict(type='ConvNeXt', arch='tiny', out_indices=(0, 1, 2, 3),
                                     gap_before_final_norm=False))
    convnext.eval()
    with torch.no_grad():
        feats = convnext(torch.randn(1, 3, 64, 64))
    assert [tuple(f.shape) for f in feats] == [(1, 96, 16, 16), (1, 192, 8, 8), (1, 384, 4, 4),
                                               (1, 768, 2, 2)]
    assert all(torch.isfinite(f).all() for f in feats)


def test_convnext_t_resolves_from_an_mmdet_config():
    """Our configs use `mmpretrain.ConvNeXt` under default_scope='mmdet'."""
    from mmdet.registry import MODELS
    from mmengine.registry import DefaultScope

    with DefaultScope.overwrite_default_scope('mmdet'):
        convnext = MODELS.build(dict(type='mmpretrain.ConvNeXt', arch='tiny',
                                     out_indices=(3, ), gap_before_final_norm=False))
    assert type(convnext).__name__ == 'ConvNeXt'


def test_tiny_bert_tokenizer_maps_words_offline(tmp_path):
    """transformers 5.x mapped every word to [UNK] with a written vocab; the pinned 4.57 does
    not."""
    from transformers import BertConfig, BertModel, BertTokenizerFast

    words = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'large', 'storage', 'tank']
    vocab = tmp_path / 'vocab.txt'
    vocab.write_text('\n'.join(words) + '\n')
    tok = BertTokenizerFast(vocab_file=str(vocab))
    ids = tok('the large storage tank', return_tensors='pt')['input_ids'][0].tolist()
    assert ids == [2, 5, 6, 7, 8, 3]
    bert = BertModel(BertConfig(vocab_size=len(words), hidden_size=16, num_hidden_layers=1,
                                num_attention_heads=2, intermediate_size=32))
    out = bert(input_ids=torch.tensor([ids])).last_hidden_state
    assert out.shape == (1, 6, 16)
