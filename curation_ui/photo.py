"""A photo brought to the Try it page: read it, find its faces, and add it to the dataset.

Adding reuses the import and extract stages' own steps (content-addressed
storage, :func:`catalog.images.add_image` / :func:`add_source`, the extract
worker's :func:`faces.worker.find_faces` and :func:`faces.stage.write_results`),
so a photo added here is stored exactly as an imported one would be: its faces
are pending, without a label, for the Label queue. Its provenance is an import
whose source name is ``camera`` or ``upload``.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from catalog.dataset import Catalog
from catalog.events import image_face_ids
from catalog.images import ImageSource, StoredImage, add_image, add_source
from core.decode import DecodedImage, ImageRejected, decode_image
from core.errors import FacesiftError
from core.storage import safe_name, store_content
from curation_ui.queries import image_extract_status
from faces.detect import DetectParams, detect_faces
from faces.dupgroups import update_dup_groups
from faces.models import Models
from faces.stage import ExtractOptions, write_results
from faces.worker import ImageResult, WorkerConfig, find_faces

PHOTO_SOURCES = ("upload", "camera")
BOX_COLOUR = (255, 40, 40)
_PLAIN_REASONS = ("empty", "not_an_image", "truncated")


class PhotoError(FacesiftError):
    """A photo that cannot be used (not an image, too small, ...): one line."""


@dataclass(frozen=True)
class AddedPhoto:
    """What Add to dataset did with one photo."""

    image_id: int
    new_image: bool  # False: the same picture was already stored
    face_ids: list[int]  # the image's faces, in face_index order
    source: str

    def line(self) -> str:
        """One line for the page."""
        n = len(self.face_ids)
        faces = f"{n} face{'s' if n != 1 else ''}"
        if not self.new_image:
            return f"This photo was already stored (image #{self.image_id}, {faces})."
        if not n:
            return f"Stored image #{self.image_id} ({self.source}); no face was found in it."
        return (
            f"Stored image #{self.image_id} ({self.source}) with {faces}, pending: "
            "check them in the Label queue."
        )


def read_photo(data: bytes) -> DecodedImage:
    """The decoded photo, or :class:`PhotoError` with the reason in one line."""
    try:
        return decode_image(data)
    except ImageRejected as e:
        # The detail of an unreadable file names a Python object: only the reason is shown.
        why = e.reason.replace("_", " ") if e.reason in _PLAIN_REASONS else str(e)
        raise PhotoError(f"this file cannot be used as a photo: {why}") from None


def find_boxes(models: Models, photo: DecodedImage) -> list[tuple[int, int, int, int]]:
    """The boxes (left, top, right, bottom) of the faces extract would find in the photo."""
    params = _extract_config().detect
    return [d.box for d in detect_faces(models, photo.rgb, params)]


def add_photo(
    cat: Catalog, data: bytes, name: str | None, source: str, models: Models
) -> AddedPhoto:
    """Store the photo by content with its provenance, then find and store its faces (pending).

    A photo already stored gets one more provenance and keeps its faces (nothing
    is detected twice). Faces are stored as the extract stage stores them, with
    the extract defaults (chips, figures, near-duplicate groups).
    """
    if source not in PHOTO_SOURCES:
        raise PhotoError(f"unknown photo source {source!r}: use {' or '.join(PHOTO_SOURCES)}")
    photo = read_photo(data)
    sha, rel = store_content(cat.paths.dir, "images", data, photo.ext)
    image_id, new = add_image(
        cat.conn, StoredImage(sha, rel, photo.width, photo.height, photo.format, len(data))
    )
    add_source(
        cat.conn,
        image_id,
        ImageSource(
            "import", source_name=source, import_path=f"{source}/{safe_name(name, f'{source}.jpg')}"
        ),
    )
    if image_extract_status(cat.conn, image_id) is None:
        found = find_faces(models, _extract_config(), photo.rgb)
        faces, chips = [f for f, _ in found], [c for _, c in found]
        result = ImageResult(image_id, "done" if faces else "no_face", None, faces, chips)
        if write_results(cat.conn, [result], cat.paths.dir):
            update_dup_groups(cat.conn, ExtractOptions().near_dup_bits)
    return AddedPhoto(image_id, new, image_face_ids(cat.conn, image_id), source)


def _extract_config() -> WorkerConfig:
    """The extract stage's defaults, so that a photo's faces match an imported photo's."""
    opts = ExtractOptions()
    return WorkerConfig(
        DetectParams(opts.detector, opts.upsample),
        chip_size=opts.chip_size,
        padding=opts.padding,
    )


def draw_boxes(
    rgb: Image.Image,
    boxes: list[tuple[int, int, int, int]],
    captions: list[str] | None = None,
    max_side: int = 900,
) -> Image.Image:
    """A copy of the photo, scaled to fit ``max_side``, each face boxed, numbered and captioned."""
    scale = min(1.0, max_side / max(rgb.size))
    out = rgb.copy()
    if scale < 1.0:
        out = out.resize((round(rgb.width * scale), round(rgb.height * scale)))
    draw = ImageDraw.Draw(out)
    line = max(2, round(max(out.size) / 300))
    font = ImageFont.load_default(size=max(12, round(max(out.size) / 45)))
    for i, box in enumerate(boxes):
        left, top, right, bottom = (round(v * scale) for v in box)
        draw.rectangle((left, top, right, bottom), outline=BOX_COLOUR, width=line)
        text = f"{i + 1}" + (f" {captions[i]}" if captions and i < len(captions) else "")
        tl, tt, tr, tb = draw.textbbox((0, 0), text, font=font)
        w, h = tr - tl + 2 * line, tb - tt + 2 * line
        # The tag sits above the box, or inside its top edge when the box touches the top.
        y = top - h if top >= h else top
        x = min(left, max(out.width - w, 0))
        draw.rectangle((x, y, x + w, y + h), fill=BOX_COLOUR)
        draw.text((x + line - tl, y + line - tt), text, fill=(255, 255, 255), font=font)
    return out
