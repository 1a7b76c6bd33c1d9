"""Pictures for the demo products, drawn here: `make run` needs no internet to show them."""

import hashlib
import io

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 800, 600


def _colour(seed: str, lightness: int) -> tuple[int, int, int]:
    red, green, blue = (
        lightness + value % (256 - lightness)
        for value in hashlib.sha256(seed.encode()).digest()[:3]
    )
    return red, green, blue


def demo_picture(sku: str, name: str, view: int) -> bytes:
    """A PNG of the product's name on a background of its own colour; each view draws a
    different shape."""
    image = Image.new("RGB", (WIDTH, HEIGHT), _colour(sku, 150))
    draw = ImageDraw.Draw(image)
    accent = _colour(sku + "accent", 40)
    box = (WIDTH // 2 - 150, 90, WIDTH // 2 + 150, 390)
    shapes = (draw.ellipse, draw.rectangle, draw.rounded_rectangle)
    shape = shapes[view % len(shapes)]
    shape(box, fill=accent)
    font = ImageFont.load_default(size=44)
    draw.text((WIDTH // 2, 470), name, fill=(30, 30, 30), font=font, anchor="mm")
    small = ImageFont.load_default(size=26)
    draw.text(
        (WIDTH // 2, 530), f"{sku} · view {view + 1}", fill=(60, 60, 60), font=small, anchor="mm"
    )
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
