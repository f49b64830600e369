"""Multimodal input: PIL images (and numpy arrays) in user messages; ImageContent and ContentBlock(image=...)."""
# expect: I see 2 images. Echo: What color are these?
# requires: numpy PIL
import numpy as np
from PIL import Image

import ell
from ell.types import ContentBlock, Message
from ell.types.message import ImageContent


@ell.simple(model="gpt-4o", temperature=0.0)
def describe_images(images: list):
    return [
        ell.system("You are a helpful vision assistant."),
        ell.user(["What color are these?"] + images),
    ]


@ell.complex(model="gpt-4o-mini")
def caption(image: Image.Image):
    """You write captions."""
    return [ell.user([ContentBlock(image=image, image_detail="low"), "Caption this image"])]


if __name__ == "__main__":
    red = Image.new("RGB", (16, 16), color="red")
    blue = np.zeros((8, 8, 3), dtype=np.uint8)
    blue[..., 2] = 255
    print(describe_images([red, blue]))

    msg = Message(role="user", content=["look", red, ImageContent(url="https://example.com/cat.png")])
    print("images in message:", len(msg.images), "text_only:", msg.text_only)
    print("first image is PIL:", isinstance(msg.images[0].image, Image.Image), "url:", msg.images[1].url)
    block = ContentBlock(image=red)
    print("block type:", block.type, "detail:", ImageContent(image=red, detail="high").detail)
    print("caption:", caption(red).text)
