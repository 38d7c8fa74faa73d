"""Scene-scale referring: a raster and expressions in, polygons in native pixels out.

RECS4R's coarse-to-fine flow (CVPR 2026, Overall Architecture) stretched over a scene far
larger than the network input: the coarse pass sees an overview of the whole scene at the
config's input size; each fine pass reads a window of the file around the previous box (the
config's margin, resampled to ``refine.input_size``), with RCE taking the coarse visual map as
its residual, exactly as the detector's fine pass on a chip. When the overview is much coarser
than the file, fine passes are repeated (a pyramid of windows, each around the previous
contour) until a window is read at native resolution or stops shrinking. Usage and the stop
rule: docs/scene_inference.md.

    >>> from recs4r_mm.apis import SceneInferencer, SceneRaster
    >>> infer = SceneInferencer('configs/recs4r_tiny_synthetic.py', 'best.pth', device='cpu')
    >>> with SceneRaster('scene.tif') as scene:
    ...     preds = infer(scene, ['the large storage tank on the left'])
    >>> preds[0]['polygons'], preds[0]['passes']
"""
from typing import Dict, List, Optional, Sequence, Tuple

import mmcv
import numpy as np
import torch
from mmengine.logging import print_log
from mmengine.utils import ProgressBar
from torch import Tensor

from recs4r_mm.models.layers.roi_crop import crop_to_image_coords, expand_boxes
from recs4r_mm.structures import TOKEN_END, polygons_to_box, polygons_to_oriented_box
from .inferencer import RECSInferencer
from .scene_raster import SceneError, SceneRaster

# a further fine pass is run only if its window would be at most this fraction of the last
# one's side (it would zoom in by at least 1.25x)
SHRINK = 0.8


