//! A ticket's QR code as PNG or SVG. The `qrcode` crate builds the matrix
//! (error correction level M survives a cracked phone screen); the PNG is
//! encoded by the `png` crate.

use crate::error::{BookingError, Result};
use qrcode::{Color, EcLevel, QrCode};

/// Pixels per module in the PNG: about 300 px for a ticket, readable by
/// phone cameras and door scanners.
const PNG_SCALE: usize = 6;
/// Light modules around the code, as the QR specification asks.
const QUIET_ZONE: usize = 4;

fn code(text: &str) -> Result<QrCode> {
    QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|e| BookingError::internal(format!("QR code: {e}")))
}

/// The QR code of `text` as an 8-bit greyscale PNG.
pub fn png(text: &str) -> Result<Vec<u8>> {
    let code = code(text)?;
    let modules = code.width();
    let colors = code.to_colors();
    let side = (modules + 2 * QUIET_ZONE) * PNG_SCALE;
    let mut pixels = vec![255u8; side * side];
    for (i, color) in colors.iter().enumerate() {
        if *color != Color::Dark {
            continue;
        }
        let (mx, my) = (i % modules + QUIET_ZONE, i / modules + QUIET_ZONE);
        for y in my * PNG_SCALE..(my + 1) * PNG_SCALE {
            pixels[y * side + mx * PNG_SCALE..y * side + (mx + 1) * PNG_SCALE].fill(0);
        }
    }
    let mut out = Vec::new();
    let side32 = u32::try_from(side).map_err(BookingError::internal)?;
    let mut encoder = png::Encoder::new(&mut out, side32, side32);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(BookingError::internal)?;
    writer
        .write_image_data(&pixels)
        .map_err(BookingError::internal)?;
    writer.finish().map_err(BookingError::internal)?;
    Ok(out)
}

/// The QR code of `text` as modules, quiet zone included: `(side, dark)`
/// with `dark` row by row, top row first.
pub fn modules(text: &str) -> Result<(usize, Vec<bool>)> {
    let code = code(text)?;
    let inner = code.width();
    let side = inner + 2 * QUIET_ZONE;
    let mut dark = vec![false; side * side];
    for (i, color) in code.to_colors().iter().enumerate() {
        if *color == Color::Dark {
            dark[(i / inner + QUIET_ZONE) * side + i % inner + QUIET_ZONE] = true;
        }
    }
    Ok((side, dark))
}

/// The QR code of `text` as an SVG document.
pub fn svg(text: &str) -> Result<String> {
    Ok(code(text)?
        .render::<qrcode::render::svg::Color<'_>>()
        .quiet_zone(true)
        .min_dimensions(300, 300)
        .build())
}
