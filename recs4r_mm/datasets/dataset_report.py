"""Checks of a RECS dataset before training (the logic of ``tools/misc/check_dataset.py``).

:func:`check_config` builds a config's train/val/test datasets as the runner would and
:func:`check_dataset` reports on one of them:

* counts: samples (``len(dataset)``), refs, expressions, distinct images;
* records skipped at init, by reason (the dataset's ``skip_counts``), with the first few named;
  targets whose annotation fails when loaded (e.g. an empty mask file), named;
* image size vs the size the annotations give (``height``/``width``, a mask file's size, an RLE's
  ``size``), read from the file headers;
* each box vs its mask's bounding rectangle: agree (IoU >= 0.9), looks like xywh read as xyxy,
  looks like xyxy read as xywh, or disagree;
* the contour budget rule (:class:`~recs4r_mm.structures.ContourBudget` of
  ``ContourSequenceCoder.from_model_cfg(cfg.model).budget``) on every target: histograms of
  parts and holes, how many targets it reduces, and the Fill IoU (GT mask vs the Fill of the
  encoded sequence) of all targets and of the reduced ones (mean, 5th percentile, worst with its
  record);
* expression length in text-encoder tokens (``[CLS]``/``[SEP]`` included) vs ``max_tokens``.

Masks are measured at the size the model encodes them: the split's own ``LoadRECSAnnotations``
decodes the mask at the original image size (where boxes and sizes are compared), then the
split's own ``Resize`` step (the first pipeline step whose name ends with ``Resize``) resizes it,
as the training pipeline does before packing. Test pipelines resize the image only; their masks
are measured at the size training would encode them. Box-only targets are not encoded (the model
trains on their box contour).

No paper part; usage: docs/get_started.md §5 "Checking a dataset before training"; the budget rule:
docs/design.md §6 "Fragmented targets".
"""
import copy
import json
import os
import os.path as osp
import sys
from collections import Counter, OrderedDict, defaultdict
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.logging import print_log

from .base_referring import BaseReferringDataset, read_image_size
from .mask_io import mask_box, unwrap_segmentation

SPLITS = ('train', 'val', 'test')
BOX_IOU_AGREE = 0.9
BOX_CLASSES = ('agree', 'xywh_read_as_xyxy', 'xyxy_read_as_xywh', 'disagree')
BOX_CLASS_TEXT = dict(agree='agree', xywh_read_as_xyxy='look like xywh read as xyxy',
                      xyxy_read_as_xywh='look like xyxy read as xywh', disagree='disagree')
PART_BINS = ((1, 1), (2, 2), (3, 5), (6, 10), (11, 20), (21, 50), (51, None))
HOLE_BINS = ((0, 0), ) + PART_BINS
MAX_EXAMPLES = 5


# ---------------------------------------------------------------------- small helpers
def bin_label(lo: int, hi: Optional[int]) -> str:
    if hi is None:
        return f'>{lo - 1}'
    return str(lo) if lo == hi else f'{lo}-{hi}'


def histogram(values: Sequence[int], bins=PART_BINS) -> Dict[str, int]:
    """Counts of ``values`` per bin ``(lo, hi)`` (``hi=None``: open), keyed '1', '3-5', '>50'."""
    out = OrderedDict((bin_label(lo, hi), 0) for lo, hi in bins)
    for v in values:
        for lo, hi in bins:
            if v >= lo and (hi is None or v <= hi):
                out[bin_label(lo, hi)] += 1
                break
    return dict(out)