class SceneInferencer:
    """Coarse pass on the overview, a pyramid of fine passes on windows of the file.

    Args:
        model (str | Config): a two-stage RECS4R config (its test pipeline's ``Resize`` gives
            the coarse input size, ``model.refine`` the fine size, margin and minimum crop).
        weights (str, optional): checkpoint (see :class:`RECSInferencer`).
        device (str, optional): ``'cpu'``, ``'cuda'`` ...
        max_passes (int): most fine passes per expression (at least ``refine.test_passes``
            are run, as on a chip).
        show_progress (bool): a progress bar over the expressions.
    """

    def __init__(self, model, weights: Optional[str] = None, device: Optional[str] = None,
                 max_passes: int = 8, show_progress: bool = False) -> None:
        self._attach(RECSInferencer(model=model, weights=weights, device=device), max_passes,
                     show_progress)

    @classmethod
    def from_inferencer(cls, inferencer: RECSInferencer, max_passes: int = 8,
                        show_progress: bool = False) -> 'SceneInferencer':
        """A scene inferencer sharing ``inferencer``'s model and pipeline (no second copy of
        the weights; demo/web_demo.py serves both from one model)."""
        self = cls.__new__(cls)
        self._attach(inferencer, max_passes, show_progress)
        return self

    def _attach(self, inferencer: RECSInferencer, max_passes: int, show_progress: bool) -> None:
        self.inferencer = inferencer
        self.model = self.inferencer.model
        self.cfg = self.inferencer.cfg
        if not self.model.two_stage:
            raise ValueError(f'{self.cfg.filename}: scene inference needs the fine stage '
                             '(model.refine is None)')
        refine = self.model.refine_cfg
        self.fine_size = int(refine['input_size'])
        self.min_passes = int(refine['test_passes'])
        self.max_passes = max(int(max_passes), self.min_passes)
        self.show_progress = show_progress
        self.resize = next((t for t in self.inferencer.pipeline.transforms
                            if type(t).__name__ == 'Resize' and t.scale is not None), None)
        if self.resize is None:
            raise ValueError(f'{self.cfg.filename}: the test pipeline has no Resize to a fixed '
                             'scale, so the coarse input size is unknown')

    # -- frames --------------------------------------------------------------------------------
    def input_hw(self, width: int, height: int) -> Tuple[int, int]:
        """Size (h, w) the overview of a ``width`` x ``height`` scene is read at: what the test
        pipeline's ``Resize`` would make of it (so that ``Resize`` is then a no-op)."""
        if self.resize.keep_ratio:
            w, h = mmcv.rescale_size((width, height), self.resize.scale)
            return int(h), int(w)
        return int(self.resize.scale[1]), int(self.resize.scale[0])

    # -- passes --------------------------------------------------------------------------------
    def _coarse(self, overview: np.ndarray, texts: Sequence[str]):
        """Coarse pass on the overview (h, w, 3) RGB for every text.

        Returns:
            tuple: visual map (B, C, h', w'), boxes (B, 4) normalised by the padded input,
            cleaned texts, their states ((B, T, C), (B, T)), the padded input (hp, wp), and
            ``empty`` (B,) bool: a generalized model's coarse sequence says "no target".
        """
        model, infer = self.model, self.inferencer
        bgr = np.ascontiguousarray(overview[..., ::-1])
        data = infer.collate_fn([infer.pipeline(dict(img=bgr, text=t)) for t in texts])
        data = model.data_preprocessor(data, False)
        inputs, samples = data['inputs'], data['data_samples']
        texts = [s.metainfo['text'] for s in samples]  # after the pipeline's text steps
        text, text_mask = model.encode_text(texts)
        memory, pad, vis = model.encode_stage(inputs, text, text_mask, fine=False)
        coarse = model.head.predict(memory, pad, memory_hw=vis.shape[-2:],
                                    pointer_prior=model.grounding(vis)[1])
        boxes = model.coder.rect(coarse['tokens'], coarse['coords'])  # B_c = Rect(P_c)
        return vis, boxes, texts, (text, text_mask), tuple(inputs.shape[-2:]), \
            self._says_no_target(coarse['tokens'])

    def _says_no_target(self, tokens: Tensor) -> Tensor:
        """(B,) bool: a generalized model's sequences (B, T) that are START, END."""
        if not getattr(self.model, 'generalized', False) or tokens.shape[1] < 2:
            return torch.zeros(len(tokens), dtype=torch.bool, device=tokens.device)
        return tokens[:, 1] == TOKEN_END

    def _windows(self, scene: SceneRaster, crops: Tensor) -> Tensor:
        """Read the windows ``crops`` (B, 4) region px at the fine size -> (B, 3, s, s)
        normalised by the model's data preprocessor."""
        s = self.fine_size
        imgs = [torch.from_numpy(np.ascontiguousarray(
            scene.read(c.tolist(), (s, s))[..., ::-1].transpose(2, 0, 1))) for c in crops.cpu()]
        return self.model.data_preprocessor(dict(inputs=imgs, data_samples=None),
                                            False)['inputs']

    def _fine(self, scene: SceneRaster, texts: Sequence[str], vis: Tensor, src: Tensor,
              crops: Tensor, to_input: Tensor, coarse_text: Tuple[Tensor, Tensor]
              ) -> Dict[str, Tensor]:
        """One fine pass: windows ``crops`` (B, 4) region px around ``src`` (B, 4) region px,
        as :meth:`RECS4R.fine_features` does on a chip but with the window read from the file.

        Returns:
            dict: ``tokens`` (B, T), ``coords`` (B, T, 2) normalised by the crop, ``scores``
            (the confidence head's probability when the model has one, as on a chip).
        """
        model = self.model
        images = self._windows(scene, crops)
        src_n = (src * to_input).clamp(0, 1)  # the normalised coarse-input frame, as the
        crop_n = crops * to_input  # detector's fine_features has them
        memory, pad, vis_f, _, prior = model.encode_fine(images, texts, vis, src_n, crop_n,
                                                         coarse_text)
        out = model.fine_modules.head.predict(memory, pad, memory_hw=vis_f.shape[-2:],
                                              pointer_prior=prior)
        scores = out['scores']
        if getattr(model, 'score_head', None) is not None:
            scores = model.score_head(memory, pad).sigmoid()
        hp, wp = images.shape[-2:]
        scale = torch.tensor([wp / self.fine_size, hp / self.fine_size], device=src.device)
        return dict(tokens=out['tokens'], coords=out['coords'] * scale, scores=scores)

    def _crop(self, box: Tensor, hw: Tensor, min_side: float) -> Tensor:
        """The window (4,) region px around ``box`` (4,): the config's margin and minimum size
        (``min_side`` native px), snapped outwards to whole pixels."""
        refine = self.model.refine_cfg
        crop = expand_boxes(box[None], hw[None], refine['margin'], min_side)[0]
        lo, hi = crop[:2].floor(), crop[2:].ceil()
        return torch.cat([lo.clamp(min=0), torch.minimum(hi, hw.flip(0))])

    # -- call ----------------------------------------------------------------------------------
    @torch.no_grad()
    def __call__(self, scene: SceneRaster, texts: Sequence[str], batch_size: int = 8,
                 score_thr: Optional[float] = None) -> List[Dict]:
        """Refer to one object per expression in ``scene``.

        A generalized model may answer "no target" (``no_target``, no polygon; it gives no
        GeoJSON feature); several objects come back as the union of their parts (one
        prediction, see docs/scene_inference.md "Generalized models").

        Args:
            score_thr (float, optional): drop the predictions whose ``score`` is under it
                (logged); None keeps all.

        Returns:
            list[dict]: per expression (kept) ``text``, ``score``, ``no_target``, ``passes``
            (fine passes run), ``polygons`` (``[dict(outer=(N, 2), holes=[...])]``, file
            pixels), ``bbox`` (Rect of the polygons, file px), ``oriented_box`` (file px, see
            :func:`recs4r_mm.structures.points_to_oriented_box`; None without polygons),
            ``coarse_box`` and ``windows`` (one xyxy per fine pass), file px, and
            ``resolution`` (native px per fine-input px of the last window).
        """
        texts = list(texts)
        if not texts:
            raise SceneError(f'no referring expression given for scene {scene.path}')
        for i, t in enumerate(texts):
            if not isinstance(t, str) or not t.strip():
                raise SceneError(f'empty referring expression (number {i + 1}) for scene '
                                 f'{scene.path}')
        hw_in = self.input_hw(scene.width, scene.height)
        overview = scene.overview(hw_in)
        bar = ProgressBar(len(texts)) if self.show_progress else None
        results = []
        for start in range(0, len(texts), batch_size):
            chunk = texts[start:start + batch_size]
            results.extend(self._run(scene, chunk, overview, hw_in))
            if bar is not None:
                bar.update(len(chunk))
        if bar is not None:
            bar.file.write('\n')  # the bar leaves its line open
        none = sum(p['no_target'] for p in results)
        if none:
            print_log(f'no target found for {none} of {len(results)} expression(s)',
                      logger='current')
        if score_thr is not None:
            kept = [p for p in results if p['score'] >= score_thr]
            print_log(f'dropped {len(results) - len(kept)} of {len(results)} features under '
                      f'score {score_thr:g}', logger='current')
            results = kept
        return results

    def _run(self, scene: SceneRaster, texts: Sequence[str], overview: np.ndarray,
             hw_in: Tuple[int, int]) -> List[Dict]:
        device = next(self.model.parameters()).device
        vis, boxes, clean, states, (hp, wp), empty = self._coarse(overview, texts)
        b = len(texts)
        size = torch.tensor([scene.width, scene.height] * 2, device=device, dtype=torch.float32)
        hw = torch.tensor([scene.height, scene.width], device=device, dtype=torch.float32)
        # region px <-> coarse input px (normalised by the padded input, as the detector's)
        per_px = torch.tensor([hw_in[1] / scene.width, hw_in[0] / scene.height] * 2,
                              device=device)
        to_input = per_px / torch.tensor([wp, hp, wp, hp], device=device)
        src = boxes * torch.tensor([wp, hp, wp, hp], device=device) / per_px
        coarse_px = src.clone()
        res = torch.full((b, ), max(scene.width / hw_in[1], scene.height / hw_in[0]))
        min_size = float(self.model.refine_cfg['min_size'])
        crops = torch.stack([self._crop(src[i], hw, min_size * float(res[i])) for i in range(b)])
        passes = [0] * b
        windows: List[List[List[float]]] = [[] for _ in range(b)]
        last: List[Optional[tuple]] = [None] * b
        active = list(range(b))
        while active:
            idx = torch.tensor(active, device=device)
            out = self._fine(scene, [clean[i] for i in active], vis[idx], src[idx], crops[idx],
                             to_input, (states[0][idx], states[1][idx]))
            coords = crop_to_image_coords(out['coords'], crops[idx], hw[None].expand(len(idx), 2))
            nxt = self.model.coder.rect(out['tokens'], coords) * size  # Rect(P_f), region px
            empty[idx] |= self._says_no_target(out['tokens']).to(empty.device)
            still = []
            for j, i in enumerate(active):
                passes[i] += 1
                windows[i].append(crops[i].tolist())
                last[i] = (out['tokens'][j], out['coords'][j], float(out['scores'][j]),
                           crops[i].clone())
                side = float((crops[i, 2:] - crops[i, :2]).max())
                res[i] = side / self.fine_size
                crop = self._crop(nxt[j], hw, min_size * float(res[i]))
                shrinks = float((crop[2:] - crop[:2]).max()) <= SHRINK * side
                if bool(empty[i]):  # "no target" (coarse or this pass): nothing to zoom into
                    continue
                if passes[i] < self.min_passes or (
                        passes[i] < self.max_passes and res[i] > 1 and shrinks):
                    src[i], crops[i] = nxt[j], crop
                    still.append(i)
            print_log(f'fine pass {max(passes[i] for i in active)}: {len(active)} window(s), '
                      f'{float(res[idx.cpu()].max()):.2f} native px per input px',
                      logger='current')
            active = still
        return [self._result(scene, texts[i], *last[i], passes[i], windows[i], coarse_px[i],
                             float(res[i]), bool(empty[i])) for i in range(b)]

    def _result(self, scene: SceneRaster, text: str, tokens: Tensor, coords: Tensor,
                score: float, crop: Tensor, passes: int, windows, coarse_box: Tensor,
                resolution: float, no_target: bool = False) -> Dict:
        """The last pass's sequence (crop-normalised coords) -> polygons in file pixels (the
        union of every object's parts for a generalized sequence; none for "no target")."""
        s = self.fine_size
        parts = [] if no_target else \
            self.model.coder.decode(tokens, coords, (s, s))[0]  # px of the s x s read
        lo = crop[:2].cpu().numpy().astype(np.float64)
        per = (crop[2:] - crop[:2]).cpu().numpy().astype(np.float64) / s

        def to_file(ring):
            return scene.to_file_pixels(lo + np.asarray(ring, np.float64) * per)

        parts = [dict(outer=to_file(p['outer']), holes=[to_file(h) for h in p['holes']])
                 for p in parts]
        offset = scene.to_file_pixels(np.zeros((1, 2)))[0].tolist() * 2
        return dict(
            text=text, score=score, no_target=no_target, passes=passes, polygons=parts,
            bbox=[float(v) for v in polygons_to_box(parts)] if parts else None,
            oriented_box=polygons_to_oriented_box(parts) if parts else None,
            coarse_box=[float(v) + o for v, o in zip(coarse_box.tolist(), offset)],
            windows=[[float(v) + o for v, o in zip(w, offset)] for w in windows],
            resolution=resolution)
