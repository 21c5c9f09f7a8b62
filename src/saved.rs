//! What the page keeps between visits, as plain records: the classes (names, order, the saved
//! image files they hold), the held-out share and the finished runs (curves, status and the key
//! of their run file). The page stores this index as JSON beside one record per image file and
//! per run file (see `app::persist`); this module only turns it into JSON and back (serde), so
//! it runs and is tested natively.
//!
//! Keys of the file records: `image/{n}` holds an image file's original bytes, `run/{n}` a run
//! file (`train::export`'s safetensors). Numbers are u64, never reused within one saved state,
//! and always below `u64::MAX`, so the next one exists.

use std::collections::BTreeSet;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// The version of the JSON written by [`Saved::to_json`].
pub const FORMAT: u64 = 1;

/// The key of the index record.
pub const INDEX_KEY: &str = "index";

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SavedError {
    #[error("the saved data is not a readable index: {0}")]
    Json(String),
    #[error("the saved data was written in format {found}; this page reads format {FORMAT}")]
    Format { found: u64 },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedImage {
    /// The number of its `image/{n}` record.
    #[serde(deserialize_with = "record_number")]
    pub file: u64,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SavedClass {
    pub name: String,
    pub images: Vec<SavedImage>,
}

/// One held-out evaluation of a run.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedEval {
    /// Steps taken when it was made (0 in indexes saved before steps were kept).
    #[serde(default)]
    pub step: usize,
    pub epoch: usize,
    /// At an epoch's end (every evaluation of indexes saved before this was kept).
    #[serde(default = "yes")]
    pub epoch_end: bool,
    pub accuracy: f64,
    /// Not finite: written as null, read back as NaN.
    #[serde(with = "nan_as_null")]
    pub loss: f64,
    pub correct: usize,
    pub total: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedRun {
    #[serde(deserialize_with = "run_id")]
    pub id: u32,
    pub label: String,
    /// The name of the backbone it was trained on (or imported for).
    pub model: String,
    /// The hash of that backbone's weights (`Backbone::weights_hash`); absent in runs saved
    /// before it was kept, which are matched to a model by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_hash: Option<String>,
    /// The status name (`finished`, `stopped`, `imported`, `failed`).
    pub status: String,
    /// Why it failed, for a failed run.
    #[serde(default)]
    pub message: Option<String>,
    pub step: usize,
    pub total_steps: usize,
    /// Not finite or missing: read back as 0.
    #[serde(
        default,
        serialize_with = "nan_as_null::serialize",
        deserialize_with = "null_as_zero"
    )]
    pub steps_per_s: f64,
    pub summary: String,
    /// (step, training loss); a loss that was not finite comes back as NaN.
    #[serde(with = "losses")]
    pub losses: Vec<(usize, f32)>,
    pub evals: Vec<SavedEval>,
    /// The number of its `run/{n}` record; None for a run without a classifier.
    #[serde(default, deserialize_with = "optional_record_number")]
    pub file: Option<u64>,
    /// Its place in a comparison of methods over seeds, for a run one started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<Member>,
}

/// A run's place in a comparison: which comparison, and the method, rate and seed it trained.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub comparison: u32,
    /// The method's name (`Method::name`).
    pub method: String,
    pub lr: f64,
    pub seed: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Saved {
    pub holdout: f64,
    pub classes: Vec<SavedClass>,
    pub runs: Vec<SavedRun>,
    /// Records of a read index that could not be read (a tampered or damaged entry), with the
    /// reason: they are left out and the rest loads. Never written.
    pub skipped: Vec<String>,
}

/// The index as written.
#[derive(Serialize)]
struct IndexOut<'a> {
    format: u64,
    holdout: f64,
    classes: &'a [SavedClass],
    runs: &'a [SavedRun],
}

/// The index as read: the pictures and runs stay JSON until each is read on its own, so that
/// one bad record is left out instead of refusing the whole index.
#[derive(Deserialize)]
struct IndexIn {
    holdout: f64,
    classes: Vec<ClassIn>,
    runs: Vec<Value>,
}

#[derive(Deserialize)]
struct ClassIn {
    name: String,
    images: Vec<Value>,
}

#[derive(Deserialize)]
struct Version {
    #[serde(default)]
    format: u64,
}

pub fn image_key(n: u64) -> String {
    format!("image/{n}")
}

pub fn run_key(n: u64) -> String {
    format!("run/{n}")
}

