"""FLOPs (multiply-adds, mmengine.analysis) and parameters of a RECS4R config, per module.

Counts both stages of the coarse-to-fine flow and the text encoder separately, with the
decoder unrolled for ``num_vertices`` vertices + END through the KV-cached greedy loop. The text
encoder reads the expression (20 tokens) in the coarse pass; in the fine pass it reads T_f =
template + expression (``refine.fine_text='encode'``) or the template alone
(``'reuse'``), and the fine stage's CIMF and encoder attend to all of T_f either way. The
template's length is that of the config's template filled with two-word category and position
(e.g. "the small storage tank in the upper left of the image", 11 words).

No dataset and no download are needed: with ``--random-text-encoder`` (the default when the
pretrained BERT cannot be loaded offline) the text encoder is built from a ``BertConfig`` of
the same size with random weights, and pretrained backbone weights are never loaded.

    python tools/analysis_tools/get_flops.py configs/recs4r_swin-t_refdior.py --shape 512 512
"""
import argparse
import importlib
import os
import os.path as osp
import sys
import tempfile
from collections import OrderedDict
from typing import Dict, Optional, Sequence

import torch
import torch.nn as nn

COMPONENTS = ('backbone', 'neck', 'input_proj', 'rce', 'encoder', 'head')


def import_project() -> None:
    """Register mmdet and recs4r_mm modules (works before the package __init__ does)."""
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    for name in ('recs4r_mm', 'recs4r_mm.models.detectors', 'recs4r_mm.models.necks',
                 'recs4r_mm.models.encoders', 'recs4r_mm.models.heads',
                 'recs4r_mm.models.losses', 'recs4r_mm.models.backbones'):
        try:
            importlib.import_module(name)
        except ImportError:
            if name == 'recs4r_mm.models.detectors':
                raise


def _strip_pretrained(cfg) -> None:
    """Drop Pretrained init_cfgs anywhere in the model config (build only)."""
    if isinstance(cfg, dict):
        init = cfg.get('init_cfg')
        if isinstance(init, dict) and init.get('type') == 'Pretrained':
            cfg['init_cfg'] = None
        for v in cfg.values():
            _strip_pretrained(v)
    elif isinstance(cfg, (list, tuple)):
        for v in cfg:
            _strip_pretrained(v)


def random_bert_cfg(text_cfg: dict, workdir: str) -> dict:
    """A same-size random BERT (bert-base dims unless the config says otherwise)."""
    from transformers import BertConfig
    vocab = osp.join(workdir, 'vocab.txt')
    words = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] + [f'w{i}' for i in range(995)]
    with open(vocab, 'w') as f:
        f.write('\n'.join(words) + '\n')
    bert = text_cfg.get('bert_config') or BertConfig().to_dict()
    keep = ('vocab_size', 'hidden_size', 'num_hidden_layers', 'num_attention_heads',
            'intermediate_size', 'max_position_embeddings')
    bert = {k: bert[k] for k in keep if k in bert}
    new = dict(text_cfg)
    new.update(name_or_path=None, bert_config=bert, vocab_file=vocab)
    return new


def build_model(cfg, random_text_encoder: Optional[bool] = None, workdir: str = None):
    """Build ``cfg.model`` in eval mode with countable (eager) attention in BERT."""
    from recs4r_mm.registry import MODELS
    model_cfg = cfg.model.to_dict() if hasattr(cfg.model, 'to_dict') else dict(cfg.model)
    _strip_pretrained(model_cfg)
    text_cfg = dict(model_cfg['text_encoder'])
    text_cfg['attn_implementation'] = 'eager'
    if random_text_encoder is None:  # try the real one, fall back to a random twin
        try:
            from transformers import BertConfig
            if text_cfg.get('bert_config') is None:
                BertConfig.from_pretrained(text_cfg['name_or_path'], local_files_only=True)
            random_text_encoder = False
        except Exception:  # noqa: BLE001 - offline / not cached
            random_text_encoder = True
    if random_text_encoder and text_cfg.get('bert_config') is None:
        text_cfg = random_bert_cfg(text_cfg, workdir or tempfile.mkdtemp())
    model_cfg['text_encoder'] = text_cfg
    model = MODELS.build(model_cfg)
    model.eval()
    return model


class _TextPass(nn.Module):

    def __init__(self, model):
        super().__init__()
        self.text_encoder = model.text_encoder

    def forward(self, ids, mask):
        return self.text_encoder.encode_ids(ids, mask)


