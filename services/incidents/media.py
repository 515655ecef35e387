"""What an evidence file is, from its content, and what is removed from it before it is stored (issue 18).

The type comes from the file's first bytes (``puremagic``), never from its name or the request's Content-Type,
and is then confirmed by opening the file with the library that cleans it: a file that does not open as what its
first bytes claim is refused. Accepted: images (JPEG, PNG, WebP), video (MP4, WebM), documents (PDF).

Cleaning (pure functions on local files; run in a worker thread):

* images: decoded and encoded anew by Pillow, so only the pixels survive: EXIF (GPS, Make, Model, serial numbers,
  capture time, the embedded thumbnail), XMP, IPTC, ICC profiles (which name the device's maker), PNG text chunks
  and comments are all dropped. The EXIF orientation is applied to the pixels first. Animated images are refused.
* video: remuxed by FFmpeg's libraries (PyAV) without re-encoding (a QuickTime .mov into MP4): only the video and audio streams are copied,
  with none of the container's or the streams' metadata (QuickTime/MP4 location and device tags, creation
  times, Matroska tags); data streams (GoPro GPS telemetry, Apple timed metadata) and attachments are dropped.
  What the encoded bitstream itself carries (H.264 SEI user data some dashcams write) is not removed.
* PDF: the document information dictionary and every XMP metadata stream are removed, and so are attachments,
  JavaScript, open actions and page piece info (pikepdf); a PDF that embeds a JPEG carrying EXIF is refused
  (the photo should be sent as an image, where it is cleaned); an encrypted PDF is refused.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Kind = Literal["image", "video", "document"]

#: The media types stored and served, by kind, with the file extension a download is given.
ACCEPTED: dict[str, tuple[Kind, str]] = {
    "image/jpeg": ("image", "jpg"),
    "image/png": ("image", "png"),
    "image/webp": ("image", "webp"),
    "video/mp4": ("video", "mp4"),
    "video/webm": ("video", "webm"),
    "application/pdf": ("document", "pdf"),
}
#: Types accepted on upload and stored as another: a phone's QuickTime video (an iPhone records .mov) is remuxed
#: into MP4, without re-encoding.
STORED_AS: dict[str, str] = {"video/quicktime": "video/mp4"}
#: How many first bytes the type is decided on.
SNIFF_BYTES = 8192


class Refused(ValueError):
    """The file is not one the platform accepts (its type, or a content that cannot be cleaned)."""


def sniff(head: bytes) -> str:
    """The media type of a file from its first bytes, if it is one of ``ACCEPTED``; ``Refused`` otherwise."""
    import puremagic

    if not head:
        raise Refused("the file is empty")
    try:
        guesses = puremagic.magic_string(head)
    except (puremagic.PureError, ValueError):
        guesses = []
    for guess in guesses:
        mime = (guess.mime_type or "").lower()
        if mime in ACCEPTED or mime in STORED_AS:
            return mime
    raise Refused("the file's content is not one of: " + ", ".join([*ACCEPTED, *STORED_AS]))


def kind_of(media_type: str) -> Kind:
    return ACCEPTED[STORED_AS.get(media_type, media_type)][0]


def extension(media_type: str) -> str:
    return ACCEPTED[media_type][1]


@dataclass(frozen=True)
class Cleaned:
    media_type: str  # what is stored (STORED_AS)
    path: Path
    size: int
    sha256: str
    removed: tuple[str, ...]


def sha256_of(path: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as f:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def clean(source: Path, media_type: str, target: Path, *, max_pixels: int) -> Cleaned:
    """Write ``source`` without its metadata to ``target``; what kinds of metadata were looked for and removed."""
    kind = kind_of(media_type)
    if kind == "image":
        removed = _clean_image(source, media_type, target, max_pixels)
    elif kind == "video":
        removed = _clean_video(source, media_type, target)
    else:
        removed = _clean_pdf(source, target)
    size, digest = sha256_of(target)
    return Cleaned(STORED_AS.get(media_type, media_type), target, size, digest, removed)


# -- images ----------------------------------------------------------------------------------------------------
_PIL_FORMAT = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}


def _clean_image(source: Path, media_type: str, target: Path, max_pixels: int) -> tuple[str, ...]:
    from PIL import Image, ImageOps, UnidentifiedImageError

    fmt = _PIL_FORMAT[media_type]
    try:
        with Image.open(source, formats=[fmt]) as im:
            width, height = im.size
            if width * height > max_pixels:
                raise Refused(f"the image has {width * height} pixels; at most {max_pixels} are accepted")
            if getattr(im, "n_frames", 1) > 1:
                raise Refused("animated images are not accepted: send a video")
            found = _image_metadata(im)
            im.load()
            upright = ImageOps.exif_transpose(im)  # the orientation tag is about to go: turn the pixels instead
            pixels = _plain_copy(upright)
    except Refused:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise Refused(f"the file does not open as {fmt}") from exc
    options: dict = {}
    if fmt == "JPEG":
        options = {"quality": 92, "optimize": True}
    elif fmt == "WEBP":
        options = {"quality": 90, "method": 4}
    with open(target, "wb") as out:
        pixels.save(out, fmt, **options)  # no exif=, icc_profile=, pnginfo=: nothing but the pixels
    return found


def _image_metadata(im) -> tuple[str, ...]:
    found = []
    exif = im.getexif()
    if len(exif):
        found.append("exif")
        if exif.get_ifd(0x8825):
            found.append("gps")
        if exif.get(0x010F) or exif.get(0x0110):
            found.append("device")
    info = im.info
    if "icc_profile" in info:
        found.append("icc_profile")
    if "xmp" in info or "XML:com.adobe.xmp" in info:
        found.append("xmp")
    if any(k in info for k in ("comment", "photoshop", "iptc")):
        found.append("comment")
    if getattr(im, "text", None):
        found.append("text")
    return tuple(found)


def _plain_copy(im):
    """A new image with the same pixels and none of the source's info (which ``save`` would otherwise use)."""
    from PIL import Image

    mode = im.mode
    if mode not in ("RGB", "RGBA", "L", "LA", "P", "1", "I;16", "I", "CMYK"):
        mode = "RGBA" if "A" in mode else "RGB"
        im = im.convert(mode)
    if mode == "P":  # a palette image keeps its palette and transparency, nothing else
        out = im.copy()
        transparency = im.info.get("transparency")
        out.info.clear()
        if transparency is not None:
            out.info["transparency"] = transparency
        return out
    out = Image.new(mode, im.size)
    out.paste(im)
    return out


