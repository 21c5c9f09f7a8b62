//! Images on the host: decoded RGB pixels, the crops of training and evaluation, resampling
//! and normalisation into the model's input layout.
//!
//! Resampling is separable and area-aware like PIL's (the filter widens by the downscale
//! factor, so shrinking a photo averages its pixels instead of skipping them), with Keys' cubic
//! (a = -0.5, PIL's and torchvision's bicubic).

use crate::model::{Interpolation, Preprocess};
use crate::rng::Rng;

/// Pictures are shrunk to at most this many pixels on their longer side when they are read (on
/// the page and on the command line): training crops are far smaller, and a 12-megapixel photo
/// would hold 36 MB otherwise.
pub const MAX_SIDE: u32 = 512;

/// The size an image of `width` x `height` is kept at (its own when no side exceeds
/// [`MAX_SIDE`]).
pub fn kept_size(width: u32, height: u32) -> (u32, u32) {
    let long = width.max(height);
    if long <= MAX_SIDE {
        return (width, height);
    }
    let scale = f64::from(MAX_SIDE) / f64::from(long);
    let side = |v: u32| ((f64::from(v) * scale).round() as u32).max(1);
    (side(width), side(height))
}

/// The picture shrunk to [`kept_size`] with the area-aware bicubic filter.
pub fn shrink_to_kept(image: RgbImage) -> RgbImage {
    let (w, h) = kept_size(image.width as u32, image.height as u32);
    let (w, h) = (w as usize, h as usize);
    if (w, h) == (image.width, image.height) {
        return image;
    }
    let whole = Crop {
        x: 0.0,
        y: 0.0,
        width: image.width as f64,
        height: image.height as f64,
    };
    let chw = resample(&image, whole, w, h);
    let plane = w * h;
    let pixels = (0..plane)
        .flat_map(|i| (0..3).map(move |c| (i, c)))
        .map(|(i, c)| (chw[c * plane + i] * 255.0).round() as u8)
        .collect();
    RgbImage {
        width: w,
        height: h,
        pixels,
    }
}

/// 8-bit RGB pixels, row-major, interleaved.
#[derive(Clone, Debug, PartialEq)]
pub struct RgbImage {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
}

/// A box in source pixel coordinates (continuous: pixel i covers [i, i + 1)).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Crop {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

/// How an image becomes an input.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Transform {
    pub size: usize,
    pub mean: [f32; 3],
    pub std: [f32; 3],
    /// The evaluation view: the centre crop of this share of the shorter side.
    pub crop_pct: f64,
    pub interpolation: Interpolation,
    /// RandomResizedCrop's range of the area fraction, while training.
    pub scale: (f64, f64),
}

impl Transform {
    /// The checkpoint's normalisation, crop and filter at `size` px, torchvision's crop scale
    /// (0.08, 1) while training.
    pub fn new(size: usize, p: &Preprocess) -> Self {
        Self {
            size,
            mean: p.mean,
            std: p.std,
            crop_pct: p.crop_pct,
            interpolation: p.interpolation,
            scale: (0.08, 1.0),
        }
    }

    /// ImageNet normalisation (timm's default and DINOv2's), crop 0.875, bicubic.
    pub fn imagenet(size: usize) -> Self {
        Self::new(size, &Preprocess::default())
    }

    /// What [`Self::new`] was given.
    pub fn preprocess(&self) -> Preprocess {
        Preprocess {
            mean: self.mean,
            std: self.std,
            crop_pct: self.crop_pct,
            interpolation: self.interpolation,
        }
    }

    /// Training view: RandomResizedCrop and a horizontal flip with probability 1/2. CHW floats.
    pub fn train(&self, image: &RgbImage, rng: &mut Rng) -> Vec<f32> {
        let crop = random_resized_crop(image.width, image.height, self.scale, rng);
        let mut out = self.finish(image, crop);
        if rng.uniform() < 0.5 {
            flip_horizontal(&mut out, self.size);
        }
        out
    }

