//! Documents an issuer delivers as an image instead of a PDF (a scanned
//! certificate, as some boards' older records are): a card-sized picture
//! with a header band in the issuer's colour, the holder's photo, lines
//! standing for the printed fields, and the same QR code the PDFs carry, so
//! the document's data can be read back from the image. JPEG or PNG, as the
//! document's `mime` says; the same document always gives the same bytes.

use sha2::{Digest as _, Sha256};

use crate::seed::{Citizen, IssuedDoc};
use crate::signing::{libjpeg_marker_order, photo_rgb, PHOTO_H, PHOTO_W};

/// Card size in pixels (ID-1 proportions at about 190 dpi).
pub const CARD_W: usize = 640;
pub const CARD_H: usize = 404;
const MARGIN: usize = 24;
const HEADER_H: usize = 56;
const BODY_TOP: usize = 80;
/// Quiet zone around the QR code, in modules.
const QUIET: usize = 4;

/// The image formats a document can come in, by `mime`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    /// `image/jpeg`, or `image/jpg` as DigiLocker's spec also spells it.
    Jpeg,
    /// `image/png`.
    Png,
}

impl ImageFormat {
    /// The format of a `mime` value, `None` for anything but an image.
    pub fn of_mime(mime: &str) -> Option<ImageFormat> {
        match mime.trim().to_ascii_lowercase().as_str() {
            "image/jpeg" | "image/jpg" => Some(ImageFormat::Jpeg),
            "image/png" => Some(ImageFormat::Png),
            _ => None,
        }
    }
}

/// The card's pixels: [`CARD_W`] × [`CARD_H`], RGB, row by row.
pub fn card_rgb(citizen: &Citizen, doc: &IssuedDoc, qr_text: &str) -> Vec<u8> {
    let d = Sha256::digest(doc.issuerid.as_bytes());
    let band = [20 + d[0] % 40, 40 + d[1] % 50, 90 + d[2] % 60];
    let paper = [246 - d[3] % 8, 244 - d[4] % 8, 236 - d[5] % 8];
    let mut px = vec![0u8; CARD_W * CARD_H * 3];
    let fill = |px: &mut [u8], x0: usize, y0: usize, w: usize, h: usize, rgb: [u8; 3]| {
        for y in y0..(y0 + h).min(CARD_H) {
            for x in x0..(x0 + w).min(CARD_W) {
                let i = (y * CARD_W + x) * 3;
                px[i..i + 3].copy_from_slice(&rgb);
            }
        }
    };
    fill(&mut px, 0, 0, CARD_W, CARD_H, paper);
    fill(&mut px, 0, 0, CARD_W, HEADER_H, band);
    // The issuer's name and the title, as light bars in the band.
    let title_w = (doc.issuer.chars().count() * 7).min(CARD_W - 2 * MARGIN);
    fill(&mut px, MARGIN, 14, title_w, 10, [235, 238, 245]);
    let name_w = (doc.name.chars().count() * 6).min(CARD_W - 2 * MARGIN);
    fill(&mut px, MARGIN, 32, name_w, 8, [200, 208, 225]);
    fill(&mut px, 0, CARD_H - 20, CARD_W, 20, band);

    // The holder's photo.
    let photo = photo_rgb(&citizen.digilocker_id);
    let (pw, ph) = (usize::from(PHOTO_W), usize::from(PHOTO_H));
    for y in 0..ph {
        let from = y * pw * 3;
        let to = ((BODY_TOP + y) * CARD_W + MARGIN) * 3;
        px[to..to + pw * 3].copy_from_slice(&photo[from..from + pw * 3]);
    }

    // The QR code on the right, four (or three) pixels a module.
    let mut text_right = CARD_W - MARGIN;
    if let Ok(code) =
        qrcode::QrCode::with_error_correction_level(qr_text.as_bytes(), qrcode::EcLevel::M)
    {
        let modules = code.width();
        let side = modules + 2 * QUIET;
        let scale = if side * 4 <= CARD_H - BODY_TOP - 28 {
            4
        } else {
            3
        };
        let x0 = CARD_W - MARGIN - side * scale;
        let y0 = BODY_TOP - 8;
        fill(&mut px, x0, y0, side * scale, side * scale, [255, 255, 255]);
        for (i, colour) in code.to_colors().into_iter().enumerate() {
            if colour == qrcode::Color::Dark {
                let (row, col) = (i / modules + QUIET, i % modules + QUIET);
                fill(
                    &mut px,
                    x0 + col * scale,
                    y0 + row * scale,
                    scale,
                    scale,
                    [0, 0, 0],
                );
            }
        }
        text_right = x0 - 12;
    }

    // One grey line per printed field, as long as its value.
    let text_left = MARGIN + pw + 16;
    for (i, (_, value)) in doc.fields.iter().take(10).enumerate() {
        let y = BODY_TOP + 4 + i * 22;
        let room = text_right.saturating_sub(text_left);
        fill(
            &mut px,
            text_left,
            y,
            (room / 3).min(60),
            6,
            [150, 150, 150],
        );
        let w = (value.chars().count() * 6).clamp(12, room);
        fill(&mut px, text_left, y + 8, w, 7, [60, 60, 70]);
    }
    px
}