def box_iou(a, b) -> float:
    """IoU of two xyxy boxes (0 when either is degenerate)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a[2] <= a[0] or a[3] <= a[1] or b[2] <= b[0] or b[3] <= b[1]:
        return 0.0
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    return float(inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter))


def classify_box(box, mask: np.ndarray, thr: float = BOX_IOU_AGREE) -> Tuple[str, float]:
    """How an xyxy annotation ``box`` relates to the bounding rectangle of ``mask``.

    The mask's rectangle is taken both as pixel coverage (x2 = last column + 1) and inclusive
    (x2 = last column); the better IoU counts. Returns the class (:data:`BOX_CLASSES`) and the
    IoU of the box as read:

    * ``agree``: IoU >= ``thr``;
    * ``xywh_read_as_xyxy``: the box read as ``(x, y, w, h)`` (-> ``(x, y, x + w, y + h)``)
      would agree: xywh data was read as xyxy;
    * ``xyxy_read_as_xywh``: undoing an xywh -> xyxy conversion (``(x1, y1, x2 - x1, y2 - y1)``
      taken as xyxy) would agree: xyxy data was read as xywh;
    * ``disagree``: none of these.
    """
    cover = np.asarray(mask_box(mask), np.float64)
    refs = (cover, cover - np.array([0, 0, 1, 1]))

    def iou(b):
        return max(box_iou(b, r) for r in refs)

    x1, y1, x2, y2 = [float(v) for v in box]
    as_read = iou([x1, y1, x2, y2])
    if as_read >= thr:
        return 'agree', as_read
    if iou([x1, y1, x1 + x2, y1 + y2]) >= thr:
        return 'xywh_read_as_xyxy', as_read
    if iou([x1, y1, x2 - x1, y2 - y1]) >= thr:
        return 'xyxy_read_as_xywh', as_read
    return 'disagree', as_read


def iou_summary(values: Sequence[float], names: Sequence[str]) -> Dict:
    """``count``, ``mean``, ``p5`` (5th percentile), ``worst`` and ``worst_record``."""
    if not len(values):
        return dict(count=0, mean=None, p5=None, worst=None, worst_record=None)
    v = np.asarray(values, np.float64)
    k = int(np.argmin(v))
    return dict(count=int(v.size), mean=float(v.mean()), p5=float(np.percentile(v, 5)),
                worst=float(v[k]), worst_record=names[k])


def _hw_text(hw) -> str:
    return f'{hw[0]}x{hw[1]}'


# ---------------------------------------------------------------------- text
def build_token_counter(text_encoder_cfg) -> Tuple[Callable, str, bool]:
    """A function ``texts -> token counts`` (``[CLS]``/``[SEP]`` included, no truncation), what
    it is, and whether it is the whitespace fallback.

    Uses the config's WordPiece ``vocab_file`` when it exists, else ``name_or_path`` from a local
    directory or the HuggingFace cache (``local_files_only``: never downloads). Otherwise the
    count is whitespace words + 2, a lower bound of the WordPiece count.
    """
    cfg = dict(text_encoder_cfg or {})
    lower = cfg.get('do_lower_case', True)
    reason = 'the config has no text encoder'
    tokenizer = None
    try:
        from transformers import BertTokenizerFast
        vocab, name = cfg.get('vocab_file'), cfg.get('name_or_path')
        if vocab:
            if osp.isfile(vocab):
                tokenizer = BertTokenizerFast(vocab_file=vocab, do_lower_case=lower)
                what = f'BertTokenizerFast(vocab_file={vocab})'
            else:
                reason = f'vocab_file {vocab} not found'
        if tokenizer is None and name:
            try:
                tokenizer = BertTokenizerFast.from_pretrained(name, do_lower_case=lower,
                                                              local_files_only=True)
                what = f'BertTokenizerFast({name})'
            except Exception as e:  # noqa: BLE001 - not available locally: fall back
                reason = f'tokenizer {name!r} not available locally ({type(e).__name__})'
    except ImportError as e:
        reason = f'transformers not importable ({e})'
    if tokenizer is not None:

        def count(texts):
            if not texts:
                return []
            ids = tokenizer(list(texts), add_special_tokens=True, truncation=False)['input_ids']
            return [len(i) for i in ids]

        return count, what, False

    def count_words(texts):
        return [len(t.split()) + 2 for t in texts]

    return count_words, f'whitespace words + [CLS]/[SEP] (no local tokenizer: {reason})', True


# ---------------------------------------------------------------------- building
def _referring_datasets(dataset) -> List[BaseReferringDataset]:
    """The referring datasets inside ``dataset`` (itself, or those of mmengine wrappers)."""
    if isinstance(dataset, BaseReferringDataset):
        return [dataset]
    inner = getattr(dataset, 'datasets', None)
    if inner is None and getattr(dataset, 'dataset', None) is not None:
        inner = [dataset.dataset]
    out = []
    for d in inner or []:
        out += _referring_datasets(d)
    return out


def build_split(ds_cfg) -> Tuple[List[Tuple[str, BaseReferringDataset]], Optional[str]]:
    """Build ``ds_cfg`` as the runner would; the referring dataset(s) inside, each fully
    initialised or with its init error.

    A referring dataset is built with ``lazy_init=True`` and initialised here, so that a split
    whose records are all bad (``ValueError: no valid sample found``) still reports its
    ``skip_counts``; init errors (a missing file...) are reported the same way.
    Returns ``([(init error or '', dataset), ...], build error or None)``.
    """
    from recs4r_mm.registry import DATASETS
    ds_cfg = copy.deepcopy(ds_cfg)
    if 'pipeline' in ds_cfg:
        ds_cfg['lazy_init'] = True
    try:
        top = DATASETS.build(ds_cfg)
    except Exception as e:  # noqa: BLE001 - reported per split
        return [], f'{type(e).__name__}: {e}'
    out = []
    for ds in _referring_datasets(top):
        try:
            ds.full_init()
            out.append(('', ds))
        except Exception as e:  # noqa: BLE001 - no valid sample, missing file...: reported
            out.append((f'{type(e).__name__}: {e}', ds))
    if not out:
        return [], f'{type(top).__name__} holds no RECS referring dataset'
    return out, None


# ---------------------------------------------------------------------- per dataset
class _Examples:
    """Counts per reason with the first few names of each."""

    def __init__(self, limit=MAX_EXAMPLES):
        self.limit = limit
        self.counts = Counter()
        self.names = defaultdict(list)

    def add(self, reason: str, name: str):
        self.counts[reason] += 1
        if len(self.names[reason]) < self.limit:
            self.names[reason].append(name)

    def as_dict(self):
        return dict(count=sum(self.counts.values()), by_reason=dict(self.counts),
                    examples={k: list(v) for k, v in self.names.items()})


def _short_path(path: str, root: str) -> str:
    path = str(path)
    if root and osp.abspath(path).startswith(osp.abspath(root) + os.sep):
        return osp.relpath(path, root)
    return path


def _ref_key(info: Dict) -> Tuple:
    inst = (info.get('instances') or [{}])[0]
    bbox = inst.get('bbox')
    return (info.get('img_path'), str(info.get('ref_id')),
            tuple(bbox) if bbox is not None else None)


def _pipeline_steps(dataset):
    """The split's own ``LoadRECSAnnotations``, ``Resize`` and ``CleanText`` instances."""
    from .transforms import CleanText, LoadRECSAnnotations
    steps = list(getattr(getattr(dataset, 'pipeline', None), 'transforms', []) or [])
    loader = next((t for t in steps if isinstance(t, LoadRECSAnnotations)), None)
    loader = copy.copy(loader) if loader is not None else LoadRECSAnnotations()
    loader.with_mask, loader.with_bbox = True, True
    loader._warned = set()
    resize = next((t for t in steps if type(t).__name__.endswith('Resize')), None)
    cleaners = [t for t in steps if isinstance(t, CleanText)]
    return loader, resize, cleaners