# -- video -----------------------------------------------------------------------------------------------------
#: The container a video is read as (what libavformat names it) and written as.
_AV_FORMAT = {"video/mp4": ("mp4", "mp4"), "video/quicktime": ("mov", "mp4"), "video/webm": ("webm", "webm")}
_DEMUXERS = {"mp4": {"mp4"}, "mov": {"mov"}, "webm": {"webm"}}


def _clean_video(source: Path, media_type: str, target: Path) -> tuple[str, ...]:
    import av

    fmt, out_fmt = _AV_FORMAT[media_type]
    found: set[str] = set()
    try:
        with av.open(str(source), "r") as src:
            if not set(src.format.name.split(",")) & _DEMUXERS[fmt]:
                raise Refused(f"the file does not open as {fmt}")
            if src.metadata:
                found.add("container_metadata")
            copied = {}
            with av.open(str(target), "w", format=out_fmt) as dst:
                for stream in src.streams:
                    if stream.type not in ("video", "audio"):
                        found.add(f"{stream.type}_stream")
                        continue
                    if stream.metadata:
                        found.add("stream_metadata")
                    out = dst.add_stream_from_template(stream)
                    out.metadata.clear()
                    copied[stream.index] = out
                if not any(s.type == "video" for s in src.streams if s.index in copied):
                    raise Refused("the file has no video stream")
                dst.metadata.clear()
                for packet in src.demux(*(s for s in src.streams if s.index in copied)):
                    if packet.dts is None:
                        continue
                    packet.stream = copied[packet.stream.index]
                    dst.mux(packet)
    except Refused:
        raise
    except (av.FFmpegError, ValueError, OSError) as exc:
        raise Refused(f"the file does not open as {fmt} video") from exc
    return tuple(sorted(found))


# -- PDF -------------------------------------------------------------------------------------------------------
def _clean_pdf(source: Path, target: Path) -> tuple[str, ...]:
    import pikepdf

    found: set[str] = set()
    try:
        with pikepdf.open(source) as pdf:
            if pdf.is_encrypted:
                raise Refused("encrypted PDFs are not accepted")
            if "/Info" in pdf.trailer:
                if len(pdf.trailer.Info):
                    found.add("document_info")
                del pdf.trailer["/Info"]
            root = pdf.Root
            for name, what in (("/OpenAction", "javascript_or_actions"), ("/AA", "javascript_or_actions"),
                               ("/PieceInfo", "piece_info")):
                if name in root:
                    del root[name]
                    found.add(what)
            if "/Names" in root:
                for name, what in (("/EmbeddedFiles", "attachments"), ("/JavaScript", "javascript_or_actions")):
                    if name in root.Names:
                        del root.Names[name]
                        found.add(what)
            for obj in pdf.objects:
                if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
                    if "/Metadata" in obj:
                        del obj["/Metadata"]
                        found.add("xmp")
                    if "/PieceInfo" in obj:
                        del obj["/PieceInfo"]
                        found.add("piece_info")
                    if obj.get("/Type") == "/Annot" and obj.get("/Subtype") == "/FileAttachment":
                        found.add("attachments")
                        obj["/Subtype"] = pikepdf.Name.Text
                        for key in ("/FS",):
                            if key in obj:
                                del obj[key]
                if isinstance(obj, pikepdf.Stream) and obj.get("/Subtype") == "/Image" \
                        and obj.get("/Filter") == "/DCTDecode" and b"Exif\x00\x00" in obj.read_raw_bytes()[:65536]:
                    raise Refused("the PDF embeds a photo that carries EXIF metadata: send the photo as an image")
            pdf.remove_unreferenced_resources()
            pdf.save(target, deterministic_id=True, linearize=False)
    except Refused:
        raise
    except (pikepdf.PdfError, pikepdf.PasswordError, ValueError, OSError) as exc:
        raise Refused("the file does not open as a PDF") from exc
    return tuple(sorted(found))


def unlink_quietly(*paths: Path | None) -> None:
    for p in paths:
        if p is not None:
            try:
                os.unlink(p)
            except FileNotFoundError:
                pass