/// The stored keys nothing refers to: neither the index nor a file of `saved` (every file when
/// there is no index). Left by a save that stopped between writing a file and the index.
pub fn orphans(saved: Option<&Saved>, keys: impl IntoIterator<Item = String>) -> Vec<String> {
    let referenced = saved.map(Saved::file_keys).unwrap_or_default();
    keys.into_iter()
        .filter(|k| k != INDEX_KEY && !referenced.contains(k))
        .collect()
}

impl Saved {
    /// The keys of every file record the index refers to.
    pub fn file_keys(&self) -> BTreeSet<String> {
        let images = self
            .classes
            .iter()
            .flat_map(|c| c.images.iter().map(|im| image_key(im.file)));
        let runs = self.runs.iter().filter_map(|r| r.file.map(run_key));
        images.chain(runs).collect()
    }

    /// One more than the largest record number in use (images and runs count separately); None
    /// when a number in use is the last one (never in an index that was read).
    pub fn next_numbers(&self) -> Option<(u64, u64)> {
        let images = self
            .classes
            .iter()
            .flat_map(|c| c.images.iter().map(|im| im.file));
        let runs = self.runs.iter().filter_map(|r| r.file);
        Some((past(images)?, past(runs)?))
    }

    pub fn to_json(&self) -> String {
        let index = IndexOut {
            format: FORMAT,
            holdout: self.holdout,
            classes: &self.classes,
            runs: &self.runs,
        };
        serde_json::to_string(&index).expect("the index has only string keys")
    }

    pub fn from_json(text: &str) -> Result<Self, SavedError> {
        let json = |e: serde_json::Error| SavedError::Json(e.to_string());
        let found = serde_json::from_str::<Version>(text).map_err(json)?.format;
        if found != FORMAT {
            return Err(SavedError::Format { found });
        }
        let index: IndexIn = serde_json::from_str(text).map_err(json)?;
        let mut skipped = Vec::new();
        let classes = index
            .classes
            .into_iter()
            .map(|c| {
                let images = c
                    .images
                    .into_iter()
                    .filter_map(|im| {
                        serde_json::from_value(im)
                            .map_err(|e| {
                                skipped.push(format!("a picture of class {:?}: {e}", c.name))
                            })
                            .ok()
                    })
                    .collect();
                SavedClass {
                    name: c.name,
                    images,
                }
            })
            .collect();
        let runs = index
            .runs
            .into_iter()
            .enumerate()
            .filter_map(|(i, r)| {
                serde_json::from_value(r)
                    .map_err(|e| skipped.push(format!("run {}: {e}", i + 1)))
                    .ok()
            })
            .collect();
        Ok(Self {
            holdout: index.holdout,
            classes,
            runs,
            skipped,
        })
    }
}

/// One more than the largest number, 0 for none; None when the largest is `u64::MAX`.
fn past(numbers: impl Iterator<Item = u64>) -> Option<u64> {
    numbers
        .map(|n| n.checked_add(1))
        .try_fold(0, |next, n| Some(next.max(n?)))
}

/// A record number: below u64::MAX, so that the next number (one more) always exists and no
/// tampered value can wrap around onto a record in use.
fn record_number<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    below(u64::deserialize(d)?, u64::MAX)
}

fn optional_record_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Option::<u64>::deserialize(d)?
        .map(|n| below(n, u64::MAX))
        .transpose()
}

/// A run's number on the page: below u32::MAX for the same reason.
fn run_id<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let n = below(u64::deserialize(d)?, u64::from(u32::MAX))?;
    Ok(n as u32)
}

fn below<E: serde::de::Error>(n: u64, end: u64) -> Result<u64, E> {
    if n < end {
        Ok(n)
    } else {
        Err(E::custom(format!(
            "number {n} is outside the record numbers 0 to {}",
            end - 1
        )))
    }
}

/// JSON has no NaN or infinity: those are written as null and read back as NaN.
mod nan_as_null {
    use super::*;

    pub fn serialize<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
        x.is_finite().then_some(*x).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }
}

fn yes() -> bool {
    true
}

fn null_as_zero<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(0.0))
}

/// Losses as `[step, loss]` pairs, a loss that is not finite as null (read back as NaN).
mod losses {
    use super::*;

