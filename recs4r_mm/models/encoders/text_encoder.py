"""BERT text encoder (HuggingFace ``transformers``) with a projection to the model width.

RECS4R (CVPR 2026), Overall Architecture: BERT encodes T_c and T_f; docs/design.md §2 step 1,
§8 "fine text length".
"""
import os
from typing import Dict, List, Optional, Sequence, Tuple

import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from recs4r_mm.registry import MODELS


@MODELS.register_module()
class BertTextEncoder(BaseModule):
    """Encode referring expressions with BERT; tokens are cut at ``max_tokens``.

    Either ``name_or_path`` (a local directory or a hub name, loaded with ``from_pretrained``)
    or ``bert_config`` (a ``transformers.BertConfig`` dict, random weights) plus a
    ``vocab_file`` (WordPiece vocabulary, one token per line) is used; the latter needs no
    download and is what the tests use.

    Args:
        name_or_path (str, optional): Pretrained BERT (e.g. 'bert-base-uncased').
        bert_config (dict, optional): Build from ``BertConfig(**bert_config)`` instead.
        vocab_file (str, optional): Vocabulary for ``bert_config`` (or to override the
            pretrained tokenizer's).
        max_tokens (int): Maximum number of tokens including [CLS]/[SEP] (paper: 20).
        out_channels (int): Width C of the projected text tokens.
        frozen (bool): Freeze BERT (the projection stays trainable).
        do_lower_case (bool): Lower-case inputs (uncased vocabularies).
        local_files_only (bool): Forwarded to ``from_pretrained``.
        attn_implementation (str, optional): HF attention backend ('eager' gives countable
            FLOPs; None = library default).
    """

    def __init__(self,
                 name_or_path: Optional[str] = 'bert-base-uncased',
                 bert_config: Optional[dict] = None,
                 vocab_file: Optional[str] = None,
                 max_tokens: int = 20,
                 out_channels: int = 256,
                 frozen: bool = False,
                 do_lower_case: bool = True,
                 local_files_only: bool = False,
                 attn_implementation: Optional[str] = None,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        from transformers import BertConfig, BertModel, BertTokenizerFast
        if max_tokens < 3:
            raise ValueError(f'max_tokens must be >= 3, got {max_tokens}')
        self.max_tokens = max_tokens
        kwargs = {} if attn_implementation is None else dict(
            attn_implementation=attn_implementation)
        if bert_config is not None:
            if vocab_file is None:
                raise ValueError('BertTextEncoder(bert_config=...) needs a vocab_file')
            cfg = BertConfig(**dict(bert_config), **kwargs)
            self.bert = BertModel(cfg, add_pooling_layer=False)
        elif name_or_path is not None:
            self.bert = BertModel.from_pretrained(
                name_or_path, add_pooling_layer=False, local_files_only=local_files_only,
                **kwargs)
        else:
            raise ValueError('BertTextEncoder needs name_or_path or bert_config')
        if vocab_file is not None:
            if not os.path.isfile(vocab_file):
                raise FileNotFoundError(f'BertTextEncoder: vocab_file {vocab_file!r} not found')
            self.tokenizer = BertTokenizerFast(vocab_file=vocab_file,
                                               do_lower_case=do_lower_case)
        else:
            self.tokenizer = BertTokenizerFast.from_pretrained(
                name_or_path, do_lower_case=do_lower_case, local_files_only=local_files_only)
        if len(self.tokenizer) > self.bert.config.vocab_size:
            raise ValueError(f'tokenizer has {len(self.tokenizer)} tokens but the BERT '
                             f'vocab_size is {self.bert.config.vocab_size}')
        self.text_channels = self.bert.config.hidden_size
        self.out_channels = out_channels
        self.proj = nn.Linear(self.text_channels, out_channels)
        self.norm = nn.LayerNorm(out_channels)
        self.frozen = frozen
        if frozen:
            self.bert.requires_grad_(False)

    def init_weights(self) -> None:
        """Only the projection is (re)initialised; BERT keeps its (pretrained) weights."""
        nn.init.xavier_uniform_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def train(self, mode: bool = True):
        super().train(mode)
        if self.frozen:
            self.bert.eval()
        return self

    def tokenize(self, texts: Sequence[str], device=None,
                 max_tokens: Optional[int] = None) -> Dict[str, Tensor]:
        """Tokenise a batch of strings -> ``input_ids``/``attention_mask`` (B, T<=max)."""
        if isinstance(texts, str):
            raise TypeError('BertTextEncoder expects a list of strings, got one str')
        bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
        if bad:
            raise TypeError(f'BertTextEncoder: texts[{bad[0]}] is {type(texts[bad[0]])}, '
                            'expected str (is metainfo["text"] set by the pipeline?)')
        enc = self.tokenizer(list(texts), padding='longest', truncation=True,
                             max_length=max_tokens or self.max_tokens, return_tensors='pt')
        return dict(input_ids=enc['input_ids'].to(device),
                    attention_mask=enc['attention_mask'].to(device))

    def encode_ids(self, input_ids: Tensor, attention_mask: Tensor) -> Tuple[Tensor, Tensor]:
        """(B, T) ids + mask -> tokens (B, T, C) and bool mask (B, T) (True = valid)."""
        hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.norm(self.proj(hidden)), attention_mask.bool()

    @property
    def max_position_embeddings(self) -> int:
        """The longest token sequence BERT can embed."""
        return int(self.bert.config.max_position_embeddings)

    def forward(self, texts: List[str], device=None,
                max_tokens: Optional[int] = None) -> Tuple[Tensor, Tensor]:
        """Encode strings (cut at ``max_tokens``, default ``self.max_tokens``). Returns tokens
        (B, T, C) and mask (B, T) bool."""
        if device is None:
            device = self.proj.weight.device
        ids = self.tokenize(texts, device, max_tokens)
        return self.encode_ids(ids['input_ids'], ids['attention_mask'])