def _skipped_names(dataset, limit=MAX_EXAMPLES) -> Dict[str, List[str]]:
    """The first few skipped records per reason, as the dataset named them when it skipped
    them (``BaseReferringDataset.skip_examples``)."""
    examples = getattr(dataset, 'skip_examples', None) or {}
    return {k: list(v)[:limit] for k, v in examples.items()}


class _TargetChecks:
    """The per-target checks (sizes, box vs mask, budget rule), accumulated over a split."""

    def __init__(self, loader, resize, budget, max_examples: int = MAX_EXAMPLES):
        self.loader, self.resize, self.budget = loader, resize, budget
        self.max_examples = max_examples
        self.load_errors = _Examples(max_examples)
        self.sizes = _Examples(max_examples)
        self.boxes = Counter({k: 0 for k in BOX_CLASSES})
        self.box_examples = defaultdict(list)
        self.not_compared = Counter(box_only=0, derived_from_mask=0)
        self.parts, self.holes, self.reduced_examples = [], [], []
        self.iou_all, self.names_all, self.iou_red, self.names_red = [], [], [], []
        self.encode_sizes = Counter()
        self.box_only = self.vanished = 0
        self._headers = {}

    def header(self, path: str):
        """``(h, w)`` of an image/mask file header (cached)."""
        if path not in self._headers:
            self._headers[path] = read_image_size(path)
        return self._headers[path]

    def __call__(self, info: Dict, name: str) -> None:
        try:
            self._check(info, name)
        except Exception as e:  # noqa: BLE001 - a target that fails when loaded is reported
            self.load_errors.add(type(e).__name__, f'{name}: {e}')

    def _check(self, info: Dict, name: str) -> None:
        inst = (info.get('instances') or [{}])[0]
        img_hw = self.header(info['img_path'])
        self._check_size(info, inst, img_hw, name)
        results = copy.deepcopy(info)
        results['ori_shape'] = results['img_shape'] = tuple(img_hw)
        results = self.loader(results)
        if results is None:
            raise ValueError('empty or degenerate mask (skipped when loaded)')
        mask = np.asarray(results['gt_masks'].masks[0], bool)
        if info.get('box_only'):
            self.not_compared['box_only'] += 1
        elif inst.get('bbox') is None:
            self.not_compared['derived_from_mask'] += 1
        else:
            self._check_box(inst['bbox'], mask, name)
        if self.budget is None:
            return
        if info.get('box_only'):
            self.box_only += 1
            return
        if self.resize is not None:
            results['img'] = np.zeros(tuple(img_hw), np.uint8)  # Resize needs an image
            results = self.resize(results)
            mask = np.asarray(results['gt_masks'].masks[0], bool)
        self._check_budget(mask, name)

    def _check_size(self, info, inst, img_hw, name):
        given = []
        if info.get('height') and info.get('width'):
            given.append(('height/width', (int(info['height']), int(info['width']))))
        src = unwrap_segmentation(inst.get('mask'))
        if isinstance(src, str) and not info.get('box_only'):
            given.append(('mask file', self.header(src)))
        elif isinstance(src, dict) and src.get('size') is not None:
            given.append(('RLE size', tuple(int(v) for v in src['size'][:2])))
        bad = [f'{what} {_hw_text(hw)}' for what, hw in given if tuple(hw) != tuple(img_hw)]
        if bad:
            self.sizes.add('image size differs',
                           f'{name}: image {_hw_text(img_hw)} (HxW), ' + ', '.join(bad))

    def _check_box(self, bbox, mask, name):
        kind, iou = classify_box(bbox, mask)
        self.boxes[kind] += 1
        if kind != 'agree' and len(self.box_examples[kind]) < self.max_examples:
            self.box_examples[kind].append(
                f'{name}: box {[round(float(v), 1) for v in bbox]}, mask box '
                f'{mask_box(mask)}, IoU {iou:.2f}')

    def _check_budget(self, mask, name):
        self.encode_sizes[tuple(mask.shape[:2])] += 1
        try:
            _, _, rec = self.budget.encode_mask(mask, measure_iou='always')
        except ValueError:  # empty at the encoding size: the model trains on the box
            self.vanished += 1
            return
        self.parts.append(rec.num_parts)
        self.holes.append(rec.num_holes)
        self.iou_all.append(rec.fill_iou)
        self.names_all.append(name)
        if rec.reduced:
            self.iou_red.append(rec.fill_iou)
            self.names_red.append(name)
            if len(self.reduced_examples) < self.max_examples:
                self.reduced_examples.append(
                    f'{name}: {rec.num_parts} part(s), {rec.num_holes} hole(s), dropped '
                    f'{rec.dropped_parts} part(s) + {rec.dropped_holes} hole(s), Fill IoU '
                    f'{rec.fill_iou:.3f}')

    def report(self) -> Dict:
        out = dict(
            load_errors=self.load_errors.as_dict(),
            size_mismatch=self.sizes.as_dict(),
            boxes=dict(compared=sum(self.boxes.values()),
                       **{k: self.boxes[k] for k in BOX_CLASSES},
                       not_compared=dict(self.not_compared),
                       examples=dict(self.box_examples), iou_threshold=BOX_IOU_AGREE))
        b = self.budget
        if b is not None:
            out['budget'] = dict(
                num_vertices=b.num_vertices, max_len=b.max_len, prefix_len=b.prefix_len,
                max_contours=b.max_contours, with_holes=b.with_holes,
                resize=repr(self.resize).replace('\n', ' ') if self.resize else None,
                encode_sizes={_hw_text(k): v for k, v in self.encode_sizes.most_common()},
                targets=len(self.iou_all), reduced=len(self.iou_red),
                reduced_examples=self.reduced_examples, box_only=self.box_only,
                vanished_after_resize=self.vanished,
                parts_hist=histogram(self.parts, PART_BINS),
                holes_hist=histogram(self.holes, HOLE_BINS),
                fill_iou_all=iou_summary(self.iou_all, self.names_all),
                fill_iou_reduced=iou_summary(self.iou_red, self.names_red))
        return out


