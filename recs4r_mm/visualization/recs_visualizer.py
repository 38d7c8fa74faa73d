"""Drawing a referring sample: mask overlay, box, numbered contour vertices and the expression.

No paper part; draws Rect(P) and Fill(P) (docs/design.md §4); docs/datasets.md "Browsing".
"""
import textwrap
from typing import List, Optional

import cv2
import mmcv
import numpy as np
import torch
from mmengine.visualization import Visualizer

from ..registry import VISUALIZERS
from ..structures import oriented_box_corners
from .scene_drawing import COLORS

GT_COLOR = (0, 200, 0)
PRED_COLORS = COLORS  # the k-th predicted instance; the first is red


def _to_numpy(x):
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    if hasattr(x, 'to_ndarray'):  # mmdet BitmapMasks / PolygonMasks
        return x.to_ndarray()
    return np.asarray(x)


@VISUALIZERS.register_module()
class RECSLocalVisualizer(Visualizer):
    """Draws GT (green) and prediction (red; further instances blue, yellow, ...) of one
    referring sample, every instance of each (0, 1 or several).

    Works as mmdet's ``DetLocalVisualizer`` does for ``DetVisualizationHook`` (``tools/test.py
    --show-dir``): ``add_datasample(name, image, data_sample, ...)``. Reads
    ``gt_instances.{bboxes,masks}``, ``pred_instances.{bboxes,masks,scores,polygons}`` (and
    ``oriented_bboxes`` (N, 5) when present, drawn in white) and
    ``metainfo['text']``; a prediction with no instance (a generalized model's "no target")
    is captioned "no target found". Images whose short side is below ``min_size`` are upscaled
    (nearest) so the vertex numbers stay legible.

    Args:
        min_size (int): smallest short side of the drawn canvas.
        draw_vertex_ids (bool): write each predicted vertex's index beside it.
        alpha (float): mask overlay opacity.
    """

    def __init__(self, name='visualizer', image=None, vis_backends=None, save_dir=None,
                 min_size=384, draw_vertex_ids=True, alpha=0.45, line_width=2):
        super().__init__(name=name, image=image, vis_backends=vis_backends, save_dir=save_dir)
        self.min_size = min_size
        self.draw_vertex_ids = draw_vertex_ids
        self.alpha = alpha
        self.line_width = line_width
        self.dataset_meta = {}

    def _draw_target(self, scale, mask, bbox, parts, color, number_vertices):
        """Overlay one instance's (mask (H, W), box (4,), parts); coordinates are in the
        image's pixel units."""
        canvas_hw = self.get_image().shape[:2]
        if mask is not None:
            mask = mask.astype(np.uint8)
            if mask.shape != canvas_hw:
                mask = cv2.resize(mask, canvas_hw[::-1], interpolation=cv2.INTER_NEAREST)
            if mask.any():
                self.draw_binary_masks(mask.astype(bool)[None], colors=color, alphas=self.alpha)
        if bbox is not None:
            self.draw_bboxes(bbox[None] * scale, edge_colors=color, line_widths=self.line_width)
        for part in parts or []:
            rings = [part['outer']] + list(part.get('holes', []))
            for ring in rings:
                ring = np.asarray(ring, dtype=np.float64) * scale
                if len(ring) < 2:
                    continue
                self.draw_polygons(ring, edge_colors=color, line_widths=self.line_width)
                self.draw_points(ring, colors=[color] * len(ring), sizes=np.full(len(ring), 12.0))
            if number_vertices:
                outer = np.asarray(part['outer'], dtype=np.float64) * scale
                step = max(1, len(outer) // 16)  # at most ~16 labels per part
                ids = list(range(0, len(outer), step))
                self.draw_texts([str(i) for i in ids], outer[ids], font_sizes=8, colors='yellow')

    def _draw_instances(self, scale, instances, colors, number_vertices, oriented=False) -> int:
        """Draw every instance of ``instances`` (the k-th in ``colors[k % len(colors)]``):
        mask, box, contours and, with ``oriented``, the oriented box. Returns their number."""
        masks, bboxes = instances.get('masks'), instances.get('bboxes')
        masks = None if masks is None else _to_numpy(masks)
        bboxes = None if bboxes is None else _to_numpy(bboxes).reshape(-1, 4)
        polygons = instances.get('polygons')
        if polygons is not None and len(polygons) and isinstance(polygons[0], dict):
            polygons = [polygons]  # the parts of a single instance
        obox = instances.get('oriented_bboxes') if oriented else None
        obox = None if obox is None else _to_numpy(obox).reshape(-1, 5)
        k = max(len(v) for v in (masks, bboxes, polygons, []) if v is not None)
        for i in range(k):
            color = colors[i % len(colors)]
            parts = polygons[i] if polygons is not None and i < len(polygons) else None
            self._draw_target(scale, masks[i] if masks is not None and i < len(masks) else None,
                              bboxes[i] if bboxes is not None and i < len(bboxes) else None,
                              parts, color, number_vertices)
            if obox is not None and i < len(obox) and parts:
                self._draw_oriented_box(scale, obox[i])
        return k

    def _draw_oriented_box(self, scale, oriented_bbox):
        """An oriented box (cx, cy, w, h, angle in degrees) as a white quadrilateral."""
        cx, cy, w, h, angle = (float(v) for v in oriented_bbox)
        corners = oriented_box_corners((cx, cy), w, h, angle) * scale
        self.draw_polygons(corners, edge_colors=(255, 255, 255), line_widths=1)

    def add_datasample(self, name: str, image: np.ndarray, data_sample=None, draw_gt: bool = True,
                       draw_pred: bool = True, show: bool = False, wait_time: float = 0,
                       out_file: Optional[str] = None, pred_score_thr: float = 0.0,
                       step: int = 0) -> np.ndarray:
        """Draw ``data_sample`` on ``image`` (RGB, H×W×3) and save/show/return the drawing."""
        image = np.ascontiguousarray(image[..., :3]).astype(np.uint8)
        scale = max(1.0, self.min_size / max(1, min(image.shape[:2])))
        if scale > 1:
            size = (int(round(image.shape[1] * scale)), int(round(image.shape[0] * scale)))
            image = cv2.resize(image, size, interpolation=cv2.INTER_NEAREST)
        self.set_image(image)
        drawn_width = image.shape[1]
        caption: List[str] = []
        if data_sample is not None:
            text = data_sample.metainfo.get('text')
            if text:
                caption.append(f'"{text}"')
            if draw_gt and 'gt_instances' in data_sample:
                self._draw_instances(scale, data_sample.gt_instances, [GT_COLOR],
                                     number_vertices=False)
            if draw_pred and 'pred_instances' in data_sample:
                pred = data_sample.pred_instances
                k = self._draw_instances(scale, pred, PRED_COLORS, self.draw_vertex_ids,
                                         oriented=True)
                if k == 0:
                    caption.append('no target found')
                elif 'scores' in pred and len(pred.scores):
                    caption.append((f'{k} objects, ' if k > 1 else '') +
                                   f'score {float(pred.scores[0]):.2f}')
        if caption:
            chars_per_line = max(20, drawn_width // 7)
            text = textwrap.fill('  '.join(caption), chars_per_line)
            self.draw_texts(text, np.array([4, 4]), font_sizes=10, colors='white',
                            bboxes=dict(facecolor='black', alpha=0.6, pad=2, edgecolor='none'))
        drawn = self.get_image()
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            mmcv.imwrite(drawn[..., ::-1], out_file)  # creates the directory
        else:
            self.add_image(name, drawn, step)
        return drawn
