"""Independent audit of a matplotlib figure: every data axes has axis labels, no legend covers data.

Used by the demo and plot tests; it reads the drawn figure (display coordinates), not the lab code."""

from __future__ import annotations

import numpy as np
from matplotlib.collections import PathCollection
from matplotlib.image import AxesImage


def _display_points(ax):
    pts = []
    for line in ax.lines:
        if not line.get_visible():
            continue
        xy = np.asarray(line.get_transform().transform(line.get_xydata()), dtype=float)
        xy = xy[np.isfinite(xy).all(axis=1)]
        if len(xy) > 1:  # densify each segment: a legend box over a straight stretch covers the line too
            t = np.linspace(0, 1, 12)[:, None, None]
            xy = (xy[:-1][None] * (1 - t) + xy[1:][None] * t).reshape(-1, 2)
        pts.append(xy)
    for coll in ax.collections:
        if isinstance(coll, PathCollection) and coll.get_visible():
            off = np.asarray(coll.get_offset_transform().transform(coll.get_offsets()), dtype=float)
            pts.append(off[np.isfinite(off).all(axis=1)])
    for patch in ax.patches:
        if patch.get_visible():
            ext = patch.get_window_extent()
            xs = np.linspace(ext.x0, ext.x1, 8)
            ys = np.linspace(ext.y0, ext.y1, 8)
            pts.append(np.array([(x, y) for x in xs for y in ys]))
    if not pts:
        return np.zeros((0, 2))
    allp = np.concatenate(pts)
    box = ax.get_window_extent()
    inside = (allp[:, 0] >= box.x0) & (allp[:, 0] <= box.x1) & (allp[:, 1] >= box.y0) & (allp[:, 1] <= box.y1)
    return allp[inside]


def problems(fig, name):
    fig.canvas.draw()
    out = []
    legends = list(fig.legends)
    for i, ax in enumerate(fig.axes):
        if not ax.get_visible() or not ax.axison:
            continue
        has_data = bool(ax.lines or ax.patches or any(isinstance(c, PathCollection) for c in ax.collections))
        image_only = any(isinstance(a, AxesImage) for a in ax.get_children()) and not has_data
        if not has_data or image_only:
            continue
        xs = ax.get_shared_x_axes().get_siblings(ax)
        ys = ax.get_shared_y_axes().get_siblings(ax)
        if not any(a.get_xlabel().strip() for a in xs):
            out.append(f"{name}: axes {i} ({ax.get_title()!r}) has no x label")
        if not any(a.get_ylabel().strip() for a in ys):
            out.append(f"{name}: axes {i} ({ax.get_title()!r}) has no y label")
        axleg = [ax.get_legend()] if ax.get_legend() is not None else []
        pts = _display_points(ax)
        for leg in axleg + legends:
            box = leg.get_window_extent()
            hit = (pts[:, 0] > box.x0) & (pts[:, 0] < box.x1) & (pts[:, 1] > box.y0) & (pts[:, 1] < box.y1)
            if hit.any():
                out.append(
                    f"{name}: axes {i} ({ax.get_title()!r}): legend covers {int(hit.sum())} data points"
                )
    return out