def check_dataset(dataset: BaseReferringDataset,
                  budget=None,
                  count_tokens: Optional[Callable] = None,
                  tokenizer_name: str = '',
                  max_tokens: Optional[int] = None,
                  max_records: Optional[int] = None,
                  progress: bool = True,
                  max_examples: int = MAX_EXAMPLES) -> Dict:
    """Report on one fully initialised referring dataset (see the module docstring).

    Args:
        dataset: the dataset, as built for training/evaluation.
        budget (ContourBudget, optional): the model's budget rule; None skips that section.
        count_tokens (callable, optional): ``texts -> token counts`` (see
            :func:`build_token_counter`); None skips the expression section.
        tokenizer_name (str): what ``count_tokens`` is, for the report.
        max_tokens (int, optional): the text encoder's ``max_tokens``.
        max_records (int, optional): check only the first N refs (targets) and their
            expressions; the counts always cover the whole split.
        progress (bool): show a progress bar (stderr) over the checked refs.
        max_examples (int): how many records to name per finding.
    """
    root = getattr(dataset, 'data_root', '') or ''

    def name_of(rec):
        return f'{_short_path(rec.get("img_path"), root)} (ref {rec.get("ref_id")})'

    # counts, and the refs to check (one target per ref, with its expressions)
    refs: 'OrderedDict[Tuple, Dict]' = OrderedDict()
    images, n_expr = set(), 0
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        texts = list(info['texts']) if 'texts' in info else [info.get('text', '')]
        n_expr += len(texts)
        images.add(info.get('img_path'))
        refs.setdefault(_ref_key(info), dict(info=info, texts=[]))['texts'] += texts
    report = dict(dataset=type(dataset).__name__, source=dataset.source_name(),
                  samples=len(dataset), refs=len(refs), expressions=n_expr, images=len(images))
    report['skipped'] = dict(count=int(sum(dataset.skip_counts.values())),
                             by_reason=dict(dataset.skip_counts),
                             examples=_skipped_names(dataset, max_examples))

    todo = list(refs.values())
    if max_records is not None:
        todo = todo[:max(int(max_records), 0)]
    loader, resize, cleaners = _pipeline_steps(dataset)
    checks = _TargetChecks(loader, resize, budget, max_examples)
    bar = None
    if progress and todo:
        from mmengine.utils import ProgressBar
        bar = ProgressBar(len(todo), file=sys.stderr)
    for item in todo:
        checks(item['info'], name_of(item['info']))
        if bar is not None:
            bar.update()
    if bar is not None:
        sys.stderr.write('\n')
    report['checked_refs'] = len(todo)
    report.update(checks.report())
    if count_tokens is not None:
        report['text'] = _check_texts(todo, name_of, cleaners, count_tokens, tokenizer_name,
                                      max_tokens, max_examples)
    return report


