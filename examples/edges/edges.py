"""The seed's ``edges`` pipeline, with Pillow: an edge-detected copy of every input image.

Reads every image under ``/pfs/images`` (with the spec's glob ``/*``, one image per datum) and
writes a grayscale edge map of the same name and format to ``/pfs/out``. Pachyderm's original
uses OpenCV's Canny; ``ImageFilter.FIND_EDGES`` is the Pillow equivalent, installed from PyPI.
"""

from __future__ import annotations

import os
from pathlib import Path

from PIL import Image, ImageFilter


def pfs_root() -> Path:
    # tusk mounts the datum at /pfs in a private mount namespace. Where the host allows no
    # namespaces, tusk runs the code in a directory laid out like /pfs instead (docs/jobs.md):
    # its working directory.
    return Path("/pfs") if Path("/pfs/out").is_dir() else Path.cwd()


def make_edges(source: Path, target: Path) -> None:
    with Image.open(source) as image:
        edges = image.convert("L").filter(ImageFilter.FIND_EDGES)
        target.parent.mkdir(parents=True, exist_ok=True)
        edges.save(target, format=image.format)


def main() -> None:
    root = pfs_root()
    images, out = root / "images", root / "out"
    if not images.is_dir():
        raise SystemExit(f"{images} does not exist: the spec's input must be the repo 'images'")
    for dirpath, _, filenames in os.walk(images, followlinks=True):
        for name in sorted(filenames):
            source = Path(dirpath) / name
            make_edges(source, out / source.relative_to(images))


if __name__ == "__main__":
    main()
