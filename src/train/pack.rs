//! A data set as one JSON index and one byte buffer, the form in which the page hands it to the
//! training worker: `postMessage` copies one large buffer quickly, a tree of small objects
//! slowly. The pixels are the samples' RGB bytes, training samples first, in order.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::TrainError;
use super::data::{Dataset, Sample};
use super::image::RgbImage;

#[derive(Serialize, Deserialize)]
struct Index {
    classes: Vec<String>,
    train: Vec<Entry>,
    test: Vec<Entry>,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    width: usize,
    height: usize,
    label: usize,
    name: String,
}

/// A packed data set: the index (JSON) and the pixels.
pub struct Packed {
    pub index: String,
    pub pixels: Vec<u8>,
}

/// Packs `data` without changing it.
pub fn pack(data: &Dataset) -> Packed {
    let mut pixels = Vec::new();
    let mut entries = |samples: &[Sample]| {
        samples
            .iter()
            .map(|s| {
                pixels.extend_from_slice(&s.image.pixels);
                Entry {
                    width: s.image.width,
                    height: s.image.height,
                    label: s.label,
                    name: s.name.clone(),
                }
            })
            .collect::<Vec<_>>()
    };
    let train = entries(&data.train);
    let test = entries(&data.test);
    let index = Index {
        classes: data.classes.clone(),
        train,
        test,
    };
    Packed {
        index: serde_json::to_string(&index).expect("an index of strings and counts serialises"),
        pixels,
    }
}

/// Reads what [`pack`] wrote; refuses an index that does not match the pixels.
pub fn unpack(index: &str, pixels: &[u8]) -> Result<Dataset, TrainError> {
    let bad = |m: String| TrainError::Data(format!("packed data set: {m}"));
    let index: Index = serde_json::from_str(index).map_err(|e| bad(e.to_string()))?;
    let mut offset = 0;
    let mut samples = |entries: Vec<Entry>| -> Result<Vec<Sample>, TrainError> {
        entries
            .into_iter()
            .map(|e| {
                if e.label >= index.classes.len() {
                    return Err(bad(format!(
                        "{:?} has label {} of {} classes",
                        e.name,
                        e.label,
                        index.classes.len()
                    )));
                }
                let len = e.width * e.height * 3;
                let bytes = pixels
                    .get(offset..offset + len)
                    .ok_or_else(|| bad(format!("the pixels end before {:?}", e.name)))?;
                offset += len;
                Ok(Sample {
                    image: Arc::new(RgbImage {
                        width: e.width,
                        height: e.height,
                        pixels: bytes.to_vec(),
                    }),
                    label: e.label,
                    name: e.name,
                })
            })
            .collect()
    };
    let train = samples(index.train)?;
    let test = samples(index.test)?;
    if offset != pixels.len() {
        return Err(bad(format!(
            "{} bytes of pixels are left over",
            pixels.len() - offset
        )));
    }
    Ok(Dataset {
        classes: index.classes,
        train,
        test,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(w: usize, h: usize, label: usize, seed: u8) -> Sample {
        Sample {
            image: Arc::new(RgbImage {
                width: w,
                height: h,
                pixels: (0..w * h * 3)
                    .map(|i| (i as u8).wrapping_mul(seed))
                    .collect(),
            }),
            label,
            name: format!("img-{seed}.png"),
        }
    }

    fn data() -> Dataset {
        Dataset {
            classes: vec!["cat".into(), "dog \"big\"".into()],
            train: vec![sample(3, 2, 0, 7), sample(5, 4, 1, 11), sample(1, 1, 1, 13)],
            test: vec![sample(2, 3, 0, 17)],
        }
    }

    fn same(a: &[Sample], b: &[Sample]) -> bool {
        a.len() == b.len()
            && a.iter().zip(b).all(|(x, y)| {
                x.label == y.label
                    && x.name == y.name
                    && x.image.width == y.image.width
                    && x.image.height == y.image.height
                    && x.image.pixels == y.image.pixels
            })
    }

    #[test]
    fn a_packed_data_set_unpacks_to_the_same_samples_in_the_same_order() {
        let d = data();
        let p = pack(&d);
        assert_eq!(p.pixels.len(), (6 + 20 + 1 + 6) * 3);
        let back = unpack(&p.index, &p.pixels).unwrap();
        assert_eq!(back.classes, d.classes);
        assert!(same(&back.train, &d.train));
        assert!(same(&back.test, &d.test));
    }

    #[test]
    fn pixels_that_do_not_match_the_index_are_refused() {
        let p = pack(&data());
        let short = unpack(&p.index, &p.pixels[..p.pixels.len() - 1]).unwrap_err();
        assert!(short.to_string().contains("end before"), "{short}");
        let mut long = p.pixels.clone();
        long.push(0);
        let left = unpack(&p.index, &long).unwrap_err();
        assert!(
            left.to_string().contains("1 bytes of pixels are left over"),
            "{left}"
        );
        let index = p.index.replace("\"label\":1", "\"label\":2");
        let label = unpack(&index, &p.pixels).unwrap_err();
        assert!(
            label.to_string().contains("label 2 of 2 classes"),
            "{label}"
        );
    }
}