def _check_texts(todo, name_of, cleaners, count_tokens, tokenizer_name, max_tokens,
                 max_examples):
    texts, names, empty = [], [], _Examples(max_examples)
    for item in todo:
        for text in item['texts']:
            res = dict(text=text, img_path=item['info'].get('img_path'))
            try:
                for step in cleaners:
                    res = step.transform(res)
            except ValueError:
                empty.add('empty after CleanText', name_of(item['info']))
                continue
            texts.append(res['text'])
            names.append(name_of(item['info']))
    counts = count_tokens(texts)
    out = dict(tokenizer=tokenizer_name, max_tokens=max_tokens, expressions=len(texts),
               longest=max(counts) if counts else 0,
               mean=float(np.mean(counts)) if counts else None,
               empty_after_cleaning=empty.as_dict()['count'])
    if max_tokens is not None:
        cut = [k for k, n in enumerate(counts) if n > max_tokens]
        cut.sort(key=lambda k: -counts[k])
        out['cut'] = len(cut)
        out['cut_examples'] = [f'{names[k]}: "{texts[k]}" ({counts[k]} tokens)'
                               for k in cut[:max_examples]]
    return out


# ---------------------------------------------------------------------- per config
def split_configs(cfg, split: str = 'train') -> List[Tuple[str, Dict]]:
    """``[(name, dataset cfg), ...]`` of ``split`` ('train', 'val', 'test' or 'all'); with 'all'
    a split whose dataset dict equals an earlier one's is named with it ('val=test').

    Raises:
        KeyError: the config has no dataloader for the requested split.
    """
    wanted = SPLITS if split == 'all' else (split, )
    out = []
    for s in wanted:
        loader = cfg.get(f'{s}_dataloader')
        if not loader or not loader.get('dataset'):
            if split == 'all':
                continue
            raise KeyError(f'the config has no {s}_dataloader.dataset')
        ds = loader['dataset']
        ds = ds.to_dict() if hasattr(ds, 'to_dict') else dict(ds)
        for k, (name, other) in enumerate(out):
            if other == ds:
                out[k] = (f'{name}={s}', other)
                break
        else:
            out.append((s, ds))
    if not out:
        raise KeyError('the config has no train/val/test dataloader with a dataset')
    return out


