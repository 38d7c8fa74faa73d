"""Single-image (or batched) referring inference in mmengine's BaseInferencer style.

No paper part: runs RECS4R (CVPR 2026, Overall Architecture) end to end; box = Rect(P_f),
mask = Fill(P_f) (docs/design.md §4). Usage: docs/get_started.md §4 "Demo", demo/README.md.

    >>> from recs4r_mm.apis import RECSInferencer
    >>> infer = RECSInferencer(model='configs/recs4r_tiny_synthetic.py', weights='best.pth')
    >>> out = infer('scene.png', 'the large storage tank on the left', out_dir='out/')
    >>> out['predictions'][0]['bbox'], out['predictions'][0]['polygons']
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Union

import mmcv
import numpy as np
import torch
from mmengine.dataset import Compose
from mmengine.infer import BaseInferencer
from mmengine.registry import init_default_scope
from mmengine.utils import mkdir_or_exist

from ..registry import VISUALIZERS
from ..structures import oriented_box_corners, oriented_box_to_list, polygons_to_oriented_box

InputImage = Union[str, np.ndarray]

# Transforms of a test pipeline that need annotations; inference drops them.
_ANNOTATION_TRANSFORMS = ('LoadAnnotations', 'LoadRECSAnnotations', 'ContourTarget')


def _is_transform(step, names):
    kind = step.get('type', '')
    kind = kind if isinstance(kind, str) else getattr(kind, '__name__', '')
    return kind.split('.')[-1] in names


def add_oriented_boxes(pred) -> torch.Tensor:
    """Attach ``pred.oriented_bboxes`` (N, 5) = (cx, cy, w, h, angle in degrees), the minimum-area
    rectangle of each instance's polygons (zeros without polygons; (0, 5) for no instance),
    and return it."""
    if 'oriented_bboxes' not in pred:
        boxes = torch.zeros(len(pred.polygons), 5)
        for i, parts in enumerate(pred.polygons):
            if parts:
                ob = polygons_to_oriented_box(parts)
                boxes[i] = torch.tensor([*ob['center'], ob['width'], ob['height'], ob['angle']])
        pred.oriented_bboxes = boxes
    return pred.oriented_bboxes


class RECSInferencer(BaseInferencer):
    """Image + referring expression -> polygons, box, mask and score.

    Args:
        model (str | Config): a config (path or object) whose ``test_dataloader`` pipeline is used.
        weights (str, optional): a checkpoint. A checkpoint whose weights do not fit the config
            raises a ``RuntimeError`` naming both.
        device (str, optional): ``'cpu'``, ``'cuda'`` ... (default: cuda when available).
    """
    visualize_kwargs = {'show', 'wait_time', 'draw_pred', 'img_out_dir'}
    postprocess_kwargs = {'return_datasamples', 'pred_out_dir'}

    def __init__(self, model, weights: Optional[str] = None, device: Optional[str] = None,
                 scope: Optional[str] = 'mmdet', show_progress: bool = False):
        if weights is not None and not osp.isfile(weights):
            raise FileNotFoundError(f'checkpoint {weights} does not exist')
        init_default_scope(scope)  # as mmdet's DetInferencer: our configs build in mmdet's scope
        super().__init__(model=model, weights=weights, device=device, scope=scope,
                         show_progress=show_progress)

    # -- set-up --------------------------------------------------------------------------------
    def _load_weights_to_model(self, model, checkpoint, cfg):
        if checkpoint is None:
            return super()._load_weights_to_model(model, checkpoint, cfg)
        state = checkpoint.get('state_dict', checkpoint)
        own = model.state_dict()
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        mismatched = [f'{k} {tuple(v.shape)} vs {tuple(own[k].shape)}' for k, v in state.items()
                      if k in own and own[k].shape != v.shape]
        if missing or unexpected or mismatched:
            raise RuntimeError(
                f'the checkpoint does not match the config {cfg.filename}: {len(missing)} '
                f'missing, {len(unexpected)} unexpected, {len(mismatched)} mismatched '
                f'weights (e.g. {(mismatched + missing + unexpected)[0]})')
        model.load_state_dict(state)
        meta = checkpoint.get('meta', {})
        model.dataset_meta = meta.get('dataset_meta', {'classes': ('object', )})

    def _init_pipeline(self, cfg) -> Compose:
        steps = [dict(step) for step in cfg.test_dataloader.dataset.pipeline
                 if not _is_transform(step, _ANNOTATION_TRANSFORMS)]
        if not steps or 'Load' not in str(steps[0].get('type')):
            raise ValueError(f'{cfg.filename}: the test pipeline must start with an image loader')
        steps[0] = dict(type='mmdet.InferencerLoader')  # accepts paths and arrays
        return Compose(steps)

    def _init_visualizer(self, cfg):
        return VISUALIZERS.build(dict(type='RECSLocalVisualizer', name=f'recs_infer_{id(self)}'))

    # -- call ----------------------------------------------------------------------------------
    @staticmethod
    def _pair_inputs(images, texts) -> List[Dict]:
        if isinstance(images, (str, np.ndarray)):
            images, texts = [images], [texts]
        elif isinstance(texts, str):
            texts = [texts] * len(images)
        if len(images) != len(texts):
            raise ValueError(f'got {len(images)} images but {len(texts)} expressions')
        pairs = []
        for image, text in zip(images, texts):
            if not isinstance(text, str) or not text.strip():
                name = image if isinstance(image, str) else 'array'
                raise ValueError(f'empty referring expression for image {name}')
            if isinstance(image, str):
                if not osp.isfile(image):
                    raise FileNotFoundError(f'image {image} does not exist')
                if mmcv.imread(image) is None:
                    raise ValueError(f'image {image} cannot be read as an image')
                pairs.append(dict(img_path=image, text=text.strip()))
            else:
                pairs.append(dict(img=mmcv.imconvert(image, 'rgb', 'bgr') if image.ndim == 3
                                  else image, text=text.strip()))
        return pairs

    def __call__(self, images: Union[InputImage, Sequence[InputImage]],
                 texts: Union[str, Sequence[str]], batch_size: int = 1,
                 out_dir: Optional[str] = None, show: bool = False,
                 return_datasamples: bool = False) -> dict:
        """Run on one image + expression, or on lists of them (images as paths or RGB arrays).

        Returns ``dict(predictions=[dict(text, bbox, score, polygons, oriented_box, objects,
        no_target, mask), ...], visualization=[RGB arrays])`` (:meth:`pred_to_dict`); with
        ``out_dir``, also writes ``vis/<name>.png`` and ``preds/<name>.json`` (the same keys
        but ``mask``) there.
        """
        pairs = self._pair_inputs(images, texts)
        img_out = osp.join(out_dir, 'vis') if out_dir else ''
        pred_out = osp.join(out_dir, 'preds') if out_dir else ''
        samples = []
        for data in self.preprocess(pairs, batch_size=batch_size):
            samples.extend(self.forward(data[1] if isinstance(data, tuple) else data))
        visualization = self.visualize(pairs, samples, show=show, img_out_dir=img_out)
        return self.postprocess(samples, visualization, return_datasamples=return_datasamples,
                                pred_out_dir=pred_out)

    def preprocess(self, inputs, batch_size=1, **kwargs):
        for start in range(0, len(inputs), batch_size):
            chunk = [self.pipeline(dict(item)) for item in inputs[start:start + batch_size]]
            yield self.collate_fn(chunk)

    @torch.no_grad()
    def forward(self, inputs, **kwargs):
        samples = self.model.test_step(inputs)
        for sample in samples:
            add_oriented_boxes(sample.pred_instances)
        return samples

    def visualize(self, inputs, preds, show=False, wait_time=0, draw_pred=True, img_out_dir=''):
        drawings = []
        for i, (item, sample) in enumerate(zip(inputs, preds)):
            if 'img_path' in item:
                image = mmcv.imread(item['img_path'], channel_order='rgb')
                name = osp.splitext(osp.basename(item['img_path']))[0]
            else:
                image = mmcv.imconvert(item['img'], 'bgr', 'rgb') if item['img'].ndim == 3 \
                    else item['img']
                name = f'{i:06d}'
            out_file = osp.join(img_out_dir, f'{name}_{i}.png') if img_out_dir else None
            drawings.append(self.visualizer.add_datasample(
                name, image, sample, draw_gt=False, draw_pred=draw_pred, show=show,
                wait_time=wait_time, out_file=out_file))
        return drawings

    @staticmethod
    def pred_to_dict(sample) -> dict:
        """One DetDataSample -> a JSON-able dict plus the mask array.

        ``objects``: one dict per predicted instance (K >= 0; K = 0 is "no target found" of a
        generalized model): ``bbox``, ``score``, ``polygons`` and ``oriented_box`` (the
        polygons' minimum-area rectangle as center, width, height, angle in degrees and
        corners; None without polygons). ``no_target``: K = 0. The top-level ``bbox``,
        ``score``, ``polygons``, ``oriented_box`` are the first object's (None, None, [], None
        when K = 0); ``mask`` (H, W) bool is the union of the instances' masks (all False when
        K = 0).
        """
        pred = sample.pred_instances
        masks = pred.masks.cpu().numpy() if isinstance(pred.masks, torch.Tensor) \
            else np.asarray(pred.masks)
        k = len(masks)
        obox = add_oriented_boxes(pred).tolist() if k else []
        objects = []
        for i in range(k):
            parts = pred.polygons[i] if i < len(pred.polygons) else []
            ob = None
            if parts:
                cx, cy, w, h, angle = obox[i]
                ob = oriented_box_to_list(dict(
                    center=(cx, cy), width=w, height=h, angle=angle,
                    corners=oriented_box_corners((cx, cy), w, h, angle)), 2)
            objects.append(dict(
                bbox=[float(v) for v in pred.bboxes[i].tolist()],
                score=float(pred.scores[i]),
                polygons=[dict(outer=np.asarray(p['outer']).round(2).tolist(),
                               holes=[np.asarray(h).round(2).tolist()
                                      for h in p.get('holes', [])]) for p in parts],
                oriented_box=ob))
        if k:
            mask = masks.any(0)
        else:
            hw = masks.shape[1:] if masks.ndim == 3 else sample.metainfo['ori_shape'][:2]
            mask = np.zeros(tuple(hw), bool)
        first = objects[0] if objects else dict(bbox=None, score=None, polygons=[],
                                                oriented_box=None)
        return dict(text=sample.metainfo.get('text', ''), **first, objects=objects,
                    no_target=not objects, mask=mask)

    def postprocess(self, preds, visualization, return_datasamples=False, pred_out_dir=''):
        results = [self.pred_to_dict(s) for s in preds]
        if pred_out_dir:
            import json
            mkdir_or_exist(pred_out_dir)
            for i, (sample, res) in enumerate(zip(preds, results)):
                name = osp.splitext(osp.basename(sample.metainfo.get('img_path') or f'{i:06d}'))[0]
                with open(osp.join(pred_out_dir, f'{name}_{i}.json'), 'w') as f:
                    json.dump({k: v for k, v in res.items() if k != 'mask'}, f, indent=1)
        out = dict(predictions=preds if return_datasamples else results,
                   visualization=visualization)
        return out
