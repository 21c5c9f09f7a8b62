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

    /// The same classes and held-out images, with a `portion` of each class's training images
    /// moved into a validation set (returned beside): a selection rule that looks only there
    /// never sees the held-out images.
    pub fn carve_validation(
        &self,
        portion: Portion,
        seed: u64,
    ) -> Result<(Self, Vec<Sample>), TrainError> {
        let mut rng = Rng::new(seed).stream(Stream::Validation);
        let (train, validation) = match portion {
            Portion::Share(fraction) => {
                hold_out(&self.classes, self.train.clone(), fraction, &mut rng)?
            }
            Portion::PerClass(n) => hold_out_count(&self.classes, self.train.clone(), n, &mut rng)?,
        };
        let out = Self {
            classes: self.classes.clone(),
            train,
            test: self.test.clone(),
        };
        out.validate()?;
        Ok((out, validation))
    }

    /// `draws` disjoint draws of `shots` training pictures per class, each with its own
    /// validation pictures (`validation` per class, or that share of what the draw takes), all
    /// from this set's training pictures; the held-out pictures stay shared. Draw k takes the
    /// k-th slice of each class's pictures in an order drawn from `seed`, so the draws of one
    /// seed are the same for every method.
    pub fn draw_shots(
        &self,
        draws: usize,
        shots: usize,
        validation: Portion,
        seed: u64,
    ) -> Result<Vec<(Self, Vec<Sample>)>, TrainError> {
        if draws == 0 || shots == 0 {
            return Err(TrainError::Data(format!(
                "{draws} draws of {shots} shots: both must be at least 1"
            )));
        }
        let per_draw_validation = validation.per_class(shots)?;
        let take = shots + per_draw_validation;
        let mut rng = Rng::new(seed).stream(Stream::Draws);
        let mut out: Vec<(Self, Vec<Sample>)> = (0..draws)
            .map(|_| {
                let set = Self {
                    classes: self.classes.clone(),
                    train: Vec::new(),
                    test: self.test.clone(),
                };
                (set, Vec::new())
            })
            .collect();
        for (label, name) in self.classes.iter().enumerate() {
            let mut mine: Vec<&Sample> = self.train.iter().filter(|s| s.label == label).collect();
            if mine.len() < draws * take {
                return Err(TrainError::Data(format!(
                    "class {name:?} has {} training pictures; {draws} draw(s) of {shots} shots \
                     and {per_draw_validation} validation picture(s) need {}",
                    mine.len(),
                    draws * take
                )));
            }
            rng.shuffle(&mut mine);
            for (k, (set, val)) in out.iter_mut().enumerate() {
                let slice = &mine[k * take..(k + 1) * take];
                val.extend(slice[..per_draw_validation].iter().map(|s| (*s).clone()));
                set.train
                    .extend(slice[per_draw_validation..].iter().map(|s| (*s).clone()));
            }
        }
        for (set, _) in &out {
            set.validate()?;
        }
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

/// How much of each class a split takes: a share, or a count per class.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Portion {
    Share(f64),
    PerClass(usize),
}

impl Portion {
    /// Pictures per class beside `shots` that this portion takes: the count, or the share of
    /// what a draw takes in all (0.2 of 10 is 2 beside 8 shots), at least 1 when positive.
    pub fn per_class(self, shots: usize) -> Result<usize, TrainError> {
        match self {
            Portion::PerClass(n) => Ok(n),
            Portion::Share(f) if (0.0..1.0).contains(&f) => Ok(if f > 0.0 {
                ((shots as f64 * f / (1.0 - f)).round() as usize).max(1)
            } else {
                0
            }),
            Portion::Share(f) => Err(TrainError::Data(format!(
                "the validation share {f} must be at least 0 and below 1"
            ))),
        }
    }
}

impl std::str::FromStr for Portion {
    type Err = String;

    /// "0.2" is a share (below 1), "5" a count per class; "0" is none.
    fn from_str(s: &str) -> Result<Self, String> {
        let bad =
            || format!("{s:?}: a share in [0, 1) such as 0.2, or a count per class such as 5");
        if !s.contains(['.', 'e', 'E']) {
            return s.parse::<usize>().map(Portion::PerClass).map_err(|_| bad());
        }
        match s.parse::<f64>() {
            Ok(f) if (0.0..1.0).contains(&f) => Ok(Portion::Share(f)),
            _ => Err(bad()),
        }
    }
}

