"""Multimodal input: images (PIL or URL) as content blocks of a user message."""

import os

from PIL import Image, ImageDraw

import ell

ell.init(store=os.environ.get("ELL_STORE", "."), verbose=True)


@ell.simple(model="gpt-4o-mini")
def describe(image: Image.Image):
    return [
        ell.system("You describe images precisely."),
        ell.user(["What shapes do you see?", image]),
    ]


if __name__ == "__main__":
    img = Image.new("RGB", (64, 64), "white")
    ImageDraw.Draw(img).ellipse((8, 8, 56, 56), outline="red", width=4)
    print(describe(img))
