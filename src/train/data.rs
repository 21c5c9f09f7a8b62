//! A labelled image set: classes, the training/held-out split, and batches as model inputs.

use std::sync::Arc;

use burn::tensor::{Device, Tensor, TensorData};

use super::TrainError;
use super::image::{RgbImage, Transform};
use crate::rng::{Rng, Stream};

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
        let mut rng = Rng::new(seed).stream(Stream::Split);
        let (train, test) = hold_out(&classes, samples, fraction, &mut rng)?;
        let out = Self {
            classes,
            train,
            test,
        };
        out.validate()?;
        Ok(out)
    }

    /// The same classes and held-out images, with `fraction` of each class's training images
    /// moved into a validation set (returned beside): a selection rule that looks only there
    /// never sees the held-out images.
    pub fn carve_validation(
        &self,
        fraction: f64,
        seed: u64,
    ) -> Result<(Self, Vec<Sample>), TrainError> {
        let mut rng = Rng::new(seed).stream(Stream::Validation);
        let (train, validation) = hold_out(&self.classes, self.train.clone(), fraction, &mut rng)?;
        let out = Self {
            classes: self.classes.clone(),
            train,
            test: self.test.clone(),
        };
        out.validate()?;
        Ok((out, validation))
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

/// Splits `samples` per class into (kept, held): `fraction` of each class held (at least one
/// when positive, at least one kept), in an order drawn from `rng`.
fn hold_out(
    classes: &[String],
    samples: Vec<Sample>,
    fraction: f64,
    rng: &mut Rng,
) -> Result<(Vec<Sample>, Vec<Sample>), TrainError> {
    if !(0.0..1.0).contains(&fraction) {
        return Err(TrainError::Data(format!(
            "the held-out share {fraction} must be at least 0 and below 1"
        )));
    }
    let (mut kept, mut held) = (Vec::new(), Vec::new());
    for (label, name) in classes.iter().enumerate() {
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
        let n = if fraction > 0.0 {
            ((mine.len() as f64 * fraction).round() as usize).clamp(1, mine.len() - 1)
        } else {
            0
        };
        held.extend(mine.drain(..n));
        kept.extend(mine);
    }
    Ok((kept, held))
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
        for bad in [-1.0, 1.0, 5.0, f64::NAN] {
            let err = Dataset::split(names(2), samples(&[3, 3]), bad, 1)
                .unwrap_err()
                .to_string();
            assert!(err.contains("held-out share"), "{bad}: {err}");
        }
    }

    #[test]
    fn validation_is_carved_from_training_images_only() {
        let d = Dataset::split(names(2), samples(&[10, 10]), 0.2, 1).unwrap();
        let (rest, val) = d.carve_validation(0.25, 7).unwrap();
        assert_eq!((rest.train.len(), val.len(), rest.test.len()), (12, 4, 4));
        let names = |v: &[Sample]| v.iter().map(|s| s.name.clone()).collect::<Vec<_>>();
        let test = names(&d.test);
        assert!(names(&val).iter().all(|n| !test.contains(n)));
        assert!(names(&rest.train).iter().all(|n| !names(&val).contains(n)));
        assert_eq!(names(&rest.test), test);
    }
}
