//! What the page keeps between visits, as plain records: the classes (names, order, the saved
//! image files they hold), the held-out share and the finished runs (curves, status and the key
//! of their run file). The page stores this index as JSON beside one record per image file and
//! per run file (see `app::persist`); this module only turns it into JSON and back, so it runs
//! and is tested natively.
//!
//! Keys of the file records: `image/{n}` holds an image file's original bytes, `run/{n}` a run
//! file (`train::export`'s safetensors). Numbers are never reused within one saved state.

use std::collections::BTreeSet;

use serde_json::{Value, json};

/// The version of the JSON written by [`Saved::to_json`].
pub const FORMAT: u64 = 1;

/// The key of the index record.
pub const INDEX_KEY: &str = "index";

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SavedError {
    #[error("the saved data is not JSON: {0}")]
    Json(String),
    #[error("the saved data was written in format {found}; this page reads format {FORMAT}")]
    Format { found: u64 },
    #[error("the saved data lacks {0}")]
    Missing(String),
    #[error("the saved data has {name:?} {value}, outside the record numbers 0 to {max}")]
    Range { name: String, value: u64, max: u32 },
}

#[derive(Clone, Debug, PartialEq)]
pub struct SavedImage {
    /// The number of its `image/{n}` record.
    pub file: u32,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SavedClass {
    pub name: String,
    pub images: Vec<SavedImage>,
}

/// One held-out evaluation of a run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SavedEval {
    pub epoch: usize,
    pub accuracy: f64,
    pub loss: f64,
    pub correct: usize,
    pub total: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SavedRun {
    pub id: u32,
    pub label: String,
    /// The name of the backbone it was trained on (or imported for).
    pub model: String,
    /// The status name (`finished`, `stopped`, `imported`, `failed`).
    pub status: String,
    /// Why it failed, for a failed run.
    pub message: Option<String>,
    pub step: usize,
    pub total_steps: usize,
    pub steps_per_s: f64,
    pub summary: String,
    /// (step, training loss); a loss that was not finite comes back as NaN.
    pub losses: Vec<(usize, f32)>,
    pub evals: Vec<SavedEval>,
    /// The number of its `run/{n}` record; None for a run without a classifier.
    pub file: Option<u32>,
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

pub fn image_key(n: u32) -> String {
    format!("image/{n}")
}

pub fn run_key(n: u32) -> String {
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

    /// One more than the largest record number in use (images and runs count separately).
    pub fn next_numbers(&self) -> (u32, u32) {
        let image = self
            .classes
            .iter()
            .flat_map(|c| c.images.iter().map(|im| im.file + 1))
            .max()
            .unwrap_or(0);
        let run = self
            .runs
            .iter()
            .filter_map(|r| r.file.map(|n| n + 1))
            .max()
            .unwrap_or(0);
        (image, run)
    }

    pub fn to_json(&self) -> String {
        let classes: Vec<Value> = self
            .classes
            .iter()
            .map(|c| {
                let images: Vec<Value> = c
                    .images
                    .iter()
                    .map(|im| json!({ "file": im.file, "name": im.name }))
                    .collect();
                json!({ "name": c.name, "images": images })
            })
            .collect();
        let runs: Vec<Value> = self.runs.iter().map(run_to_json).collect();
        json!({
            "format": FORMAT,
            "holdout": self.holdout,
            "classes": classes,
            "runs": runs,
        })
        .to_string()
    }

    pub fn from_json(text: &str) -> Result<Self, SavedError> {
        let v: Value = serde_json::from_str(text).map_err(|e| SavedError::Json(e.to_string()))?;
        let found = v.get("format").and_then(Value::as_u64).unwrap_or(0);
        if found != FORMAT {
            return Err(SavedError::Format { found });
        }
        let holdout = number(&v, "holdout")?;
        let mut skipped = Vec::new();
        let mut classes = Vec::new();
        for c in list(&v, "classes")? {
            let name = text_field(c, "name")?;
            let mut images = Vec::new();
            for im in list(c, "images")? {
                let image = record(im, "file").and_then(|file| {
                    Ok(SavedImage {
                        file,
                        name: text_field(im, "name")?,
                    })
                });
                match image {
                    Ok(image) => images.push(image),
                    Err(e) => skipped.push(format!("a picture of class {name:?}: {e}")),
                }
            }
            classes.push(SavedClass { name, images });
        }
        let mut runs = Vec::new();
        for (i, r) in list(&v, "runs")?.iter().enumerate() {
            match run_from_json(r) {
                Ok(run) => runs.push(run),
                Err(e) => skipped.push(format!("run {}: {e}", i + 1)),
            }
        }
        Ok(Self {
            holdout,
            classes,
            runs,
            skipped,
        })
    }
}

fn run_to_json(r: &SavedRun) -> Value {
    let losses: Vec<Value> = r
        .losses
        .iter()
        .map(|&(s, l)| json!([s, if l.is_finite() { json!(l) } else { Value::Null }]))
        .collect();
    let evals: Vec<Value> = r
        .evals
        .iter()
        .map(|e| {
            json!({
                "epoch": e.epoch, "accuracy": e.accuracy, "loss": finite(e.loss),
                "correct": e.correct, "total": e.total,
            })
        })
        .collect();
    json!({
        "id": r.id,
        "label": r.label,
        "model": r.model,
        "status": r.status,
        "message": r.message,
        "step": r.step,
        "total_steps": r.total_steps,
        "steps_per_s": finite(r.steps_per_s),
        "summary": r.summary,
        "losses": losses,
        "evals": evals,
        "file": r.file,
    })
}

fn run_from_json(r: &Value) -> Result<SavedRun, SavedError> {
    let losses = list(r, "losses")?
        .iter()
        .map(|p| {
            let step = p.get(0).and_then(Value::as_u64);
            let loss = p.get(1).map(|l| l.as_f64().unwrap_or(f64::NAN));
            match (step, loss) {
                (Some(s), Some(l)) => Ok((s as usize, l as f32)),
                _ => Err(SavedError::Missing(format!(
                    "a [step, loss] pair, found {p}"
                ))),
            }
        })
        .collect::<Result<_, _>>()?;
    let evals = list(r, "evals")?
        .iter()
        .map(|e| {
            Ok(SavedEval {
                epoch: count(e, "epoch")?,
                accuracy: number(e, "accuracy")?,
                loss: e.get("loss").and_then(Value::as_f64).unwrap_or(f64::NAN),
                correct: count(e, "correct")?,
                total: count(e, "total")?,
            })
        })
        .collect::<Result<_, SavedError>>()?;
    Ok(SavedRun {
        id: record(r, "id")?,
        label: text_field(r, "label")?,
        model: text_field(r, "model")?,
        status: text_field(r, "status")?,
        message: r.get("message").and_then(Value::as_str).map(String::from),
        step: count(r, "step")?,
        total_steps: count(r, "total_steps")?,
        steps_per_s: r.get("steps_per_s").and_then(Value::as_f64).unwrap_or(0.0),
        summary: text_field(r, "summary")?,
        losses,
        evals,
        file: match r.get("file") {
            None | Some(Value::Null) => None,
            Some(_) => Some(record(r, "file")?),
        },
    })
}

/// JSON has no NaN or infinity: those are written as null.
fn finite(x: f64) -> Value {
    if x.is_finite() { json!(x) } else { Value::Null }
}

fn field<'a>(v: &'a Value, name: &str) -> Result<&'a Value, SavedError> {
    v.get(name)
        .ok_or_else(|| SavedError::Missing(format!("{name:?}")))
}

