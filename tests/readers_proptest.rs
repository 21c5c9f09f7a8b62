//! Property tests of the readers of untrusted files: the safetensors reader, the model config
//! reader, the run-file reader and the page's saved-state reader. Random mutations of valid
//! files (bytes overwritten, the file cut short, bytes inserted, the safetensors header length
//! replaced) must never panic, and must never make the reader hold more than a stated bound of
//! memory: 8 times the input plus 4 MiB (a counting allocator measures the peak).
//!
//! Seeded (ChaCha, fixed seed) and bounded: 300 cases per reader, a few seconds in all.

use std::alloc::{GlobalAlloc, Layout, System};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};

use bpt_lab::model::VitConfig;
use bpt_lab::model::checkpoint::{Checkpoint, to_safetensors};
use bpt_lab::model::random::random_timm_tensors;
use bpt_lab::saved::Saved;
use bpt_lab::train::export;
use burn::tensor::Device;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
            PEAK.fetch_max(now, Ordering::SeqCst);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::SeqCst);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                let now = CURRENT.fetch_add(new_size - layout.size(), Ordering::SeqCst) + new_size
                    - layout.size();
                PEAK.fetch_max(now, Ordering::SeqCst);
            } else {
                CURRENT.fetch_sub(layout.size() - new_size, Ordering::SeqCst);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The most memory `f` held above what was held before it, and whether it panicked.
fn peak_during(f: impl FnOnce()) -> (usize, bool) {
    let base = CURRENT.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    // A panic is reported by the property; keep its message out of the log meanwhile.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let panicked = std::panic::catch_unwind(AssertUnwindSafe(f)).is_err();
    std::panic::set_hook(hook);
    (PEAK.load(Ordering::SeqCst).saturating_sub(base), panicked)
}

/// One mutation of a file.
#[derive(Clone, Debug)]
struct Mutation {
    edits: Vec<(usize, u8)>,
    cut: Option<usize>,
    insert: Option<(usize, Vec<u8>)>,
    header_length: Option<u64>,
}

fn mutations() -> impl Strategy<Value = Mutation> {
    (
        prop::collection::vec((any::<usize>(), any::<u8>()), 0..6),
        prop::option::of(any::<usize>()),
        prop::option::of((any::<usize>(), prop::collection::vec(any::<u8>(), 1..16))),
        prop::option::weighted(0.2, any::<u64>()),
    )
        .prop_map(|(edits, cut, insert, header_length)| Mutation {
            edits,
            cut,
            insert,
            header_length,
        })
}

impl Mutation {
    fn apply(&self, valid: &[u8]) -> Vec<u8> {
        let mut b = valid.to_vec();
        if let Some(n) = self.header_length
            && b.len() >= 8
        {
            b[..8].copy_from_slice(&n.to_le_bytes());
        }
        for &(at, byte) in &self.edits {
            if !b.is_empty() {
                let i = at % b.len();
                b[i] = byte;
            }
        }
        if let Some((at, bytes)) = &self.insert {
            let i = at % (b.len() + 1);
            b.splice(i..i, bytes.iter().copied());
        }
        if let Some(cut) = self.cut {
            b.truncate(cut % (b.len() + 1));
        }
        b
    }
}

fn check(name: &str, valid: &[u8], read: impl Fn(&[u8])) {
    let config = Config {
        cases: 300,
        failure_persistence: None,
        ..Config::default()
    };
    let rng = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let result = runner.run(&mutations(), |m| {
        let bytes = m.apply(valid);
        let (peak, panicked) = peak_during(|| read(&bytes));
        prop_assert!(!panicked, "{name}: the reader panicked on {m:?}");
        let bound = 8 * bytes.len() + (4 << 20);
        prop_assert!(
            peak <= bound,
            "{name}: {peak} bytes held for a {}-byte file",
            bytes.len()
        );
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn mutated_files_never_panic_and_stay_within_memory_bounds() {
    let config_text = r#"{"img_size":32,"patch_size":8,"embed_dim":16,"depth":2,"num_heads":2,"init_values":0.5}"#;
    let config = VitConfig::from_json(config_text).unwrap();
    let weights = to_safetensors(&random_timm_tensors(&config, 3, 0.3)).unwrap();
    check("safetensors", &weights, |b| {
        let _ = Checkpoint::from_safetensors(b);
    });

    check("config", config_text.as_bytes(), |b| {
        let _ = VitConfig::from_json(&String::from_utf8_lossy(b));
    });
    let hf = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/torch/hf_dinov2.config.json"),
    )
    .unwrap();
    check("HF config", &hf, |b| {
        let _ = VitConfig::from_json(&String::from_utf8_lossy(b));
    });

    let run = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/torch/run_timm_bpt_bilinear_deep.safetensors"),
    )
    .unwrap();
    let device = Device::flex();
    check("run file", &run, |b| {
        let _ = export::from_safetensors(b, 48, &device);
    });

    let saved = r#"{"format":1,"holdout":0.25,"classes":[{"name":"red","images":[{"file":0,"name":"a.png"}]}],"runs":[{"id":2,"label":"VPT m=4","model":"tiny","status":"finished","message":null,"step":4,"total_steps":4,"steps_per_s":1.5,"summary":"2 classes","losses":[[1,0.69],[2,null]],"evals":[{"epoch":1,"accuracy":0.5,"loss":0.7,"correct":1,"total":2}],"file":7}]}"#;
    assert!(Saved::from_json(saved).is_ok(), "the valid record reads");
    check("saved state", saved.as_bytes(), |b| {
        let _ = Saved::from_json(&String::from_utf8_lossy(b));
    });
}
