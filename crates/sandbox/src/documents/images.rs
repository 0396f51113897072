//! The pictures on a sandbox PDF: the security-paper background, the QR
//! code, and what a PDF needs to know about a JPEG to embed it.

use std::sync::OnceLock;

/// A picture ready to become a PDF image XObject.
pub(super) struct Picture {
    pub width: u32,
    pub height: u32,
    /// `true`: DeviceRGB; `false`: DeviceGray.
    pub rgb: bool,
    /// `true`: `data` is a JPEG (DCTDecode); `false`: raw 8-bit samples.
    pub jpeg: bool,
    pub data: Vec<u8>,
}

/// Size of the background image: A4 at about 90 dpi.
const BG_W: u16 = 744;
const BG_H: u16 = 1052;

/// The security-paper background every page is printed on: pale guilloche
/// line work (two families of interlaced waves and a rosette), as on
/// government certificates. It is the same for every document, so it is
/// drawn and JPEG-encoded once per process.
pub(super) fn background() -> Option<&'static Picture> {
    static BACKGROUND: OnceLock<Option<Picture>> = OnceLock::new();
    BACKGROUND
        .get_or_init(|| {
            let data = guilloche().ok()?;
            Some(Picture {
                width: u32::from(BG_W),
                height: u32::from(BG_H),
                rgb: true,
                jpeg: true,
                data,
            })
        })
        .as_ref()
}

/// How much a pixel at phase `p` belongs to a line of half-width `half`
/// (phase units): 1 on an integer phase, fading to 0.
fn line(p: f32, half: f32) -> f32 {
    let d = (p - p.round()).abs();
    if d < half {
        1.0 - d / half
    } else {
        0.0
    }
}

fn guilloche() -> Result<Vec<u8>, jpeg_encoder::EncodingError> {
    const PAPER: [f32; 3] = [247.0, 249.0, 241.0];
    // What each family of lines takes away from the paper colour.
    const WAVES: [f32; 3] = [40.0, 18.0, 34.0];
    const CROSS: [f32; 3] = [22.0, 30.0, 12.0];
    const ROSETTE: [f32; 3] = [16.0, 40.0, 34.0];
    let (w, h) = (f32::from(BG_W), f32::from(BG_H));
    let (cx, cy) = (w * 0.5, h * 0.56);
    let reach = w * 0.36;
    let mut pixels = Vec::with_capacity(usize::from(BG_W) * usize::from(BG_H) * 3);
    for y in 0..BG_H {
        let yf = f32::from(y);
        for x in 0..BG_W {
            let xf = f32::from(x);
            let waves = line(
                yf / 8.5 + 2.4 * (xf * 0.017).sin() + 0.9 * (xf * 0.049 + yf * 0.006).sin(),
                0.16,
            );
            let cross = line(
                xf / 10.5 + 2.8 * (yf * 0.013).sin() + 0.7 * (yf * 0.041).cos(),
                0.13,
            );
            let (dx, dy) = (xf - cx, yf - cy);
            let r = (dx * dx + dy * dy).sqrt();
            let rosette = if r < reach {
                let theta = dy.atan2(dx);
                let fade = 1.0 - r / reach;
                line(r / 6.5 + 2.2 * (14.0 * theta).sin(), 0.14) * fade
                    + line(r / 9.0 - 1.6 * (9.0 * theta).cos(), 0.12) * fade
            } else {
                0.0
            };
            for c in 0..3 {
                let v = PAPER[c] - waves * WAVES[c] - cross * CROSS[c] - rosette * ROSETTE[c];
                pixels.push(v.clamp(0.0, 255.0) as u8);
            }
        }
    }
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 82).encode(
        &pixels,
        BG_W,
        BG_H,
        jpeg_encoder::ColorType::Rgb,
    )?;
    Ok(out)
}

/// Quiet zone around the QR code, in modules (the standard's minimum).
const QUIET: usize = 4;

/// `text` as a QR code (error correction level M): one grey sample per
/// module, black on white, with the quiet zone. `None` if the text is too
/// long for any QR version.
pub(super) fn qr(text: &str) -> Option<Picture> {
    let code =
        qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M).ok()?;
    let modules = code.width();
    let side = modules + 2 * QUIET;
    let mut data = vec![255u8; side * side];
    for (i, colour) in code.to_colors().into_iter().enumerate() {
        if colour == qrcode::Color::Dark {
            let (row, col) = (i / modules, i % modules);
            data[(row + QUIET) * side + col + QUIET] = 0;
        }
    }
    let side = u32::try_from(side).ok()?;
    Some(Picture {
        width: side,
        height: side,
        rgb: false,
        jpeg: false,
        data,
    })
}

/// A JPEG as a picture: width, height and colour from its frame header.
/// `None` for anything that is not a baseline or progressive JPEG with one
/// (grey) or three (colour) components.
pub(super) fn jpeg(data: Vec<u8>) -> Option<Picture> {
    let (width, height, components) = jpeg_frame(&data)?;
    let rgb = match components {
        1 => false,
        3 => true,
        _ => return None,
    };
    Some(Picture {
        width,
        height,
        rgb,
        jpeg: true,
        data,
    })
}

/// Width, height and component count from a JPEG's start-of-frame segment.
fn jpeg_frame(data: &[u8]) -> Option<(u32, u32, u8)> {
    if data.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut i = 2;
    loop {
        if *data.get(i)? != 0xFF {
            return None;
        }
        let marker = *data.get(i + 1)?;
        if marker == 0xDA {
            // Start of scan before any frame header: not a JPEG we can embed.
            return None;
        }
        let len = usize::from(u16::from_be_bytes([*data.get(i + 2)?, *data.get(i + 3)?]));
        if matches!(marker, 0xC0..=0xC2) {
            let seg = data.get(i + 4..i + 2 + len)?;
            let height = u32::from(u16::from_be_bytes([*seg.get(1)?, *seg.get(2)?]));
            let width = u32::from(u16::from_be_bytes([*seg.get(3)?, *seg.get(4)?]));
            return Some((width, height, *seg.get(5)?));
        }
        i += 2 + len;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_background_is_a_pale_page_sized_jpeg() {
        let bg = background().unwrap();
        assert_eq!((bg.width, bg.height), (744, 1052));
        assert_eq!(jpeg_frame(&bg.data), Some((744, 1052, 3)));
        // Real line work, not a flat colour: tens of kilobytes.
        assert!(bg.data.len() > 40_000, "{} bytes", bg.data.len());
    }

    #[test]
    fn qr_codes_have_a_quiet_zone_and_dark_finder_patterns() {
        let q = qr("in.gov.pan-PANCR-ABCDE1234F").unwrap();
        assert_eq!(q.width, q.height);
        let side = q.width as usize;
        // The quiet zone is white; the top-left finder pattern starts dark.
        assert!(q.data[..side * QUIET].iter().all(|&v| v == 255));
        assert_eq!(q.data[QUIET * side + QUIET], 0);
        assert!(qr(&"x".repeat(5000)).is_none());
    }

    #[test]
    fn jpeg_frames_are_read_and_junk_refused() {
        let photo = crate::signing::photo_jpeg("seed").unwrap();
        let picture = jpeg(photo).unwrap();
        assert_eq!(
            (picture.width, picture.height, picture.rgb),
            (160, 200, true)
        );
        assert!(jpeg(b"\xFF\xD8\xFF".to_vec()).is_none());
        assert!(jpeg(b"not a jpeg".to_vec()).is_none());
        assert!(jpeg(Vec::new()).is_none());
    }
}