fn list<'a>(v: &'a Value, name: &str) -> Result<&'a Vec<Value>, SavedError> {
    field(v, name)?
        .as_array()
        .ok_or_else(|| SavedError::Missing(format!("a list {name:?}")))
}

fn number(v: &Value, name: &str) -> Result<f64, SavedError> {
    field(v, name)?
        .as_f64()
        .ok_or_else(|| SavedError::Missing(format!("a number {name:?}")))
}

/// A record number: below u32::MAX, so that the next number (one more) always exists and no
/// tampered value can wrap around onto a record in use.
fn record(v: &Value, name: &str) -> Result<u32, SavedError> {
    let n = field(v, name)?
        .as_u64()
        .ok_or_else(|| SavedError::Missing(format!("a record number {name:?}")))?;
    u32::try_from(n)
        .ok()
        .filter(|&n| n < u32::MAX)
        .ok_or(SavedError::Range {
            name: name.to_string(),
            value: n,
            max: u32::MAX - 1,
        })
}

fn count(v: &Value, name: &str) -> Result<usize, SavedError> {
    field(v, name)?
        .as_u64()
        .map(|n| n as usize)
        .ok_or_else(|| SavedError::Missing(format!("a count {name:?}")))
}

fn text_field(v: &Value, name: &str) -> Result<String, SavedError> {
    field(v, name)?
        .as_str()
        .map(String::from)
        .ok_or_else(|| SavedError::Missing(format!("a text {name:?}")))
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
                    status: "finished".into(),
                    message: None,
                    step: 4,
                    total_steps: 4,
                    steps_per_s: 1.5,
                    summary: "2 classes".into(),
                    losses: vec![(1, 0.69), (2, 0.5)],
                    evals: vec![SavedEval {
                        epoch: 1,
                        accuracy: 0.5,
                        loss: 0.7,
                        correct: 1,
                        total: 2,
                    }],
                    file: Some(7),
                },
                SavedRun {
                    id: 3,
                    label: "VPT m=4".into(),
                    model: "timm_vit_ls".into(),
                    status: "failed".into(),
                    message: Some("no images".into()),
                    step: 0,
                    total_steps: 0,
                    steps_per_s: 0.0,
                    summary: String::new(),
                    losses: Vec::new(),
                    evals: Vec::new(),
                    file: None,
                },
            ],
            skipped: Vec::new(),
        }
    }

    #[test]
    fn a_record_number_that_would_truncate_or_wrap_leaves_that_record_out_and_the_rest_loads() {
        let saved = example();
        let json = saved.to_json();
        for (from, to) in [
            ("\"file\":7", "\"file\":4294967296".to_string()),
            ("\"file\":7", format!("\"file\":{}", u32::MAX)),
            ("\"id\":3", "\"id\":18446744073709551615".to_string()),
        ] {
            assert!(json.contains(from), "{from}");
            let back = Saved::from_json(&json.replacen(from, &to, 1)).unwrap();
            assert_eq!(back.skipped.len(), 1, "{to}");
            assert!(
                back.skipped[0].contains("outside the record numbers"),
                "{:?}",
                back.skipped
            );
            assert_eq!(back.runs.len(), 1, "the other run loads");
            assert_eq!(back.classes, saved.classes, "the pictures load");
        }
        let back = Saved::from_json(&json.replacen("\"file\":4", "\"file\":-4", 1)).unwrap();
        assert!(
            back.skipped[0].starts_with("a picture of class"),
            "{:?}",
            back.skipped
        );
        let (images, runs) = example().next_numbers();
        assert!(images > 0 && runs > 0);
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
        assert_eq!(example().next_numbers(), (5, 8));
        let empty = Saved {
            holdout: 0.0,
            classes: Vec::new(),
            runs: Vec::new(),
            skipped: Vec::new(),
        };
        assert_eq!(empty.next_numbers(), (0, 0));
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
            back.skipped[0].contains("lacks \"name\""),
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
        assert_eq!(err, SavedError::Missing("\"holdout\"".into()));
    }
}