def check_config(cfg, split: str = 'train', max_records: Optional[int] = None,
                 progress: bool = True) -> Dict:
    """Build the datasets of ``split`` from ``cfg`` (an mmengine ``Config``, already with its
    overrides and default scope) and check each. Returns the report (see :func:`problems`)."""
    budget, budget_note = None, ''
    model = cfg.get('model')
    if model and model.get('head'):
        from recs4r_mm.models.task_modules import ContourSequenceCoder
        budget = ContourSequenceCoder.from_model_cfg(model).budget
    else:
        budget_note = 'the config has no model head: contour budget not checked'
    text_cfg = (model or {}).get('text_encoder')
    count_tokens, tok_name, fallback = build_token_counter(text_cfg)
    max_tokens = (text_cfg or {}).get('max_tokens')
    report = dict(splits=OrderedDict(), budget_note=budget_note, tokenizer=tok_name,
                  tokenizer_fallback=fallback)
    for name, ds_cfg in split_configs(cfg, split):
        print_log(f'check_dataset: building the {name} dataset ({ds_cfg.get("type")})',
                  logger='current')
        datasets, error = build_split(ds_cfg)
        if error:
            report['splits'][name] = dict(error=error, samples=0)
            continue
        for k, (init_error, ds) in enumerate(datasets):
            key = name if len(datasets) == 1 else f'{name}[{k}]'
            if init_error:
                rep = dict(dataset=type(ds).__name__, source=ds.source_name(), samples=0,
                           error=init_error)
                rep['skipped'] = dict(count=int(sum(ds.skip_counts.values())),
                                      by_reason=dict(ds.skip_counts),
                                      examples=_skipped_names(ds))
            else:
                rep = check_dataset(ds, budget, count_tokens, tok_name, max_tokens,
                                    max_records, progress)
            report['splits'][key] = rep
    report['problems'] = problems(report)
    return report


def problems(report: Dict) -> List[str]:
    """What makes the tool exit non-zero: a split that failed to build or is empty, or one
    where most compared boxes (> 50 %) disagree with their masks."""
    out = []
    for name, rep in report['splits'].items():
        if rep.get('error'):
            out.append(f'{name}: {rep["error"]}')
        elif not rep.get('samples'):
            out.append(f'{name}: the split is empty')
        boxes = rep.get('boxes') or {}
        if boxes.get('compared') and boxes['agree'] * 2 < boxes['compared']:
            n = boxes['compared'] - boxes['agree']
            out.append(f'{name}: {n} of {boxes["compared"]} boxes disagree with their masks '
                       f'({boxes["xywh_read_as_xyxy"]} look like xywh read as xyxy, '
                       f'{boxes["xyxy_read_as_xywh"]} like xyxy read as xywh): check the box '
                       'format (e.g. the dataset\'s bbox_format)')
    return out


# ---------------------------------------------------------------------- output
def _fmt_iou(s: Dict) -> str:
    if not s['count']:
        return 'none'
    return (f'mean {s["mean"]:.3f} | p5 {s["p5"]:.3f} | worst {s["worst"]:.3f} '
            f'({s["worst_record"]})')


