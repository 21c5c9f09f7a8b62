//! The user's images: named classes of decoded pictures, files that could not be read, and
//! the held-out share, turned into the engine's [`Dataset`] when a run starts.

use std::sync::Arc;

use leptos::prelude::*;
use web_sys::Blob;

use super::decode;
use crate::app::browser::js::{self, PickedFile};
use crate::train::{Dataset, RgbImage, Sample, TrainError};

/// One decoded picture.
#[derive(Clone)]
pub struct DataImage {
    pub name: String,
    pub image: Arc<RgbImage>,
    /// An object URL of the original file, for the thumbnail.
    pub thumb: String,
    /// The original file, as it is saved for the next visit.
    pub blob: Blob,
    /// The number of its saved copy (see `saved`); unique within the data set.
    pub file: u64,
}

#[derive(Clone)]
pub struct ClassEntry {
    /// Stable across renames and removals (list keys, file inputs).
    pub id: u32,
    pub name: String,
    pub images: Vec<DataImage>,
}

/// A file that was skipped, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Rejected {
    pub name: String,
    pub reason: String,
}

#[derive(Clone, Default)]
pub struct ImageClasses {
    pub classes: Vec<ClassEntry>,
    next_id: u32,
    /// Share of each class held out for the accuracy curve.
    pub holdout: f64,
    pub rejected: Vec<Rejected>,
    /// Files still being decoded.
    pub pending: usize,
    next_file: u64,
}

/// Held-out images of a class of `n`, as [`Dataset::split`] chooses them; None when the class
/// is too small to split.
pub fn held_out(n: usize, fraction: f64) -> Option<usize> {
    if fraction <= 0.0 {
        return (n >= 1).then_some(0);
    }
    (n >= 2).then(|| ((n as f64 * fraction).round() as usize).clamp(1, n - 1))
}

impl ImageClasses {
    /// Two empty classes, as a start.
    pub fn with_default_classes() -> Self {
        let mut data = Self {
            holdout: 0.25,
            ..Self::default()
        };
        data.add_class();
        data.add_class();
        data
    }

    pub fn add_class(&mut self) -> u32 {
        let id = self.next_id;
        self.next_id += 1;
        let mut n = self.classes.len() + 1;
        while self.classes.iter().any(|c| c.name == format!("Class {n}")) {
            n += 1;
        }
        self.classes.push(ClassEntry {
            id,
            name: format!("Class {n}"),
            images: Vec::new(),
        });
        id
    }

    /// A class with a given name (restored or sample classes).
    pub fn add_named_class(&mut self, name: String) -> u32 {
        let id = self.add_class();
        if let Some(c) = self.class_mut(id) {
            c.name = name;
        }
        id
    }

    /// A number for a new image's saved copy; None once every number has been handed out.
    pub fn new_file(&mut self) -> Option<u64> {
        let file = self.next_file;
        self.next_file = file.checked_add(1)?;
        Some(file)
    }

    /// Keeps `file` from being handed out again (restored images keep their numbers).
    pub fn reserve_file(&mut self, file: u64) {
        self.next_file = self.next_file.max(file.saturating_add(1));
    }

    /// Removes every class and returns the thumbnails' URLs (to revoke).
    pub fn clear_classes(&mut self) -> Vec<String> {
        self.classes
            .drain(..)
            .flat_map(|c| c.images.into_iter().map(|im| im.thumb))
            .collect()
    }

    pub fn class(&self, id: u32) -> Option<&ClassEntry> {
        self.classes.iter().find(|c| c.id == id)
    }

    pub fn class_mut(&mut self, id: u32) -> Option<&mut ClassEntry> {
        self.classes.iter_mut().find(|c| c.id == id)
    }

    /// Removes a class and returns its thumbnails' URLs (to revoke).
    pub fn remove_class(&mut self, id: u32) -> Vec<String> {
        let Some(i) = self.classes.iter().position(|c| c.id == id) else {
            return Vec::new();
        };
        let class = self.classes.remove(i);
        class.images.into_iter().map(|im| im.thumb).collect()
    }

    /// The number after the highest `camera-<n>.png` in class `id` (camera pictures' names).
    pub fn next_camera_number(&self, id: u32) -> u32 {
        let Some(class) = self.class(id) else {
            return 1;
        };
        class
            .images
            .iter()
            .filter_map(|im| {
                im.name
                    .strip_prefix("camera-")?
                    .strip_suffix(".png")?
                    .parse::<u32>()
                    .ok()
            })
            .max()
            .map_or(1, |n| n.saturating_add(1))
    }

    /// The class names, trimmed, with empty names replaced.
    pub fn class_names(&self) -> Vec<String> {
        self.classes
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let name = c.name.trim();
                if name.is_empty() {
                    format!("class {}", i + 1)
                } else {
                    name.to_string()
                }
            })
            .collect()
    }

    /// The training and held-out samples, split per class with `seed`.
    pub fn dataset(&self, seed: u64) -> Result<Dataset, TrainError> {
        let names = self.class_names();
        for (i, name) in names.iter().enumerate() {
            if names[..i].contains(name) {
                return Err(TrainError::Data(format!(
                    "two classes are called {name:?}: give each class its own name"
                )));
            }
        }
        let samples = self
            .classes
            .iter()
            .enumerate()
            .flat_map(|(label, c)| {
                c.images.iter().map(move |im| Sample {
                    image: im.image.clone(),
                    label,
                    name: im.name.clone(),
                })
            })
            .collect();
        Dataset::split(names, samples, self.holdout, seed)
    }
}

/// Decodes files one by one into class `id`, keeping the readable ones.
pub async fn add_files(
    data: RwSignal<ImageClasses, LocalStorage>,
    id: u32,
    files: Vec<PickedFile>,
) {
    data.update(|d| d.pending += files.len());
    for file in files {
        let decoded = decode::decode(&file).await;
        data.update(|d| {
            d.pending -= 1;
            match decoded {
                Ok(image) => {
                    let Some(file_number) = d.new_file() else {
                        return d.rejected.push(Rejected {
                            name: file.name.clone(),
                            reason: "no picture numbers are left in this browser's saved data \
                                     (\u{201c}Clear saved data\u{201d} starts again)"
                                .into(),
                        });
                    };
                    if let Some(class) = d.class_mut(id) {
                        class.images.push(DataImage {
                            name: file.name.clone(),
                            image: image.into(),
                            thumb: js::object_url(&file.blob),
                            blob: file.blob.clone(),
                            file: file_number,
                        });
                    }
                }
                Err(reason) => d.rejected.push(Rejected {
                    name: file.name.clone(),
                    reason,
                }),
            }
        });
    }
}
