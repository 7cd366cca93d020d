//! Images lose what can identify the person or where they live before
//! anything is stored: an image is decoded and encoded again, so only its
//! pixels go on. EXIF (camera, time, GPS position), maker notes, the
//! thumbnail EXIF carries, XMP, ICC profiles and PNG text chunks are not
//! carried over, whatever they hold. The photo's EXIF orientation is
//! applied to the pixels first, so it still shows the right way up.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

use super::sniff::{Kind, Sniffed};
use crate::error::{Error, Result};

/// The largest picture decoded, in pixels per side: beyond any phone's
/// camera (a 200-megapixel sensor is 16,320 wide), far below what would
/// exhaust memory.
const MOST_PIXELS_PER_SIDE: u32 = 20_000;

/// The most memory a picture may take decoded, as its header declares it
/// (a 48-megapixel photo takes 144 MiB as RGB), checked before any pixel
/// is decoded: a small file cannot make the desk allocate gigabytes. A
/// turned photo takes this twice, for a moment.
pub(crate) const MOST_DECODED_BYTES: u64 = 192 * 1024 * 1024;

/// The largest picture file read (it is decoded whole): far above a phone's
/// photo, and independent of the limit a coordinator sets for documents.
pub(crate) const MOST_IMAGE_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// JPEG quality when a photo is encoded again: no visible loss.
const JPEG_QUALITY: u8 = 90;

/// Decodes `bytes` (an image of the kind sniffed) and encodes its pixels
/// again; returns the new bytes and the kind they are.
pub(crate) fn strip_image(sniffed: Sniffed, bytes: &[u8]) -> Result<(Kind, Vec<u8>)> {
    let format = match sniffed {
        Sniffed::Jpeg => ImageFormat::Jpeg,
        Sniffed::Png => ImageFormat::Png,
        Sniffed::Webp => ImageFormat::WebP,
        Sniffed::Pdf | Sniffed::Text => {
            return Err(Error::Integrity("only images are encoded again"));
        }
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MOST_PIXELS_PER_SIDE);
    limits.max_image_height = Some(MOST_PIXELS_PER_SIDE);
    limits.max_alloc = Some(MOST_DECODED_BYTES);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(unreadable)?;
    // The limits above bound the sides; the decoded size is checked here,
    // from the header, before anything is allocated for the pixels.
    if decoder.total_bytes() > MOST_DECODED_BYTES {
        return Err(too_many_pixels());
    }
    let orientation = decoder.orientation().map_err(unreadable)?;
    let mut picture = DynamicImage::from_decoder(decoder).map_err(unreadable)?;
    picture.apply_orientation(orientation);
    let mut out = Vec::new();
    let kind = match sniffed {
        // A photo stays a JPEG (as RGB: a JPEG has no transparency).
        Sniffed::Jpeg => {
            // Most photos decode as RGB already: no second copy of them.
            let rgb = match picture {
                DynamicImage::ImageRgb8(_) => picture,
                other => DynamicImage::ImageRgb8(other.to_rgb8()),
            };
            rgb.write_with_encoder(JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY))
                .map_err(unwritable)?;
            Kind::Jpeg
        }
        // A screenshot stays lossless: PNG (a WebP too).
        _ => {
            picture
                .write_with_encoder(PngEncoder::new(&mut out))
                .map_err(unwritable)?;
            Kind::Png
        }
    };
    Ok((kind, out))
}

fn too_many_pixels() -> Error {
    super::refused(
        "evidence_too_many_pixels",
        "this picture is too large to take (more than 20,000 pixels a side, or too many pixels in all): take a screenshot of it, or ask the person for a smaller copy",
    )
}

fn unreadable(e: image::ImageError) -> Error {
    match e {
        image::ImageError::Limits(_) => too_many_pixels(),
        _ => super::refused(
            "evidence_damaged",
            "this picture is damaged or cut short and cannot be read: ask the person for it again",
        ),
    }
}

fn unwritable(e: image::ImageError) -> Error {
    super::refused(
        "evidence_damaged",
        format!("the picture could not be encoded again ({e}): take a screenshot of it instead"),
    )
}