def _examples_lines(examples: Dict, indent='    ') -> List[str]:
    lines = []
    for reason, names in examples.items():
        for n in names:
            lines.append(f'{indent}{reason}: {n}')
    return lines


def format_report(report: Dict) -> str:
    """The report as readable text."""
    lines = []
    if report.get('budget_note'):
        lines.append(f'note: {report["budget_note"]}')
    for name, rep in report['splits'].items():
        lines.append(f'== {name}: {rep.get("source", rep.get("dataset", ""))} ==')
        if rep.get('error'):
            lines.append(f'  ERROR {rep["error"]}')
        if 'refs' in rep:
            lines.append(f'  samples {rep["samples"]} | refs {rep["refs"]} | expressions '
                         f'{rep["expressions"]} | images {rep["images"]}')
        sk = rep.get('skipped')
        if sk is not None:
            detail = ', '.join(f'{n} {k}' for k, n in sorted(sk['by_reason'].items()))
            lines.append(f'  skipped at init: {sk["count"]}' + (f' ({detail})' if detail else ''))
            lines += _examples_lines(sk['examples'])
        if 'checked_refs' not in rep:
            continue
        lines.append(f'  checked refs: {rep["checked_refs"]} of {rep["refs"]}')
        le = rep['load_errors']
        lines.append(f'  failed when loaded: {le["count"]}')
        lines += _examples_lines(le['examples'])
        sz = rep['size_mismatch']
        lines.append(f'  image size != annotation size: {sz["count"]}')
        lines += _examples_lines(sz['examples'])
        b = rep['boxes']
        nc = b['not_compared']
        lines.append(f'  boxes vs mask boxes (agree: IoU >= {b["iou_threshold"]}): '
                     f'{b["compared"]} compared: '
                     + ', '.join(f'{b[k]} {BOX_CLASS_TEXT[k]}' for k in BOX_CLASSES)
                     + f'; not compared: {nc["box_only"]} box-only, '
                     f'{nc["derived_from_mask"]} derived from the mask')
        lines += _examples_lines(b['examples'])
        bud = rep.get('budget')
        if bud:
            sizes = ', '.join(f'{k} ({v})' for k, v in bud['encode_sizes'].items()) or '-'
            lines.append(f'  contour budget: num_vertices={bud["num_vertices"]}, max_len='
                         f'{bud["max_len"]}, prefix {bud["prefix_len"]} -> at most '
                         f'{bud["max_contours"]} contours; masks encoded at HxW {sizes}')
            lines.append('    parts: ' + ' | '.join(
                f'{k}: {v}' for k, v in bud['parts_hist'].items()))
            lines.append('    holes: ' + ' | '.join(
                f'{k}: {v}' for k, v in bud['holes_hist'].items()))
            lines.append(f'    reduced: {bud["reduced"]} of {bud["targets"]} targets '
                         f'({bud["box_only"]} box-only not encoded, '
                         f'{bud["vanished_after_resize"]} vanished in resizing)')
            lines += [f'      {r}' for r in bud['reduced_examples']]
            lines.append(f'    Fill IoU, all targets: {_fmt_iou(bud["fill_iou_all"])}')
            lines.append(f'    Fill IoU, reduced:     {_fmt_iou(bud["fill_iou_reduced"])}')
        t = rep.get('text')
        if t:
            cut = (f'{t["cut"]} of {t["expressions"]} cut at max_tokens={t["max_tokens"]}'
                   if t['max_tokens'] is not None else 'no max_tokens in the config')
            lines.append(f'  expressions: {cut}; longest {t["longest"]} tokens '
                         f'[{t["tokenizer"]}]')
            lines += [f'    {e}' for e in t.get('cut_examples', [])]
            if t['empty_after_cleaning']:
                lines.append(f'    {t["empty_after_cleaning"]} empty after CleanText')
    probs = report.get('problems') or []
    lines.append('PROBLEMS:' if probs else 'no blocking problem found')
    lines += [f'  {p}' for p in probs]
    return '\n'.join(lines)


def write_json_atomic(obj, path: str) -> None:
    """Write ``obj`` as JSON to ``path`` via a temp file in the same folder and a rename, so no
    half-written report is left behind."""
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = osp.join(folder, f'.{osp.basename(path)}.{os.getpid()}.tmp')
    try:
        with open(tmp, 'w') as f:
            json.dump(obj, f, indent=2)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise
