//! Hostile and broken input on the command line: each case ends with a message that names the
//! flag, field or file and its limit (never a panic or an abort), and leaves no output behind.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

use bpt_lab::model::VitConfig;
use bpt_lab::model::checkpoint::to_safetensors;
use bpt_lab::model::random::random_timm_tensors;
use common::Fixture;

/// `bpt-lab train` with small defaults for every flag `extra` does not give.
fn train(f: &Fixture, config: &PathBuf, model: &PathBuf, extra: &[&str]) -> Output {
    train_command(f, config, model, extra).output().unwrap()
}

fn train_command(f: &Fixture, config: &PathBuf, model: &PathBuf, extra: &[&str]) -> Command {
    let defaults = [
        ("--epochs", "2"),
        ("--batch", "4"),
        ("--size", "32"),
        ("--prompts", "3"),
        ("--rank", "4"),
        ("--whiten-images", "8"),
    ];
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bpt-lab"));
    cmd.args(["train", "--backend", "cpu"]);
    for (flag, value) in defaults {
        if !extra.contains(&flag) {
            cmd.args([flag, value]);
        }
    }
    cmd.arg("--model")
        .arg(model)
        .arg("--config")
        .arg(config)
        .arg("--data")
        .arg(f.dir.join("data"))
        .arg("--out")
        .arg(f.out())
        .args(extra);
    cmd
}

/// The command ended with exit code 1 (an error message, not a panic or an abort) whose
/// message contains `needle`.
fn fails_with(o: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        o.status.code(),
        Some(1),
        "exit code 1, not a panic or abort: {err}"
    );
    assert!(err.contains(needle), "expected {needle:?} in: {err}");
}

/// [`fails_with`], and `train` left no output folder behind.
fn refused(o: &Output, needle: &str, f: &Fixture) {
    fails_with(o, needle);
    assert!(!f.out().exists(), "nothing is left behind after: {needle}");
}

#[test]
fn bad_flags_and_files_are_refused_with_their_limits_and_leave_nothing() {
    let f = Fixture::new("hostile");
    f.images("red", 5, [180, 20, 20]);
    f.images("blue", 5, [20, 20, 180]);
    let (config, model) = (f.dir.join("config.json"), f.dir.join("model.safetensors"));
    let cases: [(&[&str], &str); 10] = [
        (&["--epochs", "18446744073709551615"], "too many steps"),
        (&["--warmup", "18446744073709551615"], "--warmup"),
        (
            &["--size", "100000"],
            "input side 100000 px must be between 1 and 4096",
        ),
        (&["--prompts", "1000000000"], "above the limit of 4096"),
        (
            &[
                "--whiten-images",
                "1000000000000",
                "--method",
                "bpt-fwhiten",
            ],
            "whitening images is above the limit",
        ),
        (
            &["--lr", "NaN"],
            "learning rate NaN must be a positive number",
        ),
        (&["--holdout", "5"], "held-out share 5"),
        (&["--holdout=-1"], "held-out share -1"),
        (&["--batch", "0"], "batch and epochs must be positive"),
        (
            &["--weight-dtype", "f16"],
            "--weight-dtype f16 needs --backend wgpu",
        ),
    ];
    for (extra, needle) in cases {
        refused(&train(&f, &config, &model, extra), needle, &f);
    }

    // A config whose image is smaller than a patch (HF image_size 0), and values of the wrong
    // type or sign (timm and HF).
    for (text, needle) in [
        (
            r#"{"model_type":"vit","hidden_size":16,"num_hidden_layers":2,"num_attention_heads":2,"intermediate_size":64,"patch_size":8,"image_size":0}"#,
            "smaller than one patch",
        ),
        (
            r#"{"img_size":32,"patch_size":8,"embed_dim":16,"depth":"2","num_heads":2}"#,
            "depth \"2\" must be a whole number",
        ),
        (
            r#"{"model_type":"vit","hidden_size":16,"num_hidden_layers":2,"num_attention_heads":2,"intermediate_size":64,"patch_size":8,"image_size":32,"qkv_bias":"yes"}"#,
            "qkv_bias \"yes\" must be true or false",
        ),
        (
            r#"{"model_type":"dinov2","hidden_size":16,"num_hidden_layers":2,"num_attention_heads":2,"patch_size":8,"image_size":32,"num_channels":-3}"#,
            "num_channels -3 must be a whole number from 1 to 16",
        ),
    ] {
        let bad = f.dir.join("bad-config.json");
        std::fs::write(&bad, text).unwrap();
        refused(&train(&f, &bad, &model, &[]), needle, &f);
    }

    // Weights with a NaN are refused by tensor name.
    let c = VitConfig::from_json(
        r#"{"img_size":32,"patch_size":8,"embed_dim":16,"depth":2,"num_heads":2,"init_values":0.5}"#,
    )
    .unwrap();
    let mut tensors = random_timm_tensors(&c, 1, 0.3);
    tensors.get_mut("blocks.1.mlp.fc1.bias").unwrap().data[3] = f32::NAN;
    let damaged = f.dir.join("damaged.safetensors");
    std::fs::write(&damaged, to_safetensors(&tensors).unwrap()).unwrap();
    refused(
        &train(&f, &config, &damaged, &[]),
        "tensor \"blocks.1.mlp.fc1.bias\" holds NaN at index 3",
        &f,
    );
}