class _StagePass(nn.Module):
    """One stage: backbone -> CIMF -> [RCE] -> encoder -> greedy decoding of ``n`` vertices."""

    def __init__(self, model, fine: bool, num_vertices: int):
        super().__init__()
        neck, proj, encoder, head = model.fine_modules if fine else model.coarse_modules
        self.backbone, self.neck, self.input_proj = model.backbone, neck, proj
        self.encoder, self.head = encoder, head
        self.rce = model.rce if fine else None
        self.n = num_vertices
        self.use_size = fine and model.refine_cfg['size_prior']

    def forward(self, img, text, text_mask, global_map=None, boxes=None):
        feats = self.backbone(img)
        size = boxes[:, 2] * boxes[:, 3] if self.use_size and boxes is not None else None
        x = self.input_proj(self.neck(feats, text, text_mask, size)[0])
        if self.rce is not None and global_map is not None:
            x = self.rce(x, global_map, boxes, boxes)
        memory, pad, vis = self.encoder(x, text, text_mask)
        n_pre = len(self.head.forced_prefix)
        out = self.head.predict(memory, pad, max_len=n_pre + self.n + 1, min_vertices=self.n,
                                memory_hw=vis.shape[-2:])
        return out['tokens'], out['coords'], vis


def template_words(model) -> int:
    """Words of the fine-text template filled with a two-word category and position."""
    tmpl = getattr(model.text_template, 'template', '')
    return len(tmpl.format(size='small', category='storage tank', position='upper left').split())


def _text_ids(model, n: int, dev) -> tuple:
    ids = torch.randint(5, model.text_encoder.bert.config.vocab_size, (1, n), device=dev)
    ids[:, 0], ids[:, -1] = 2, 3
    return ids, torch.ones(1, n, dtype=torch.long, device=dev)


def _analyze(module: nn.Module, inputs: tuple):
    from mmengine.analysis import FlopAnalyzer
    fa = FlopAnalyzer(module, inputs)
    fa.unsupported_ops_warnings(False)
    fa.uncalled_modules_warnings(False)
    return fa


def complexity(cfg, shape: Sequence[int] = (512, 512), fine_size: Optional[int] = None,
               num_vertices: Optional[int] = None, num_tokens: Optional[int] = None,
               random_text_encoder: Optional[bool] = None) -> Dict:
    """Per-module FLOPs of the text encoder and of each stage.

    Returns:
        dict: ``rows`` OrderedDict component -> dict(coarse, fine) FLOPs, ``text`` FLOPs of one
        text-encoder pass, ``params`` per component, ``total`` and the settings used.
    """
    import_project()
    with tempfile.TemporaryDirectory() as tmp:
        model = build_model(cfg, random_text_encoder, tmp)
    h, w = shape
    n = int(num_vertices or model.coder.num_vertices)
    t = int(num_tokens or model.text_encoder.max_tokens)
    s = int(fine_size or model.refine_cfg['input_size'])
    if fine_size is not None:
        model.refine_cfg['input_size'] = s
    head_need = len(model.head.forced_prefix) + n + 1
    if head_need > model.head.pos_embed.num_embeddings - 1:
        raise ValueError(f'num_vertices={n} needs head.max_len >= {head_need}')
    dev = next(model.parameters()).device
    text_flops = dict(coarse=0, fine=0)
    fine_tokens = None
    with torch.no_grad():
        ids, mask = _text_ids(model, t, dev)
        text_flops['coarse'] = _analyze(_TextPass(model), (ids, mask)).total()
        text, tmask = model.text_encoder.encode_ids(ids, mask)
        img = torch.randn(1, 3, h, w, device=dev)
        coarse = _StagePass(model, False, n)
        coarse_fa = _analyze(coarse, (img, text, tmask))
        _, _, vis = coarse(img, text, tmask)
        stages = dict(coarse=coarse_fa.by_module())
        totals = dict(coarse=coarse_fa.total())
        if model.two_stage:
            words = template_words(model)
            reuse = model.refine_cfg['fine_text'] == 'reuse'
            # T_f as BERT reads it (within its position table, as the detector cuts it)
            bert_tokens = min(words + 2 if reuse else words + t,
                              model.text_encoder.max_position_embeddings)
            ids_f, mask_f = _text_ids(model, bert_tokens, dev)
            text_flops['fine'] = _analyze(_TextPass(model), (ids_f, mask_f)).total()
            text_f, tmask_f = model.text_encoder.encode_ids(ids_f, mask_f)
            if reuse:  # the fine stage attends to the template, then the coarse expression
                text_f, tmask_f = torch.cat([text_f, text], 1), torch.cat([tmask_f, tmask], 1)
            fine_tokens = text_f.shape[1]
            fine = _StagePass(model, True, n)
            crop = torch.randn(1, 3, s, s, device=dev)
            boxes = torch.tensor([[0.25, 0.25, 0.75, 0.75]], device=dev)
            fine_fa = _analyze(fine, (crop, text_f, tmask_f, vis, boxes))
            stages['fine'] = fine_fa.by_module()
            totals['fine'] = fine_fa.total()
    rows = OrderedDict()
    rows['text_encoder'] = text_flops
    for comp in COMPONENTS:
        rows[comp] = {k: int(v.get(comp, 0)) for k, v in stages.items()}
    params = OrderedDict()
    for comp in ('text_encoder', ) + COMPONENTS:
        mod = getattr(model, comp, None)
        params[comp] = sum(p.numel() for p in mod.parameters()) if isinstance(
            mod, nn.Module) else 0
    if model.two_stage and not model.share_weights:
        for comp in ('neck', 'input_proj', 'encoder', 'head'):
            params[f'fine_{comp}'] = sum(
                p.numel() for p in getattr(model, f'fine_{comp}').parameters())
    total = sum(totals.values()) + sum(text_flops.values())
    # refine.test_passes > 1: each extra fine pass at inference costs one more fine stage
    passes = int(model.refine_cfg['test_passes']) if model.two_stage else 0
    extra = (passes - 1) * (totals['fine'] + text_flops['fine']) if passes > 1 else 0
    return dict(rows=rows, text=text_flops, stage_totals=totals, total=total, params=params,
                total_params=sum(p.numel() for p in model.parameters()), shape=(h, w),
                fine_size=s if model.two_stage else None, num_vertices=n, num_tokens=t,
                fine_tokens=fine_tokens, test_passes=passes, total_all_passes=total + extra,
                fine_text=model.refine_cfg['fine_text'] if model.two_stage else None)


