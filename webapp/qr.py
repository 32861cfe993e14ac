"""QR codes as inline SVG (no image requests, no inline styles)."""

from __future__ import annotations

import segno
from flask import request
from markupsafe import Markup

from webapp.state import services


def public_url(path: str) -> str:
    """An absolute address for printed material (``CONSULT_PUBLIC_URL`` when the app is proxied)."""
    base = services().settings.public_url or request.host_url
    return base.rstrip("/") + path


def qr_svg(url: str, scale: int = 4) -> Markup:
    svg = segno.make(url, error="m").svg_inline(
        scale=scale, svgclass="qr", lineclass="qr-line", omitsize=False
    )
    return Markup(svg.replace("<svg ", '<svg aria-hidden="true" focusable="false" ', 1))
