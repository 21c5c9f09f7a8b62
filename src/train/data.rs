//! A labelled image set: classes, the training/held-out split, and batches as model inputs.

use std::sync::Arc;

use burn::tensor::{Device, Tensor, TensorData};

use super::TrainError;
use super::image::{RgbImage, Transform};
use crate::rng::Rng;

#[derive(Clone, Debug)]
pub struct Sample {
    pub image: Arc<RgbImage>,
    pub label: usize,
    /// Where it came from (a file name), for messages.
    pub name: String,
}

/// Training and held-out samples over named classes.
#[derive(Clone, Debug, Default)]
pub struct Dataset {
    pub classes: Vec<String>,
    pub train: Vec<Sample>,
    pub test: Vec<Sample>,
}

impl Dataset {
    /// Holds out `fraction` of each class (at least one image when the fraction is positive,
    /// at least one left for training), chosen with `seed`.
    pub fn split(
        classes: Vec<String>,
        samples: Vec<Sample>,
        fraction: f64,
        seed: u64,
    ) -> Result<Self, TrainError> {
        let mut rng = Rng::new(seed).fork(0x5711);
        let mut out = Self {
            classes,
            ..Self::default()
        };
        for (label, name) in out.classes.iter().enumerate() {
            let mut mine: Vec<Sample> = samples
                .iter()
                .filter(|s| s.label == label)
                .cloned()
                .collect();
            let need = if fraction > 0.0 { 2 } else { 1 };
            if mine.len() < need {
                return Err(TrainError::Data(format!(
                    "class {name:?} has {} image(s); it needs at least {need}{}",
                    mine.len(),
                    if need == 2 {
                        " (one to train on, one held out)"
                    } else {
                        ""
                    }
                )));
            }
            rng.shuffle(&mut mine);
            let held = if fraction > 0.0 {
                ((mine.len() as f64 * fraction).round() as usize).clamp(1, mine.len() - 1)
            } else {
                0
            };
            out.test.extend(mine.drain(..held));
            out.train.extend(mine);
        }
        out.validate()?;
        Ok(out)
    }

    /// At least two classes, every class with a training image.
    pub fn validate(&self) -> Result<(), TrainError> {
        if self.classes.len() < 2 {
            return Err(TrainError::Data(format!(
                "{} class(es): a classifier needs at least two",
                self.classes.len()
            )));
        }
        for (label, name) in self.classes.iter().enumerate() {
            if !self.train.iter().any(|s| s.label == label) {
                return Err(TrainError::Data(format!(
                    "class {name:?} has no training image"
                )));
            }
        }
        if let Some(s) = self
            .train
            .iter()
            .chain(&self.test)
            .find(|s| s.label >= self.classes.len())
        {
            return Err(TrainError::Data(format!(
                "{}: label {} out of range",
                s.name, s.label
            )));
        }
        Ok(())
    }
}

/// A batch of model inputs: [B, 3, size, size] and the labels.
pub fn batch(
    samples: &[&Sample],
    transform: &Transform,
    augment: Option<&mut Rng>,
    device: &Device,
) -> (Tensor<4>, Vec<usize>) {
    let s = transform.size;
    let mut data = Vec::with_capacity(samples.len() * 3 * s * s);
    let mut labels = Vec::with_capacity(samples.len());
    match augment {
        Some(rng) => {
            for sample in samples {
                data.extend(transform.train(&sample.image, rng));
                labels.push(sample.label);
            }
        }
        None => {
            for sample in samples {
                data.extend(transform.eval(&sample.image));
                labels.push(sample.label);
            }
        }
    }
    let tensor = Tensor::from_data(TensorData::new(data, [samples.len(), 3, s, s]), device);
    (tensor, labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(per_class: &[usize]) -> Vec<Sample> {
        let image = Arc::new(RgbImage {
            width: 2,
            height: 2,
            pixels: vec![0; 12],
        });
        per_class
            .iter()
            .enumerate()
            .flat_map(|(label, &n)| {
                let image = image.clone();
                (0..n).map(move |i| Sample {
                    image: image.clone(),
                    label,
                    name: format!("{label}/{i}"),
                })
            })
            .collect()
    }

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("c{i}")).collect()
    }

    #[test]
    fn the_split_holds_out_a_share_of_every_class() {
        let d = Dataset::split(names(2), samples(&[10, 5]), 0.2, 1).unwrap();
        let held = |l| d.test.iter().filter(|s| s.label == l).count();
        assert_eq!((held(0), held(1)), (2, 1));
        assert_eq!(d.train.len(), 12);
    }

    #[test]
    fn too_few_images_or_classes_are_clear_errors() {
        let err = Dataset::split(names(2), samples(&[3, 1]), 0.2, 1)
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"c1\" has 1 image"), "{err}");
        let err = Dataset::split(names(2), samples(&[3, 0]), 0.0, 1)
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"c1\" has 0 image"), "{err}");
        let err = Dataset::split(names(1), samples(&[3]), 0.0, 1)
            .unwrap_err()
            .to_string();
        assert!(err.contains("at least two"), "{err}");
    }
}