    /// Evaluation view, as timm and torchvision make it: resize the shorter side to
    /// floor(size / crop_pct) (the longer in proportion, truncated), round to 8 bits as PIL
    /// does, then take the centre size x size (offsets rounded half to even, as Python's
    /// `round`). For 224 px and crop 0.875: resize to 256, crop 224.
    pub fn eval(&self, image: &RgbImage) -> Vec<f32> {
        let (w, h) = (image.width, image.height);
        let s = self.size;
        let short = ((s as f64 / self.crop_pct).floor() as usize).max(s);
        let long =
            |l: usize, sh: usize| ((short as f64 * l as f64 / sh as f64) as usize).max(short);
        let (rw, rh) = if w <= h {
            (short, long(h, w))
        } else {
            (long(w, h), short)
        };
        let whole = Crop {
            x: 0.0,
            y: 0.0,
            width: w as f64,
            height: h as f64,
        };
        let resized = resample_with(image, whole, rw, rh, self.interpolation);
        let (top, left) = (centre_offset(rh, s), centre_offset(rw, s));
        let mut out = Vec::with_capacity(3 * s * s);
        for c in 0..3 {
            let plane = &resized[c * rw * rh..(c + 1) * rw * rh];
            for y in top..top + s {
                out.extend(
                    plane[y * rw + left..y * rw + left + s]
                        .iter()
                        .map(|v| (v * 255.0).round() / 255.0),
                );
            }
        }
        self.normalise(&mut out);
        out
    }

    fn finish(&self, image: &RgbImage, crop: Crop) -> Vec<f32> {
        let mut out = resample_with(image, crop, self.size, self.size, self.interpolation);
        self.normalise(&mut out);
        out
    }

    /// (v - mean) / std per channel of CHW planes of side `size`.
    fn normalise(&self, chw: &mut [f32]) {
        let plane = self.size * self.size;
        for (c, chunk) in chw.chunks_mut(plane).enumerate() {
            for v in chunk {
                *v = (*v - self.mean[c]) / self.std[c];
            }
        }
    }
}

/// torchvision's RandomResizedCrop box: ten tries at an area fraction in `scale` and an aspect
/// ratio log-uniform in [3/4, 4/3]; otherwise the whole image cropped to the nearest allowed
/// ratio.
pub fn random_resized_crop(width: usize, height: usize, scale: (f64, f64), rng: &mut Rng) -> Crop {
    let (w, h) = (width as f64, height as f64);
    let area = w * h;
    let (lo, hi) = ((3.0f64 / 4.0).ln(), (4.0f64 / 3.0).ln());
    for _ in 0..10 {
        let target = area * rng.range(scale.0, scale.1);
        let ratio = rng.range(lo, hi).exp();
        let cw = (target * ratio).sqrt().round();
        let ch = (target / ratio).sqrt().round();
        if cw > 0.0 && ch > 0.0 && cw <= w && ch <= h {
            let x = rng.below((w - cw) as usize + 1) as f64;
            let y = rng.below((h - ch) as usize + 1) as f64;
            return Crop {
                x,
                y,
                width: cw,
                height: ch,
            };
        }
    }
    let ratio = w / h;
    let (cw, ch) = if ratio < 3.0 / 4.0 {
        (w, (w / (3.0 / 4.0)).round())
    } else if ratio > 4.0 / 3.0 {
        ((h * 4.0 / 3.0).round(), h)
    } else {
        (w, h)
    };
    Crop {
        x: ((w - cw) / 2.0).floor(),
        y: ((h - ch) / 2.0).floor(),
        width: cw,
        height: ch,
    }
}

/// Keys' cubic convolution kernel with a = -0.5.
fn cubic(x: f64) -> f64 {
    let a = -0.5;
    let x = x.abs();
    if x < 1.0 {
        ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        (((x - 5.0) * x + 8.0) * x - 4.0) * a
    } else {
        0.0
    }
}

