"""Named object colours (the colour attribute of a referent) and their accents.

Object colours are saturated so they stand out from the muted ground palette
(`ground.py`); the accent is the tone used for painted details (court lines,
roof edges, deck lines) and is darker for light colours, lighter for dark ones.

No paper part; docs/synthetic_data.md, section "Scenes" (Colours).
"""
from typing import Dict, Tuple

RGB = Tuple[int, int, int]

#: colour name -> RGB (names are the words used in expressions).
OBJECT_COLORS: Dict[str, RGB] = {
    'red': (205, 40, 35),
    'orange': (240, 140, 25),
    'yellow': (235, 215, 45),
    'blue': (35, 75, 215),
    'cyan': (45, 205, 220),
    'purple': (140, 55, 185),
    'white': (240, 240, 240),
    'pink': (240, 125, 180),
}

COLOR_NAMES = tuple(OBJECT_COLORS)


def accent_color(name: str) -> RGB:
    """Tone for details painted inside an object of colour ``name``."""
    r, g, b = OBJECT_COLORS[name]
    lum = 0.299 * r + 0.587 * g + 0.114 * b
    if lum > 150:  # light colour -> darker accent
        return tuple(int(round(v * 0.62)) for v in (r, g, b))
    return tuple(int(round(v + (255 - v) * 0.45)) for v in (r, g, b))