/// Splits `samples` per class into (kept, held): `count` of each class held (at least one kept).
fn hold_out_count(
    classes: &[String],
    samples: Vec<Sample>,
    count: usize,
    rng: &mut Rng,
) -> Result<(Vec<Sample>, Vec<Sample>), TrainError> {
    split_per_class(classes, samples, rng, |name, len| {
        if len <= count {
            return Err(format!(
                "class {name:?} has {len} image(s); {count} for validation and one to train on need {}",
                count + 1
            ));
        }
        Ok(count)
    })
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
    split_per_class(classes, samples, rng, |name, len| {
        let need = if fraction > 0.0 { 2 } else { 1 };
        if len < need {
            let why = if need == 2 {
                " (one to train on, one held out)"
            } else {
                ""
            };
            return Err(format!(
                "class {name:?} has {len} image(s); it needs at least {need}{why}"
            ));
        }
        Ok(if fraction > 0.0 {
            ((len as f64 * fraction).round() as usize).clamp(1, len - 1)
        } else {
            0
        })
    })
}

/// Splits `samples` per class into (kept, held): each class's pictures in an order drawn from
/// `rng`, the first `held(class name, pictures in the class)` of them held (or its message).
fn split_per_class(
    classes: &[String],
    samples: Vec<Sample>,
    rng: &mut Rng,
    held_of: impl Fn(&str, usize) -> Result<usize, String>,
) -> Result<(Vec<Sample>, Vec<Sample>), TrainError> {
    let (mut kept, mut held) = (Vec::new(), Vec::new());
    for (label, name) in classes.iter().enumerate() {
        let mut mine: Vec<Sample> = samples
            .iter()
            .filter(|s| s.label == label)
            .cloned()
            .collect();
        let n = held_of(name, mine.len()).map_err(TrainError::Data)?;
        rng.shuffle(&mut mine);
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
        let (rest, val) = d.carve_validation(Portion::Share(0.25), 7).unwrap();
        assert_eq!((rest.train.len(), val.len(), rest.test.len()), (12, 4, 4));
        let names = |v: &[Sample]| v.iter().map(|s| s.name.clone()).collect::<Vec<_>>();
        let test = names(&d.test);
        assert!(names(&val).iter().all(|n| !test.contains(n)));
        assert!(names(&rest.train).iter().all(|n| !names(&val).contains(n)));
        assert_eq!(names(&rest.test), test);
    }

    #[test]
    fn validation_can_be_a_count_per_class() {
        let d = Dataset::split(names(2), samples(&[10, 6]), 0.0, 1).unwrap();
        let (rest, val) = d.carve_validation(Portion::PerClass(5), 7).unwrap();
        assert_eq!((rest.train.len(), val.len()), (6, 10));
        assert!(val.iter().filter(|s| s.label == 1).count() == 5);
        let err = d
            .carve_validation(Portion::PerClass(6), 7)
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"c1\" has 6 image(s)"), "{err}");
        assert_eq!("5".parse::<Portion>(), Ok(Portion::PerClass(5)));
        assert_eq!("0.2".parse::<Portion>(), Ok(Portion::Share(0.2)));
        assert_eq!("0".parse::<Portion>(), Ok(Portion::PerClass(0)));
        for bad in ["1.0", "-1", "x", "2.5e0"] {
            assert!(bad.parse::<Portion>().is_err(), "{bad}");
        }
    }

    #[test]
    fn draws_are_disjoint_and_keep_the_held_out_set() {
        let d = Dataset::split(names(2), samples(&[20, 14]), 0.1, 1).unwrap();
        // 3 draws of 3 shots and 1 validation picture per class: 12 of each class's 13+.
        let draws = d.draw_shots(3, 3, Portion::PerClass(1), 5).unwrap();
        assert_eq!(draws.len(), 3);
        let names = |v: &[Sample]| v.iter().map(|s| s.name.clone()).collect::<Vec<_>>();
        let mut seen = Vec::new();
        for (set, val) in &draws {
            assert_eq!((set.train.len(), val.len()), (6, 2));
            assert_eq!(names(&set.test), names(&d.test), "one held-out set for all");
            for n in names(&set.train).into_iter().chain(names(val)) {
                assert!(!seen.contains(&n), "{n} is in two draws");
                assert!(!names(&d.test).contains(&n), "{n} is held out");
                seen.push(n);
            }
        }
        // The same seed draws the same pictures; another seed others.
        let again = d.draw_shots(3, 3, Portion::PerClass(1), 5).unwrap();
        assert_eq!(names(&again[1].0.train), names(&draws[1].0.train));
        let other = d.draw_shots(3, 3, Portion::PerClass(1), 6).unwrap();
        assert_ne!(names(&other[0].0.train), names(&draws[0].0.train));
        // A share of what a draw takes: 0.2 beside 4 shots is 1 validation picture.
        let shared = d.draw_shots(2, 4, Portion::Share(0.2), 5).unwrap();
        assert_eq!(shared[0].1.len(), 2);
        let err = d
            .draw_shots(4, 3, Portion::PerClass(1), 5)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("\"c1\" has 13 training pictures") && err.contains("need 16"),
            "{err}"
        );
    }
}