    pub fn serialize<S: Serializer>(losses: &[(usize, f32)], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(
            losses
                .iter()
                .map(|&(step, l)| (step, l.is_finite().then_some(l))),
        )
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(usize, f32)>, D::Error> {
        let pairs = Vec::<(usize, Option<f32>)>::deserialize(d)?;
        Ok(pairs
            .into_iter()
            .map(|(step, l)| (step, l.unwrap_or(f32::NAN)))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Saved {
        Saved {
            holdout: 0.3,
            classes: vec![
                SavedClass {
                    name: "red \"roses\"".into(),
                    images: vec![
                        SavedImage {
                            file: 4,
                            name: "a.png".into(),
                        },
                        SavedImage {
                            file: 0,
                            name: "b é.jpg".into(),
                        },
                    ],
                },
                SavedClass {
                    name: String::new(),
                    images: Vec::new(),
                },
            ],
            runs: vec![
                SavedRun {
                    id: 2,
                    label: "BPT-bilinear m=4 p=4".into(),
                    model: "timm_vit_ls".into(),
                    model_hash: Some("9c1e4f0b7a2d3e5f".into()),
                    status: "finished".into(),
                    message: None,
                    step: 4,
                    total_steps: 4,
                    steps_per_s: 1.5,
                    summary: "2 classes".into(),
                    losses: vec![(1, 0.69), (2, 0.5)],
                    evals: vec![SavedEval {
                        step: 4,
                        epoch: 1,
                        epoch_end: true,
                        accuracy: 0.5,
                        loss: 0.7,
                        correct: 1,
                        total: 2,
                    }],
                    file: Some(7),
                    member: Some(Member {
                        comparison: 1,
                        method: "bpt-bilinear".into(),
                        lr: 0.01,
                        seed: 2,
                    }),
                },
                SavedRun {
                    id: 3,
                    label: "VPT m=4".into(),
                    model: "timm_vit_ls".into(),
                    model_hash: None,
                    status: "failed".into(),
                    message: Some("no images".into()),
                    step: 0,
                    total_steps: 0,
                    steps_per_s: 0.0,
                    summary: String::new(),
                    losses: Vec::new(),
                    evals: Vec::new(),
                    file: None,
                    member: None,
                },
            ],
            skipped: Vec::new(),
        }
    }

    #[test]
    fn a_record_number_that_would_wrap_leaves_that_record_out_and_the_rest_loads() {
        let saved = example();
        let json = saved.to_json();
        for (from, to) in [
            ("\"file\":7", format!("\"file\":{}", u64::MAX)),
            ("\"file\":7", "\"file\":18446744073709551616".to_string()),
            ("\"file\":7", "\"file\":7.5".to_string()),
            ("\"id\":3", format!("\"id\":{}", u32::MAX)),
            ("\"id\":3", format!("\"id\":{}", u64::MAX)),
        ] {
            assert!(json.contains(from), "{from}");
            let back = Saved::from_json(&json.replacen(from, &to, 1)).unwrap();
            assert_eq!(back.skipped.len(), 1, "{to}");
            assert!(back.skipped[0].starts_with("run "), "{:?}", back.skipped);
            assert_eq!(back.runs.len(), 1, "the other run loads");
            assert_eq!(back.classes, saved.classes, "the pictures load");
        }
        let back =
            Saved::from_json(&json.replacen("\"file\":7", &format!("\"file\":{}", u64::MAX), 1))
                .unwrap();
        assert!(
            back.skipped[0].contains("outside the record numbers"),
            "{:?}",
            back.skipped
        );
        let back = Saved::from_json(&json.replacen("\"file\":4", "\"file\":-4", 1)).unwrap();
        assert!(
            back.skipped[0].starts_with("a picture of class"),
            "{:?}",
            back.skipped
        );
    }

    #[test]
    fn record_numbers_past_32_bits_are_kept_whole() {
        let mut saved = example();
        saved.runs[0].file = Some(u64::from(u32::MAX) + 5);
        saved.classes[0].images[0].file = u64::MAX - 1;
        let back = Saved::from_json(&saved.to_json()).unwrap();
        assert_eq!(back, saved);
        assert_eq!(
            back.next_numbers(),
            Some((u64::MAX, u64::from(u32::MAX) + 6))
        );
        saved.classes[0].images[0].file = u64::MAX;
        assert_eq!(saved.next_numbers(), None, "no number is past the last one");
    }

    #[test]
    fn an_index_written_by_the_first_format_still_loads() {
        let text = include_str!("../tests/fixtures/saved/index-format-1.json");
        let back = Saved::from_json(text).unwrap();
        assert!(back.skipped.is_empty(), "{:?}", back.skipped);
        let mut expected = example();
        expected.runs[0].losses.push((3, f32::NAN));
        expected.runs[1].evals.push(SavedEval {
            step: 0,
            epoch: 1,
            epoch_end: true,
            accuracy: 0.0,
            loss: f64::NAN,
            correct: 0,
            total: 3,
        });
        assert_eq!(back.classes, expected.classes);
        assert_eq!(back.holdout, expected.holdout);
        let (run, old) = (&back.runs[0], &expected.runs[0]);
        assert_eq!(run.losses[..2], old.losses[..2]);
        assert!(run.losses[2].1.is_nan() && run.losses[2].0 == 3);
        assert_eq!(back.runs[1].evals[0].total, 3);
        assert!(back.runs[1].evals[0].loss.is_nan());
        assert_eq!(run.model_hash, None, "the first format kept no hash");
        assert_eq!(run.member, None, "nor comparisons");
        let eval = run.evals[0];
        assert_eq!(
            (eval.step, eval.epoch_end),
            (0, true),
            "nor steps: an epoch's end"
        );
        assert_eq!(
            (run.id, run.file, &run.label),
            (old.id, old.file, &old.label)
        );
        // Written again, it reads back the same (NaN aside, which has no equality).
        let again = Saved::from_json(&back.to_json()).unwrap();
        assert_eq!(again.to_json(), back.to_json());
    }

    #[test]
    fn a_saved_state_comes_back_unchanged_from_json() {
        let saved = example();
        assert_eq!(Saved::from_json(&saved.to_json()).unwrap(), saved);
    }

    #[test]
    fn losses_that_were_not_finite_come_back_as_nan_and_the_rest_stay() {
        let mut saved = example();
        saved.runs[0].losses = vec![(1, f32::NAN), (2, f32::INFINITY), (3, 0.25)];
        saved.runs[0].evals[0].loss = f64::NAN;
        let back = Saved::from_json(&saved.to_json()).unwrap();
        let losses = &back.runs[0].losses;
        assert!(losses[0].1.is_nan() && losses[1].1.is_nan());
        assert_eq!(losses[2], (3, 0.25));
        assert!(back.runs[0].evals[0].loss.is_nan());
    }

    #[test]
    fn file_keys_name_every_image_and_run_file_and_nothing_else() {
        let keys: Vec<String> = example().file_keys().into_iter().collect();
        assert_eq!(keys, ["image/0", "image/4", "run/7"]);
    }

    #[test]
    fn orphans_are_the_stored_files_the_index_does_not_name() {
        let stored = ["index", "image/0", "image/1", "image/4", "run/7", "run/8"].map(String::from);
        assert_eq!(
            orphans(Some(&example()), stored.clone()),
            ["image/1", "run/8"]
        );
        assert_eq!(
            orphans(None, stored),
            ["image/0", "image/1", "image/4", "run/7", "run/8"]
        );
    }

    #[test]
    fn next_numbers_are_past_the_largest_in_use() {
        assert_eq!(example().next_numbers(), Some((5, 8)));
        let empty = Saved {
            holdout: 0.0,
            classes: Vec::new(),
            runs: Vec::new(),
            skipped: Vec::new(),
        };
        assert_eq!(empty.next_numbers(), Some((0, 0)));
    }

    #[test]
    fn text_that_is_not_json_is_refused_with_the_parser_message() {
        let err = Saved::from_json("{not json").unwrap_err();
        assert!(matches!(err, SavedError::Json(_)), "{err}");
    }

    #[test]
    fn another_format_is_refused_and_named() {
        let text = example().to_json().replace("\"format\":1", "\"format\":9");
        assert_eq!(
            Saved::from_json(&text).unwrap_err(),
            SavedError::Format { found: 9 }
        );
    }

    #[test]
    fn a_record_with_a_missing_field_is_left_out_with_the_field_named() {
        let mut v: Value = serde_json::from_str(&example().to_json()).unwrap();
        v["classes"][0]["images"][1]
            .as_object_mut()
            .unwrap()
            .remove("name");
        let back = Saved::from_json(&v.to_string()).unwrap();
        assert_eq!(back.skipped.len(), 1);
        assert!(
            back.skipped[0].contains("missing field `name`"),
            "{:?}",
            back.skipped
        );
        assert_eq!(
            back.classes[0].images.len(),
            1,
            "the class's other picture loads"
        );
        assert_eq!(back.runs, example().runs);
        // A field of the index itself is still a whole refusal.
        let mut v: Value = serde_json::from_str(&example().to_json()).unwrap();
        v.as_object_mut().unwrap().remove("holdout");
        let err = Saved::from_json(&v.to_string()).unwrap_err();
        assert!(
            matches!(&err, SavedError::Json(m) if m.contains("missing field `holdout`")),
            "{err}"
        );
    }
}