/// The offset of a centred crop of `crop` in `len` pixels: (len - crop) / 2 rounded half to
/// even, as torchvision's `center_crop` (Python's `round`).
fn centre_offset(len: usize, crop: usize) -> usize {
    let d = len.saturating_sub(crop);
    let half = d / 2;
    if d % 2 == 1 && half % 2 == 1 {
        half + 1
    } else {
        half
    }
}

/// The triangle kernel (support 1).
fn triangle(x: f64) -> f64 {
    (1.0 - x.abs()).max(0.0)
}

/// For each of `out` output samples over [start, start + len) of a source axis of `n` pixels:
/// the first source index and the normalised weights.
fn taps(
    n: usize,
    start: f64,
    len: f64,
    out: usize,
    filter: Interpolation,
) -> Vec<(usize, Vec<f32>)> {
    let (kernel, radius): (fn(f64) -> f64, f64) = match filter {
        Interpolation::Bicubic => (cubic, 2.0),
        Interpolation::Bilinear => (triangle, 1.0),
    };
    let scale = len / out as f64;
    let stretch = scale.max(1.0);
    let support = radius * stretch;
    (0..out)
        .map(|o| {
            let centre = start + (o as f64 + 0.5) * scale;
            let first = ((centre - support).floor().max(0.0)) as usize;
            let last = ((centre + support).ceil() as usize).min(n);
            let mut weights: Vec<f64> = (first..last)
                .map(|i| kernel((i as f64 + 0.5 - centre) / stretch))
                .collect();
            let total: f64 = weights.iter().sum();
            if total != 0.0 {
                weights.iter_mut().for_each(|w| *w /= total);
            }
            (first, weights.into_iter().map(|w| w as f32).collect())
        })
        .collect()
}

/// The `crop` of `image` resampled to out_w x out_h with the bicubic filter, as CHW floats in
/// [0, 1].
pub fn resample(image: &RgbImage, crop: Crop, out_w: usize, out_h: usize) -> Vec<f32> {
    resample_with(image, crop, out_w, out_h, Interpolation::Bicubic)
}

/// [`resample`] with the given filter.
pub fn resample_with(
    image: &RgbImage,
    crop: Crop,
    out_w: usize,
    out_h: usize,
    filter: Interpolation,
) -> Vec<f32> {
    let (w, h) = (image.width, image.height);
    let xs = taps(w, crop.x, crop.width, out_w, filter);
    let ys = taps(h, crop.y, crop.height, out_h, filter);
    // Horizontal pass over the rows the vertical taps touch: [h][out_w][3].
    let mut rows = vec![0.0f32; h * out_w * 3];
    let (y_lo, y_hi) = ys.iter().fold((h, 0), |(lo, hi), (f, wts)| {
        (lo.min(*f), hi.max(f + wts.len()))
    });
    for y in y_lo..y_hi {
        let src = &image.pixels[y * w * 3..(y + 1) * w * 3];
        for (ox, (first, weights)) in xs.iter().enumerate() {
            let mut acc = [0.0f32; 3];
            for (k, wt) in weights.iter().enumerate() {
                let p = &src[(first + k) * 3..(first + k) * 3 + 3];
                for c in 0..3 {
                    acc[c] += wt * p[c] as f32;
                }
            }
            rows[(y * out_w + ox) * 3..(y * out_w + ox) * 3 + 3].copy_from_slice(&acc);
        }
    }
    let plane = out_w * out_h;
    let mut out = vec![0.0f32; 3 * plane];
    for (oy, (first, weights)) in ys.iter().enumerate() {
        for ox in 0..out_w {
            let mut acc = [0.0f32; 3];
            for (k, wt) in weights.iter().enumerate() {
                let p = &rows[((first + k) * out_w + ox) * 3..];
                for c in 0..3 {
                    acc[c] += wt * p[c];
                }
            }
            for c in 0..3 {
                out[c * plane + oy * out_w + ox] = (acc[c] / 255.0).clamp(0.0, 1.0);
            }
        }
    }
    out
}

