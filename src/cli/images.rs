//! Image folders for the command line: one sub-folder per class, decoded with the `image` crate.

use crate::error::Error;
use std::path::Path;
use std::sync::Arc;

use crate::train::image::{kept_size, shrink_to_kept};
use crate::train::{RgbImage, Sample};

/// File extensions read as images; other files are skipped (and counted).
const EXTENSIONS: [&str; 6] = ["jpg", "jpeg", "png", "webp", "bmp", "gif"];

/// The decoder's bounds: a side of at most 16,384 pixels and 512 MiB for the decoded picture,
/// so a small file that claims a huge picture is refused before memory is taken.
const MAX_DECODED_SIDE: u32 = 16_384;
const MAX_DECODED_BYTES: u64 = 512 << 20;

/// Decodes any supported format to 8-bit RGB (grey and alpha are converted, alpha dropped),
/// within the bounds above, and shrinks it to at most `MAX_SIDE` px on its longer side as the
/// page does.
pub fn decode(bytes: &[u8]) -> Result<RgbImage, Error> {
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes)).with_guessed_format()?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_DECODED_SIDE);
    limits.max_image_height = Some(MAX_DECODED_SIDE);
    limits.max_alloc = Some(MAX_DECODED_BYTES);
    reader.limits(limits);
    let img = reader.decode()?;
    let (width, height) = (img.width() as usize, img.height() as usize);
    if width == 0 || height == 0 {
        return Err("the image is empty".into());
    }
    // Shrink before the RGB copy when the picture is large.
    let img = match kept_size(img.width(), img.height()) {
        (w, h) if (w, h) != (img.width(), img.height()) && width * height > 4 << 20 => {
            img.resize_exact(w * 2, h * 2, image::imageops::FilterType::Triangle)
        }
        _ => img,
    };
    let rgb = img.to_rgb8();
    Ok(shrink_to_kept(RgbImage {
        width: rgb.width() as usize,
        height: rgb.height() as usize,
        pixels: rgb.into_raw(),
    }))
}

/// Classes (sub-folder names, sorted) and their images.
pub struct Folder {
    pub classes: Vec<String>,
    pub samples: Vec<Sample>,
    /// Files without an image extension.
    pub skipped: usize,
}

/// Reads `dir/<class>/<image>`. With `classes`, those names in that order must all exist
/// (a test folder must match the training one); every unreadable image is named in the error.
pub fn read_folder(dir: &Path, classes: Option<&[String]>) -> Result<Folder, Error> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::at(dir, e))?;
    let mut found: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    let classes = match classes {
        Some(want) => {
            if let Some(missing) = want.iter().find(|c| !found.contains(c)) {
                return Err(format!("{}: no folder for class {missing:?}", dir.display()).into());
            }
            want.to_vec()
        }
        None => found,
    };
    if classes.is_empty() {
        return Err(format!(
            "{}: no class folders (expected one sub-folder per class)",
            dir.display()
        )
        .into());
    }
    let mut samples = Vec::new();
    let mut skipped = 0;
    let mut errors = Vec::new();
    for (label, class) in classes.iter().enumerate() {
        let sub = dir.join(class);
        let mut files: Vec<_> = std::fs::read_dir(&sub)
            .map_err(|e| Error::at(sub, e))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        for path in files {
            let ext = path.extension().map(|e| e.to_string_lossy().to_lowercase());
            if !ext.is_some_and(|e| EXTENSIONS.contains(&e.as_str())) {
                skipped += 1;
                continue;
            }
            let decoded = std::fs::read(&path)
                .map_err(Error::from)
                .and_then(|b| decode(&b));
            match decoded {
                Ok(image) => samples.push(Sample {
                    image: Arc::new(image),
                    label,
                    name: path.display().to_string(),
                }),
                Err(e) => errors.push(format!("{}: {e}", path.display())),
            }
        }
    }
    if !errors.is_empty() {
        return Err(format!(
            "{} unreadable image(s):\n  {}",
            errors.len(),
            errors.join("\n  ")
        )
        .into());
    }
    Ok(Folder {
        classes,
        samples,
        skipped,
    })
}
