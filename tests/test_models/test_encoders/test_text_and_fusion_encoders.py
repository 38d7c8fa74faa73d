"""BERT text encoder (offline tiny BERT) and the multimodal fusion encoder."""
import pytest
import torch

from recs4r_mm.models.encoders import BertTextEncoder, MultimodalFusionEncoder


def test_tokenizer_maps_words_and_truncates(tiny_bert_cfg):
    cfg = dict(tiny_bert_cfg)
    cfg.pop('type')
    enc = BertTextEncoder(**cfg)
    vocab = enc.tokenizer.get_vocab()
    ids = enc.tokenize(['The red building on the left'])['input_ids'][0].tolist()
    words = ['the', 'red', 'building', 'on', 'the', 'left']
    assert ids == [vocab['[CLS]']] + [vocab[w] for w in words] + [vocab['[SEP]']]
    assert vocab['[UNK]'] not in ids
    long = ' '.join(['tank'] * 40)
    batch = enc.tokenize([long, 'red tank'])
    assert batch['input_ids'].shape == (2, 20)  # cut at max_tokens
    assert batch['attention_mask'][1].sum() == 4


def test_text_encoder_outputs_and_frozen(tiny_bert_cfg):
    cfg = dict(tiny_bert_cfg)
    cfg.pop('type')
    enc = BertTextEncoder(**cfg)
    enc.init_weights()
    feats, mask = enc(['the blue tank', 'a small white ship near the road'])
    assert feats.shape == (2, 9, 32) and mask.dtype == torch.bool
    assert mask[0].sum() == 5 and mask[1].all()
    feats.sum().backward()
    assert enc.bert.embeddings.word_embeddings.weight.grad.abs().sum() > 0
    frozen = BertTextEncoder(**dict(cfg, frozen=True)).train()
    assert not frozen.bert.training and frozen.proj.training
    assert not any(p.requires_grad for p in frozen.bert.parameters())
    # init_weights leaves (pretrained) BERT weights alone
    before = enc.bert.embeddings.word_embeddings.weight.detach().clone()
    enc.init_weights()
    assert torch.equal(before, enc.bert.embeddings.word_embeddings.weight)


def test_text_encoder_errors(tiny_bert_cfg, tmp_path):
    cfg = dict(tiny_bert_cfg)
    cfg.pop('type')
    enc = BertTextEncoder(**cfg)
    with pytest.raises(TypeError, match='list of strings'):
        enc.tokenize('one string')
    with pytest.raises(TypeError, match=r'texts\[1\]'):
        enc.tokenize(['ok', None])
    with pytest.raises(FileNotFoundError, match='vocab_file'):
        BertTextEncoder(**dict(cfg, vocab_file=str(tmp_path / 'missing.txt')))
    with pytest.raises(ValueError, match='vocab_file'):
        BertTextEncoder(**dict(cfg, vocab_file=None))
    with pytest.raises(ValueError, match='vocab_size'):
        BertTextEncoder(**dict(cfg, bert_config=dict(cfg['bert_config'], vocab_size=8)))


def test_fusion_encoder_shapes_and_padding():
    torch.manual_seed(0)
    enc = MultimodalFusionEncoder(embed_dims=16, num_layers=2, num_heads=2, ffn_dims=32,
                                  dropout=0.0).eval()
    vis = torch.randn(2, 16, 3, 4)
    text = torch.randn(2, 5, 16)
    mask = torch.tensor([[True] * 5, [True, True, False, False, False]])
    mem, pad, vis_out = enc(vis, text, mask)
    assert mem.shape == (2, 17, 16) and pad.shape == (2, 17) and vis_out.shape == vis.shape
    assert pad[1, 14:].all() and not pad[0].any()
    text2 = text.clone()
    text2[1, 2:] = 99.0
    mem2, _, _ = enc(vis, text2, mask)
    assert torch.allclose(mem2[1, :14], mem[1, :14], atol=1e-5)  # padding ignored
    # the text really conditions the visual tokens
    mem3, _, _ = enc(vis, text.flip(0), mask.flip(0))
    assert not torch.allclose(mem3[:, :12], mem[:, :12])
    mem_v, pad_v, _ = enc(vis)  # text-free
    assert mem_v.shape == (2, 12, 16) and not pad_v.any()
    with pytest.raises(ValueError, match='channels'):
        enc(torch.randn(1, 8, 2, 2))
