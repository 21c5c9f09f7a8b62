//! A matrix as a picture: values mapped through a diverging colour scale (blue below zero, white
//! at zero, red above, symmetric around zero) and written as an uncompressed 24-bit BMP, so the
//! page can show a prompt heatmap or a correlation map as one `<img>` (a `data:` URL) instead of
//! thousands of SVG elements. One pixel per value; the page scales it up without smoothing.

/// The colour of `v` on a scale from `-limit` (blue) through 0 (white) to `limit` (red); values
/// beyond the limit saturate, NaN is grey.
pub fn diverging(v: f32, limit: f32) -> [u8; 3] {
    if v.is_nan() {
        return [128, 128, 128];
    }
    let t = if limit > 0.0 {
        (v / limit).clamp(-1.0, 1.0)
    } else {
        0.0
    };
    // End points: #b2182b (red) and #2166ac (blue), blended with white by |t|.
    let end = if t >= 0.0 {
        [0xb2, 0x18, 0x2b]
    } else {
        [0x21, 0x66, 0xac]
    };
    let a = t.abs();
    end.map(|c| (255.0 + (c as f32 - 255.0) * a).round() as u8)
}

/// A 24-bit BMP of `width` x `height` pixels from row-major RGB triples (top row first).
pub fn bmp(width: usize, height: usize, rgb: &[[u8; 3]]) -> Vec<u8> {
    assert_eq!(rgb.len(), width * height, "one colour per pixel");
    let row = (width * 3).div_ceil(4) * 4;
    let size = 54 + row * height;
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(b"BM");
    out.extend_from_slice(&(size as u32).to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&54u32.to_le_bytes());
    out.extend_from_slice(&40u32.to_le_bytes()); // BITMAPINFOHEADER
    out.extend_from_slice(&(width as i32).to_le_bytes());
    out.extend_from_slice(&(height as i32).to_le_bytes()); // positive: bottom row first
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&24u16.to_le_bytes());
    out.extend_from_slice(&[0; 24]); // no compression, default size, resolution and palette
    for y in (0..height).rev() {
        let start = out.len();
        for &[r, g, b] in &rgb[y * width..(y + 1) * width] {
            out.extend_from_slice(&[b, g, r]);
        }
        out.resize(start + row, 0);
    }
    out
}

/// Standard base64 with padding.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (b as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A `rows` x `cols` matrix (row-major) as a BMP `data:` URL on the diverging scale.
pub fn data_url(values: &[f32], rows: usize, cols: usize, limit: f32) -> String {
    let rgb: Vec<[u8; 3]> = values.iter().map(|&v| diverging(v, limit)).collect();
    format!("data:image/bmp;base64,{}", base64(&bmp(cols, rows, &rgb)))
}

/// The largest absolute finite value (0 when there is none): the symmetric scale's limit.
pub fn abs_max(values: &[f32]) -> f32 {
    values
        .iter()
        .filter(|v| v.is_finite())
        .fold(0.0f32, |m, v| m.max(v.abs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_end_points() {
        assert_eq!(diverging(0.0, 1.0), [255, 255, 255]);
        assert_eq!(diverging(1.0, 1.0), [0xb2, 0x18, 0x2b]);
        assert_eq!(diverging(-5.0, 1.0), [0x21, 0x66, 0xac]);
        assert_eq!(diverging(f32::NAN, 1.0), [128, 128, 128]);
        assert_eq!(diverging(3.0, 0.0), [255, 255, 255]);
        let half = diverging(0.5, 1.0);
        assert!(half[0] > 0xb2 && half[1] > 0x18 && half[1] < 255);
    }

    #[test]
    fn bmp_layout() {
        // 2 x 2: top row red, green; bottom row blue, white. Rows pad to 8 bytes.
        let px = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]];
        let b = bmp(2, 2, &px);
        assert_eq!(b.len(), 54 + 8 * 2);
        assert_eq!(&b[..2], b"BM");
        assert_eq!(
            u32::from_le_bytes(b[2..6].try_into().unwrap()),
            b.len() as u32
        );
        assert_eq!(i32::from_le_bytes(b[18..22].try_into().unwrap()), 2);
        assert_eq!(u16::from_le_bytes(b[28..30].try_into().unwrap()), 24);
        // The bottom row comes first, each pixel as B, G, R.
        assert_eq!(&b[54..62], &[255, 0, 0, 255, 255, 255, 0, 0]);
        assert_eq!(&b[62..70], &[0, 0, 255, 0, 255, 0, 0, 0]);
    }

    #[test]
    fn base64_known_values() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(&[0xff, 0xfe, 0x00]), "//4A");
    }

    #[test]
    fn limits_ignore_non_finite_values() {
        assert_eq!(abs_max(&[1.0, -3.0, f32::NAN, f32::INFINITY]), 3.0);
        assert_eq!(abs_max(&[]), 0.0);
        assert!(data_url(&[0.0, 1.0], 1, 2, 1.0).starts_with("data:image/bmp;base64,Qk"));
    }
}
