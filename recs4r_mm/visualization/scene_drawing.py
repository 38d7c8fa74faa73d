"""Drawing scene predictions over an overview: polygons, oriented boxes and the fine windows
(:func:`draw_scene_predictions`), and the overview with one panel per fine window
(:func:`draw_scene_figure`, or :func:`draw_scene_raster` straight from a :class:`SceneRaster`).

No paper part; docs/scene_inference.md (the picture there is drawn by this).
"""
from typing import Callable, Dict, Optional, Sequence, Tuple

import cv2
import numpy as np

COLORS = ((230, 40, 40), (40, 120, 230), (240, 200, 20), (200, 60, 200), (40, 200, 200))


def draw_scene_predictions(overview: np.ndarray, preds: Sequence[Dict],
                           scale: Tuple[float, float], offset: Tuple[float, float] = (0, 0),
                           draw_windows: bool = True,
                           captions: Optional[Sequence[str]] = None) -> np.ndarray:
    """Draw predictions in file pixels on an overview (h, w, 3) RGB of the scene.

    Args:
        overview (np.ndarray): (h, w, 3) uint8 RGB.
        preds (Sequence[dict]): :class:`SceneInferencer` results (``polygons``,
            ``oriented_box``, ``windows``, ``text``, ``score``).
        scale (tuple): (sx, sy) overview px per file px.
        offset (tuple): file px of the overview's top-left corner.
        draw_windows (bool): also draw each fine pass's window (thin, grey).
        captions (Sequence[str], optional): one per prediction (default: its number,
            expression, score and passes, or "no target found").

    Returns:
        np.ndarray: (h, w, 3) uint8 RGB drawing (filled polygons half transparent, outlines,
        the oriented box in white, a numbered caption per expression).
    """
    canvas = np.ascontiguousarray(overview[..., :3]).copy()
    sx, sy = scale

    def to_px(xy) -> np.ndarray:
        xy = (np.asarray(xy, np.float64).reshape(-1, 2) - np.asarray(offset)) * (sx, sy)
        return np.round(xy * 16).astype(np.int32)  # 4 fractional bits for cv2's shift

    fill = canvas.copy()
    for k, pred in enumerate(preds):
        color = COLORS[k % len(COLORS)]
        for part in pred['polygons']:
            rings = [to_px(part['outer'])] + [to_px(h) for h in part['holes']]
            cv2.fillPoly(fill, rings, color, cv2.LINE_AA, shift=4)
    canvas = cv2.addWeighted(fill, 0.4, canvas, 0.6, 0)
    for k, pred in enumerate(preds):
        color = COLORS[k % len(COLORS)]
        if draw_windows:
            for x1, y1, x2, y2 in pred.get('windows', []):
                cv2.rectangle(canvas, tuple(to_px([x1, y1])[0]), tuple(to_px([x2, y2])[0]),
                              (160, 160, 160), 1, cv2.LINE_AA, shift=4)
        for part in pred['polygons']:
            rings = [to_px(part['outer'])] + [to_px(h) for h in part['holes']]
            cv2.polylines(canvas, rings, True, color, 2, cv2.LINE_AA, shift=4)
        if pred.get('oriented_box') is not None:
            cv2.polylines(canvas, [to_px(pred['oriented_box']['corners'])], True,
                          (255, 255, 255), 1, cv2.LINE_AA, shift=4)
        caption = captions[k] if captions is not None else \
            f'{k + 1}: "{pred["text"]}" ' + ('no target found' if pred.get('no_target') else
                                             f'{pred["score"]:.2f}, {pred["passes"]} pass(es)')
        y = 16 + 16 * k
        cv2.putText(canvas, caption, (6, y), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 3,
                    cv2.LINE_AA)
        cv2.putText(canvas, caption, (6, y), cv2.FONT_HERSHEY_SIMPLEX, 0.45, color, 1,
                    cv2.LINE_AA)
    return canvas


def draw_scene_figure(read: Callable[[Sequence[float], Tuple[int, int]], np.ndarray],
                      region: Sequence[float], preds: Sequence[Dict],
                      side: int = 1024) -> np.ndarray:
    """The picture of docs/scene_inference.md: the overview of ``region`` with every
    prediction, and under it one panel per fine window of the first prediction (the window
    as read, with the prediction and the next, smaller window drawn on it).

    Args:
        read (callable): ``read(box, (h, w))`` -> (h, w, 3) uint8 RGB of ``box`` (xyxy file px)
            resampled (e.g. a wrapper of :meth:`SceneRaster.read`).
        region (Sequence[float]): the scene's xyxy in file px.
        preds (Sequence[dict]): :class:`SceneInferencer` results.
        side (int): width of the figure (and long side of the overview).

    Returns:
        np.ndarray: (H, side, 3) uint8 RGB.
    """
    x1, y1, x2, y2 = (float(v) for v in region)
    k = side / max(x2 - x1, y2 - y1)
    hw = (max(1, round((y2 - y1) * k)), max(1, round((x2 - x1) * k)))
    overview = draw_scene_predictions(read((x1, y1, x2, y2), hw), preds,
                                      (hw[1] / (x2 - x1), hw[0] / (y2 - y1)), (x1, y1))
    canvas = np.zeros((hw[0], side, 3), np.uint8)
    canvas[:, :hw[1]] = overview
    windows = preds[0].get('windows', []) if preds else []
    if not windows:
        return canvas
    n = max(3, len(windows))
    s = side // n
    row = np.zeros((s, side, 3), np.uint8)
    for i, win in enumerate(windows):
        wx1, wy1, wx2, wy2 = win
        caption = f'window {i + 1}: {wx2 - wx1:.0f} x {wy2 - wy1:.0f} px'
        panel = draw_scene_predictions(read(win, (s, s)), [dict(preds[0], windows=windows[i + 1:])],
                                       (s / (wx2 - wx1), s / (wy2 - wy1)), (wx1, wy1),
                                       captions=[caption])
        row[:, i * s:(i + 1) * s] = panel
    return np.concatenate([canvas, row], 0)


def draw_scene_raster(scene, preds: Sequence[Dict], side: int = 1024) -> np.ndarray:
    """:func:`draw_scene_figure` of a whole :class:`~recs4r_mm.apis.SceneRaster` region (read
    in windows, averaged) with ``preds`` in file pixels: (H, side, 3) uint8 RGB."""
    offset = np.tile(scene.to_file_pixels([[0, 0]])[0], 2)

    def read(box, hw):  # file px -> the region's px
        return scene.read(np.asarray(box, float) - offset, hw, 'average')

    region = offset + [0, 0, scene.width, scene.height]
    return draw_scene_figure(read, region, preds, side)