/// Mirrors CHW planes of side `size` left to right.
pub fn flip_horizontal(chw: &mut [f32], size: usize) {
    for row in chw.chunks_mut(size) {
        row.reverse();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(w: usize, h: usize) -> RgbImage {
        let mut pixels = Vec::with_capacity(w * h * 3);
        for y in 0..h {
            for x in 0..w {
                pixels.extend([(x * 255 / (w - 1)) as u8, (y * 255 / (h - 1)) as u8, 128]);
            }
        }
        RgbImage {
            width: w,
            height: h,
            pixels,
        }
    }

    #[test]
    fn a_constant_image_stays_constant_at_any_size() {
        let img = RgbImage {
            width: 37,
            height: 23,
            pixels: [10u8, 200, 77].repeat(37 * 23),
        };
        for (ow, oh) in [(5, 5), (37, 23), (100, 64)] {
            let crop = Crop {
                x: 3.5,
                y: 1.0,
                width: 20.0,
                height: 17.0,
            };
            let out = resample(&img, crop, ow, oh);
            for (c, want) in [10.0, 200.0, 77.0].iter().enumerate() {
                for v in &out[c * ow * oh..(c + 1) * ow * oh] {
                    assert!((v * 255.0 - want).abs() < 1e-3, "{v} vs {want}");
                }
            }
        }
    }

    #[test]
    fn resampling_the_whole_image_at_its_own_size_is_the_identity() {
        let img = gradient(9, 7);
        let crop = Crop {
            x: 0.0,
            y: 0.0,
            width: 9.0,
            height: 7.0,
        };
        let out = resample(&img, crop, 9, 7);
        for y in 0..7 {
            for x in 0..9 {
                for c in 0..3 {
                    let want = img.pixels[(y * 9 + x) * 3 + c] as f32 / 255.0;
                    assert!((out[c * 63 + y * 9 + x] - want).abs() < 1e-6);
                }
            }
        }
    }

    #[test]
    fn downscaling_by_two_averages_a_linear_ramp() {
        // A linear ramp stays linear: output pixel k covers source pixels 2k and 2k + 1.
        let img = gradient(64, 2);
        let out = resample(
            &img,
            Crop {
                x: 0.0,
                y: 0.0,
                width: 64.0,
                height: 2.0,
            },
            32,
            1,
        );
        for (k, got) in out.iter().enumerate().take(28).skip(4) {
            let want = ((2 * k) * 255 / 63 + (2 * k + 1) * 255 / 63) as f32 / 2.0 / 255.0;
            assert!(
                (got - want).abs() < 2.0 / 255.0,
                "pixel {k}: {} vs {want}",
                got
            );
        }
    }

    #[test]
    fn random_crops_stay_inside_the_image_and_respect_the_ratio() {
        let mut rng = Rng::new(4);
        for (w, h) in [(28, 28), (640, 480), (30, 500), (1, 1)] {
            for _ in 0..200 {
                let c = random_resized_crop(w, h, (0.08, 1.0), &mut rng);
                assert!(c.x >= 0.0 && c.y >= 0.0 && c.width >= 1.0 && c.height >= 1.0);
                assert!(
                    c.x + c.width <= w as f64 && c.y + c.height <= h as f64,
                    "{c:?} in {w}x{h}"
                );
            }
        }
    }

    #[test]
    fn the_training_view_is_normalised_and_flips_keep_the_values() {
        let img = gradient(16, 16);
        let t = Transform::imagenet(8);
        let out = t.eval(&img);
        assert_eq!(out.len(), 3 * 64);
        // Blue is constant 128: (128 / 255 - 0.406) / 0.225 everywhere.
        let blue = (128.0 / 255.0 - 0.406) / 0.225;
        assert!(out[128..].iter().all(|v| (v - blue).abs() < 1e-4));
        let mut flipped = out.clone();
        flip_horizontal(&mut flipped, 8);
        assert_eq!(flipped[0], out[7]);
        assert_ne!(flipped[0], out[0]);
    }
}
