"""Draw the brand images (original artwork): a meter face with an optical eye and an infrared wave.

.venv/bin/python scripts/brand.py   # writes custom_components/e450/brand/{icon,logo}{,@2x}.png

Home Assistant serves these files itself from 2026.3 on (its `brands` integration reads a custom integration's
brand/ folder); the sizes are those of the home-assistant/brands repository: icon 256×256 and its @2x 512×512, logo
with a shortest side of 256 and its @2x of 512. tests/test_validation.py checks them.
"""

from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parent.parent / "custom_components" / "e450" / "brand"
NAVY, TEAL, RED, WHITE = (18, 52, 86, 255), (0, 150, 136, 255), (229, 57, 53, 255), (255, 255, 255, 255)


def meter(draw: ImageDraw.ImageDraw, x: int, y: int, size: int) -> None:
    s = size / 256
    draw.rounded_rectangle((x + 28 * s, y + 20 * s, x + 228 * s, y + 236 * s), radius=34 * s, fill=NAVY)
    draw.rounded_rectangle((x + 52 * s, y + 46 * s, x + 204 * s, y + 104 * s), radius=10 * s, fill=TEAL)
    for i, width in enumerate((22, 22, 22, 22, 22)):
        left = x + (62 + i * 28) * s
        draw.rectangle((left, y + 58 * s, left + width * s, y + 92 * s), fill=WHITE)
    draw.ellipse((x + 98 * s, y + 132 * s, x + 158 * s, y + 192 * s), fill=WHITE)
    draw.ellipse((x + 114 * s, y + 148 * s, x + 142 * s, y + 176 * s), fill=RED)
    for radius in (44, 60):
        draw.arc(
            (x + (128 - radius) * s, y + (162 - radius) * s, x + (128 + radius) * s, y + (162 + radius) * s),
            start=-40,
            end=40,
            fill=RED,
            width=max(2, int(7 * s)),
        )


def draw_icon(scale: int) -> Image.Image:
    icon = Image.new("RGBA", (256 * scale, 256 * scale), (0, 0, 0, 0))
    meter(ImageDraw.Draw(icon), 0, 0, 256 * scale)
    return icon


def draw_logo(scale: int) -> Image.Image:
    logo = Image.new("RGBA", (768 * scale, 256 * scale), (0, 0, 0, 0))
    draw = ImageDraw.Draw(logo)
    meter(draw, 0, 0, 256 * scale)
    # "e450" in simple block strokes, so no font file is needed
    strokes = {
        "e": [(0, 30, 60, 42), (0, 30, 12, 110), (0, 64, 60, 76), (48, 30, 60, 76), (0, 98, 60, 110)],
        "4": [(0, 0, 12, 70), (0, 58, 60, 70), (44, 0, 56, 110)],
        "5": [(0, 0, 60, 12), (0, 0, 12, 56), (0, 48, 60, 60), (48, 48, 60, 110), (0, 98, 60, 110)],
        "0": [(0, 0, 60, 12), (0, 98, 60, 110), (0, 0, 12, 110), (48, 0, 60, 110)],
    }
    left = 290
    for char in "e450":
        for x0, y0, x1, y1 in strokes[char]:
            box = (left + x0 * 1.6, 60 + y0 * 1.2, left + x1 * 1.6, 60 + y1 * 1.2)
            draw.rectangle(tuple(value * scale for value in box), fill=NAVY)
        left += 118
    return logo


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for scale, suffix in ((1, ""), (2, "@2x")):
        draw_icon(scale).save(OUT / f"icon{suffix}.png")
        draw_logo(scale).save(OUT / f"logo{suffix}.png")


if __name__ == "__main__":
    main()
