"""Drawing scene predictions over an overview: polygons, oriented boxes and the fine windows.

No paper part; docs/scene_inference.md (the picture there is drawn by this).
"""
from typing import Dict, Sequence, Tuple

import cv2
import numpy as np

COLORS = ((230, 40, 40), (40, 120, 230), (240, 200, 20), (200, 60, 200), (40, 200, 200))


def draw_scene_predictions(overview: np.ndarray, preds: Sequence[Dict],
                           scale: Tuple[float, float], offset: Tuple[float, float] = (0, 0),
                           draw_windows: bool = True) -> np.ndarray:
    """Draw predictions in file pixels on an overview (h, w, 3) RGB of the scene.

    Args:
        overview (np.ndarray): (h, w, 3) uint8 RGB.
        preds (Sequence[dict]): :class:`SceneInferencer` results (``polygons``,
            ``oriented_box``, ``windows``, ``text``, ``score``).
        scale (tuple): (sx, sy) overview px per file px.
        offset (tuple): file px of the overview's top-left corner.
        draw_windows (bool): also draw each fine pass's window (thin, grey).

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
        caption = f'{k + 1}: "{pred["text"]}" {pred["score"]:.2f}, {pred["passes"]} pass(es)'
        y = 16 + 16 * k
        cv2.putText(canvas, caption, (6, y), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 3,
                    cv2.LINE_AA)
        cv2.putText(canvas, caption, (6, y), cv2.FONT_HERSHEY_SIMPLEX, 0.45, color, 1,
                    cv2.LINE_AA)
    return canvas
