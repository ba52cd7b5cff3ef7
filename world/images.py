"""Post images of the generated world: small RGB pictures whose content depends weakly and noisily
on who posted them, some of them shared by many users.

A user's pictures share a style of their own (a palette drawn around their region's, a texture
around their occupation's, a disc whose colour leans to their gender), under heavy noise, so a
single picture says little and a group of a user's pictures says more, as in MEX-A3T 2019
(reference 004). A share of posts repost a picture from a common pool (memes, stock photos):
the same file for every user who posts it, saying nothing about any of them.

Files are written the way a crawler's export stores downloaded media: one PNG per distinct
picture under the night's `media/` folder, named by a hash of its content (a picture reposted by
many users is one file), the post record carrying its path relative to the night's folder
(`media_file`). Only the users whose media was fetched (FETCHED_SHARE) have files: a crawler
downloads media for a sample, since it costs far more than the records.
"""
from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import numpy as np

SIZE = 32
FETCHED_SHARE = 0.25     # of users who post: their media was downloaded
SHARED_POOL = 300        # pictures any user may repost
REPOST_RATE = 0.15       # of fetched posts: a picture from the pool
BROKEN_RATE = 0.004      # of written files: cut short (unreadable), as an interrupted download is
MISSING_RATE = 0.004     # of fetched posts: the file never arrived
NOISE = 40.0             # per-pixel noise (of 255)

# Region hues (0..1) and occupation textures (stripe angle, frequency): what the pictures lean to.
REGION_HUES = {"AF": 0.08, "AS": 0.95, "EU": 0.6, "NA": 0.33, "OC": 0.5, "SA": 0.16}
OCCUPATION_TEXTURES = {"arts": (0.0, 2.0), "student": (0.4, 3.0), "social": (0.8, 1.5), "sciences": (1.2, 4.0),
                       "sports": (1.6, 2.5), "administrative": (2.0, 3.5), "health": (2.4, 1.0),
                       "others": (2.8, 5.0)}
GENDER_DISCS = {"female": (0.92, 0.45, 0.62), "male": (0.25, 0.45, 0.85)}


def _hsv_to_rgb(h: float, s: float, v: float) -> np.ndarray:
    """One HSV colour in [0, 1] -> its RGB in [0, 1]."""
    import colorsys

    return np.array(colorsys.hsv_to_rgb(h % 1.0, s, v))


def user_style(rng: np.random.Generator, region: str, occupation: str, gender: str) -> dict:
    """A user's own leaning, drawn once: every picture of theirs varies around it."""
    angle, freq = OCCUPATION_TEXTURES[occupation]
    return {"hue": (REGION_HUES[region] + rng.normal(0, 0.12)) % 1.0,
            "angle": angle + rng.normal(0, 0.35), "freq": max(0.5, freq + rng.normal(0, 0.8)),
            "disc": GENDER_DISCS[gender] if rng.random() < 0.7 else tuple(rng.random(3))}


def render(rng: np.random.Generator, style: dict) -> np.ndarray:
    """One SIZE x SIZE x 3 uint8 picture of a style: a two-tone gradient in the style's hue, a
    stripe texture, a disc, then noise; each picture jitters the style again."""
    y, x = _GRID
    hue = style["hue"] + rng.normal(0, 0.08)
    top, bottom = _hsv_to_rgb(hue, 0.55, 0.85), _hsv_to_rgb(hue + 0.08, 0.7, 0.45)
    img = top * (1 - y[..., None]) + bottom * y[..., None]
    angle = style["angle"] + rng.normal(0, 0.2)
    wave = np.sin(2 * np.pi * style["freq"] * (x * np.cos(angle) + y * np.sin(angle)) + rng.uniform(0, 2 * np.pi))
    img = img + 0.12 * wave[..., None]
    cx, cy, r = rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.8), rng.uniform(0.1, 0.25)
    inside = ((x - cx) ** 2 + (y - cy) ** 2) < r * r
    img = np.where(inside[..., None], 0.5 * img + 0.5 * _hsv_to_rgb(*style["disc"]), img)
    img = img * 255 + rng.normal(0, NOISE, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


_GRID = np.mgrid[0:SIZE, 0:SIZE] / SIZE


def png_bytes(pixels: np.ndarray) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(out, format="PNG")
    return out.getvalue()


def shared_pool(seed: int) -> list[bytes]:
    """The pictures anyone may repost, the same in every chunk: random styles, random people."""
    rng = np.random.default_rng([seed, 404])
    regions, occupations, genders = list(REGION_HUES), list(OCCUPATION_TEXTURES), list(GENDER_DISCS)
    return [png_bytes(render(rng, user_style(rng, regions[rng.integers(len(regions))],
                                             occupations[rng.integers(len(occupations))],
                                             genders[rng.integers(len(genders))])))
            for _ in range(SHARED_POOL)]


def relative_path(content: bytes) -> str:
    digest = hashlib.sha256(content).hexdigest()[:24]
    return f"media/{digest[:2]}/{digest}.png"


def write_file(night_folder: Path, relative: str, content: bytes) -> None:
    """Write once (a shared picture's file may already be there, written by another chunk),
    atomically: a reader never sees half a file unless it is meant to be broken."""
    path = night_folder / relative
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(content)
    os.replace(tmp, path)


class UserMedia:
    """The pictures of one chunk's users: `post_media(...)` returns the media_file of one post (or
    None when the user's media was not fetched) and writes its file."""

    def __init__(self, seed: int, chunk: int, night_folder: Path | None):
        self.rng = np.random.default_rng([seed, chunk, 4])  # its own stream: the rest of the world stays
        self.night_folder = night_folder
        self._pool: list[bytes] | None = None
        self.seed = seed

    def pool(self) -> list[bytes]:
        if self._pool is None:
            self._pool = shared_pool(self.seed)
        return self._pool

    def start_user(self, region: str, occupation: str, gender: str) -> None:
        self.fetched = self.rng.random() < FETCHED_SHARE
        self.style = user_style(self.rng, region, occupation, gender)

    def post_media(self) -> str | None:
        if self.night_folder is None or not self.fetched:
            return None
        if self.rng.random() < REPOST_RATE:
            content = self.pool()[int(self.rng.integers(SHARED_POOL))]
        else:
            content = png_bytes(render(self.rng, self.style))
        relative = relative_path(content)
        if self.rng.random() < MISSING_RATE:
            return relative  # referenced, never downloaded
        if self.rng.random() < BROKEN_RATE:
            relative = relative.replace(".png", "-cut.png")
            content = content[: len(content) // 3]
        write_file(self.night_folder, relative, content)
        return relative