#[test]
fn pictures_are_decoded_within_bounds_and_shrunk_to_512_px() {
    let f = Fixture::new("pictures");
    // A picture wider than the decoder allows is refused by name; a large one is shrunk.
    let folder = f.dir.join("data/wide");
    std::fs::create_dir_all(&folder).unwrap();
    image::RgbImage::new(20_000, 1)
        .save(folder.join("wide.png"))
        .unwrap();
    let Err(err) = bpt_lab::cli::images::read_folder(&f.dir.join("data"), None) else {
        panic!("a 20,000 px wide picture should be refused");
    };
    assert!(err.to_string().contains("wide.png"), "{err}");
    std::fs::remove_file(folder.join("wide.png")).unwrap();
    image::RgbImage::from_fn(3000, 2000, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 9])
    })
    .save(folder.join("large.png"))
    .unwrap();
    let read = bpt_lab::cli::images::read_folder(&f.dir.join("data"), None).unwrap();
    let image = &read.samples[0].image;
    assert_eq!((image.width, image.height), (512, 341));
}

#[test]
fn analyse_at_an_input_side_beyond_the_token_limit_is_refused_before_allocating() {
    let f = Fixture::new("analyse-size");
    f.images("red", 2, [180, 20, 20]);
    let o = f
        .bpt_lab("analyse")
        .args(["--size", "100000"])
        .arg("--data")
        .arg(f.dir.join("data"))
        .output()
        .unwrap();
    fails_with(&o, "above the limit of 16384 tokens per image");
}

#[test]
fn an_output_path_that_is_a_directory_is_refused_and_leaves_no_temporary() {
    let f = Fixture::new("outdir");
    f.images("red", 3, [180, 20, 20]);
    let taken = f.dir.join("taken");
    std::fs::create_dir_all(&taken).unwrap();
    let o = f
        .bpt_lab("analyse")
        .args(["--size", "32", "--block", "0"])
        .arg("--data")
        .arg(f.dir.join("data"))
        .arg("--out")
        .arg(&taken)
        .output()
        .unwrap();
    fails_with(&o, "is a directory");
    let left: Vec<String> = std::fs::read_dir(&f.dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.contains("part"))
        .collect();
    assert!(left.is_empty(), "temporaries left: {left:?}");
}

#[test]
fn embed_refuses_an_empty_batch_and_writes_nothing() {
    let f = Fixture::new("embed-empty");
    let input = f.dir.join("empty.safetensors");
    let tensors = std::collections::BTreeMap::from([(
        "pixel_values".to_string(),
        bpt_lab::model::checkpoint::HostTensor::new(vec![0, 3, 32, 32], Vec::new()),
    )]);
    std::fs::write(&input, to_safetensors(&tensors).unwrap()).unwrap();
    let out = f.dir.join("tokens.safetensors");
    let o = f
        .bpt_lab("embed")
        .arg("--input")
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    fails_with(&o, "no images (a batch of 0)");
    assert!(!out.exists());
}

#[test]
fn a_disk_that_fills_up_while_writing_leaves_no_result_folder_and_no_temporary() {
    let f = Fixture::new("full-disk");
    f.images("red", 4, [180, 20, 20]);
    f.images("blue", 4, [20, 20, 180]);
    let (config, model) = (f.dir.join("config.json"), f.dir.join("model.safetensors"));
    let train = train_command(&f, &config, &model, &["--epochs", "1"]);
    // A file size limit of 1 KiB (2 blocks of 512 bytes) makes any longer write fail as on a
    // full disk (EFBIG); the signal it would also send is ignored, as a full disk sends none.
    let o = Command::new("sh")
        .arg("-c")
        .arg("trap '' XFSZ; ulimit -f 2; exec \"$@\"")
        .arg("sh")
        .arg(train.get_program())
        .args(train.get_args())
        .output()
        .unwrap();
    fails_with(&o, "run.safetensors: File too large");
    assert!(!f.out().exists(), "no result folder");
    let left: Vec<String> = std::fs::read_dir(&f.dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(left.is_empty(), "temporaries left: {left:?}");
}