/// The card as `format`, or `None` if encoding failed.
pub fn render(
    citizen: &Citizen,
    doc: &IssuedDoc,
    qr_text: &str,
    format: ImageFormat,
) -> Option<Vec<u8>> {
    let px = card_rgb(citizen, doc, qr_text);
    let (w, h) = (u16::try_from(CARD_W).ok()?, u16::try_from(CARD_H).ok()?);
    match format {
        ImageFormat::Jpeg => {
            let mut out = Vec::new();
            jpeg_encoder::Encoder::new(&mut out, 90)
                .encode(&px, w, h, jpeg_encoder::ColorType::Rgb)
                .ok()?;
            libjpeg_marker_order(&out)
        }
        ImageFormat::Png => Some(png(u32::from(w), u32::from(h), &px)),
    }
}

/// An 8-bit RGB PNG: signature, `IHDR`, one zlib-compressed `IDAT` (each
/// row with filter type 1, "sub", which suits flat areas), `IEND`.
pub fn png(width: u32, height: u32, rgb: &[u8]) -> Vec<u8> {
    let stride = usize::try_from(width).unwrap_or(0) * 3;
    let mut raw = Vec::with_capacity((stride + 1) * usize::try_from(height).unwrap_or(0));
    for row in rgb.chunks(stride.max(1)) {
        raw.push(1);
        for (i, &b) in row.iter().enumerate() {
            let left = if i >= 3 { row[i - 3] } else { 0 };
            raw.push(b.wrapping_sub(left));
        }
    }
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    // 8 bits a sample, colour type 2 (RGB), deflate, filtering 0, no interlace.
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(
        &mut out,
        b"IDAT",
        &miniz_oxide::deflate::compress_to_vec_zlib(&raw, 9),
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&u32::try_from(data.len()).unwrap_or(0).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// CRC-32 (ISO 3309), as PNG chunks carry it.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn crc32_is_the_standard_one() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
    }

    #[test]
    fn a_png_inflates_back_to_its_rows() {
        let rgb: Vec<u8> = (0..4 * 3 * 3).map(|i| (i * 7) as u8).collect();
        let png = png(4, 3, &rgb);
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert!(png.ends_with(&[0xAE, 0x42, 0x60, 0x82]));
        let idat_len = u32::from_be_bytes(png[33..37].try_into().unwrap()) as usize;
        assert_eq!(&png[37..41], b"IDAT");
        let raw = miniz_oxide::inflate::decompress_to_vec_zlib(&png[41..41 + idat_len]).unwrap();
        assert_eq!(raw.len(), 3 * (1 + 12));
        let mut rows = Vec::new();
        for row in raw.chunks(13) {
            assert_eq!(row[0], 1);
            let mut out: Vec<u8> = Vec::new();
            for (i, &b) in row[1..].iter().enumerate() {
                let left = if i >= 3 { out[i - 3] } else { 0 };
                out.push(b.wrapping_add(left));
            }
            rows.extend(out);
        }
        assert_eq!(rows, rgb);
    }
}