def format_report(res: Dict) -> str:
    g = lambda x: f'{x / 1e9:.2f}'  # noqa: E731
    m = lambda x: f'{x / 1e6:.2f}'  # noqa: E731
    lines = [
        f'input {res["shape"][0]}x{res["shape"][1]}, fine input '
        f'{res["fine_size"]}x{res["fine_size"]}' if res['fine_size'] else
        f'input {res["shape"][0]}x{res["shape"][1]}, single stage',
        f'{res["num_vertices"]} vertices decoded per stage, {res["num_tokens"]} text tokens' +
        (f', fine text {res["fine_tokens"]} tokens (fine_text={res["fine_text"]!r})'
         if res['fine_size'] else ''),
        '', '| module | coarse GFLOPs | fine GFLOPs | total GFLOPs | params (M) |',
        '|---|---|---|---|---|'
    ]
    for comp, v in res['rows'].items():
        c, f = v.get('coarse', 0), v.get('fine', 0)
        lines.append(f'| {comp} | {g(c)} | {g(f)} | {g(c + f)} | {m(res["params"].get(comp, 0))} |')
    for comp, p in res['params'].items():
        if comp.startswith('fine_'):
            lines.append(f'| {comp} | | | | {m(p)} |')
    st = res['stage_totals']
    lines.append(f'| **total** | {g(st["coarse"] + res["text"]["coarse"])} | '
                 f'{g(st.get("fine", 0) + res["text"]["fine"])} | '
                 f'**{g(res["total"])}** | **{m(res["total_params"])}** |')
    if res['test_passes'] > 1:
        lines.append('')
        lines.append(f'Both stages above; the config decodes with refine.test_passes='
                     f'{res["test_passes"]} fine passes: {g(res["total_all_passes"])} GFLOPs.')
    lines.append('')
    lines.append('FLOPs = multiply-adds (mmengine.analysis); the text encoder runs once per stage '
                 "(in the fine stage on the template alone with refine.fine_text='reuse').")
    return '\n'.join(lines)


def parse_args(argv=None):
    from mmengine.config import DictAction
    p = argparse.ArgumentParser(description='RECS4R FLOPs / params per module')
    p.add_argument('config')
    p.add_argument('--shape', type=int, nargs='+', default=[512, 512], help='input H W')
    p.add_argument('--fine-size', type=int, default=None, help='override refine.input_size')
    p.add_argument('--num-vertices', type=int, default=None)
    p.add_argument('--num-tokens', type=int, default=None)
    p.add_argument('--random-text-encoder', action='store_true',
                   help='always use a random same-size BERT (no download)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override config keys, e.g. model.refine.input_size=384')
    return p.parse_args(argv)


def main(argv=None):
    from mmengine.config import Config
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    shape = args.shape * 2 if len(args.shape) == 1 else args.shape[:2]
    res = complexity(cfg, shape, args.fine_size, args.num_vertices, args.num_tokens,
                     True if args.random_text_encoder else None)
    print(format_report(res))
    return res


if __name__ == '__main__':
    sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))
    os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')
    main()
