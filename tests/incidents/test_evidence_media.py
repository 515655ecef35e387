"""The rules of ``services/incidents/media.py`` on files made here: what is refused, what is removed."""

from __future__ import annotations

import io
from pathlib import Path

import pikepdf
import pytest
from PIL import Image

from services.incidents import media
from tests.incidents.test_evidence import photo_with_gps_and_device, video_with_location


def _clean(tmp_path: Path, body: bytes, max_pixels: int = 10_000_000) -> media.Cleaned:
    source = tmp_path / "in"
    source.write_bytes(body)
    return media.clean(source, media.sniff(body[:media.SNIFF_BYTES]), tmp_path / "out", max_pixels=max_pixels)


def test_the_type_is_the_contents_whatever_the_name():
    assert media.sniff(photo_with_gps_and_device()) == "image/jpeg"
    assert media.sniff(video_with_location()[:media.SNIFF_BYTES]) == "video/mp4"
    for body in (b"", b"GIF89a" + bytes(100), b"<svg xmlns='http://www.w3.org/2000/svg'/>", b"PK\x03\x04" + bytes(50)):
        with pytest.raises(media.Refused):
            media.sniff(body)


def test_an_image_over_the_pixel_limit_and_an_animated_one_are_refused(tmp_path):
    with pytest.raises(media.Refused, match="pixels"):
        _clean(tmp_path, photo_with_gps_and_device((400, 300)), max_pixels=400 * 300 - 1)
    assert _clean(tmp_path, photo_with_gps_and_device((400, 300)), max_pixels=400 * 300).size > 0
    frames = [Image.new("RGB", (20, 20), c) for c in ("red", "blue")]
    out = io.BytesIO()
    frames[0].save(out, "WEBP", save_all=True, append_images=frames[1:])
    with pytest.raises(media.Refused, match="animated"):
        _clean(tmp_path, out.getvalue())


def test_the_orientation_is_applied_to_the_pixels_before_the_tag_goes(tmp_path):
    im, exif = Image.new("RGB", (40, 20), "red"), Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    out = io.BytesIO()
    im.save(out, "JPEG", exif=exif.tobytes())
    cleaned = Image.open(_clean(tmp_path, out.getvalue()).path)
    assert cleaned.size == (20, 40) and len(cleaned.getexif()) == 0


def _pdf(tmp_path: Path, *, photo: bytes | None = None, password: str | None = None) -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    if photo is not None:
        image = pikepdf.Stream(pdf, photo)
        for key, value in {"/Type": pikepdf.Name.XObject, "/Subtype": pikepdf.Name.Image,
                           "/Filter": pikepdf.Name.DCTDecode, "/Width": 320, "/Height": 240,
                           "/BitsPerComponent": 8, "/ColorSpace": pikepdf.Name.DeviceRGB}.items():
            image[key] = value
        pdf.pages[0].obj["/Resources"] = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image))
    out = io.BytesIO()
    pdf.save(out, encryption=pikepdf.Encryption(owner=password, user=password) if password else False)
    return out.getvalue()


def test_a_pdf_with_a_photo_carrying_exif_and_an_encrypted_pdf_are_refused(tmp_path):
    with pytest.raises(media.Refused, match="EXIF"):
        _clean(tmp_path, _pdf(tmp_path, photo=photo_with_gps_and_device()))
    clean_photo = Image.open(_clean(tmp_path, photo_with_gps_and_device()).path)
    plain = io.BytesIO()
    clean_photo.save(plain, "JPEG")
    assert _clean(tmp_path, _pdf(tmp_path, photo=plain.getvalue())).size > 0  # the same photo, cleaned: accepted
    with pytest.raises(media.Refused):
        _clean(tmp_path, _pdf(tmp_path, password="s3cret"))
