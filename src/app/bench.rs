//! The benchmark mode of the page (`index.html?bench`), for scripts, not for users' main view.
//!
//! It loads the default model like the main page, then times the backbone's forward pass for
//! each batch size and one VPT training step (`Session::step_on`, as `bpt-lab bench
//! train-step`), warm-up iterations excluded. One iteration = upload a fresh batch, run, read a
//! scalar back (the token sum, or the loss), so the clock stops only when the GPU is done. The
//! images are xorshift32 values in [-2, 2) (`selfcheck_values`), seed 1 + iteration, the same
//! stream `bench/web` feeds ONNX Runtime Web. Settings come from the query string
//! ([`PagePlan`]); the result, a JSON document, goes into `window.__bptBench` and the element
//! `data-testid="bench-result"` (or `{"error": ...}`). With `&profile`, the forward pass is
//! timed stage by stage instead (`model::profile`, a value read back after each stage).

use std::sync::Arc;

use burn::tensor::{Device, Tensor, TensorData};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::{Value, json};

use crate::app::browser::{fetch, js};
use crate::app::model::state::Shipped;
use crate::gpu::GpuContext;
use crate::gpu::selfcheck::selfcheck_values;
use crate::model::profile::{Laps, STAGES, forward_in_stages};
use crate::model::vit::Prompts;
use crate::model::{Backbone, ModelError, VitConfig};
use crate::prompt::{BInit, Method, PromptConfig};
use crate::timing::{PagePlan, Summary};
use crate::train::{Dataset, RgbImage, Sample, Session, TrainConfig};
use crate::whiten::WhitenConfig;

/// Prompt tokens of the timed training step (shallow VPT), as `bpt-lab bench train-step`.
const PROMPTS: usize = 16;

/// Classes of the timed training step's head (its labels are random).
const CLASSES: usize = 10;

/// True when the page was opened as `?bench` or `#bench`.
pub fn requested() -> bool {
    let location = web_sys::window().map(|w| js::get(&w, "location"));
    let part = |key| location.as_ref().and_then(|l| js::get(l, key).as_string());
    let search = part("search").unwrap_or_default();
    search
        .trim_start_matches('?')
        .split('&')
        .any(|p| p == "bench")
        || part("hash").as_deref() == Some("#bench")
}

#[component]
pub fn BenchPage() -> impl IntoView {
    let status = RwSignal::new("starting".to_string());
    let result = RwSignal::new(String::new());
    spawn_local(async move {
        let query = web_sys::window()
            .and_then(|w| js::get(&js::get(&w, "location"), "search").as_string())
            .unwrap_or_default();
        let doc = match run(&query, |s| status.set(s)).await {
            Ok(doc) => doc,
            Err(e) => json!({ "error": e.to_string() }),
        };
        let text = doc.to_string();
        if let Some(window) = web_sys::window() {
            let _ = js_sys::Reflect::set(&window, &"__bptBench".into(), &text.clone().into());
        }
        status.set("done".into());
        result.set(text);
    });
    view! {
        <main class="panels">
            <h1>"BPT Lab benchmark"</h1>
            <p data-testid="bench-status">{move || status.get()}</p>
            <pre data-testid="bench-result">{move || result.get()}</pre>
        </main>
    }
}

async fn run(query: &str, status: impl Fn(String)) -> crate::error::Result<Value> {
    let plan = PagePlan::from_query(query)?;
    status("acquiring the GPU".into());
    let ctx = GpuContext::new().await?;
    let device = ctx.burn_device().clone();
    if plan.burn_ops {
        crate::kernels::set_enabled(false);
    }
    status("loading the default model".into());
    let dir = Shipped::Dinov2Small.dir();
    let config = fetch::text(&format!("{dir}/config.json")).await?;
    let config = VitConfig::from_json(&config)?;
    let weights = fetch::bytes(&format!("{dir}/model.safetensors"), |_| {}).await?;
    let backbone = Backbone::from_safetensors(&weights, config, &device)?;
    drop(weights);
    if plan.size % backbone.config.patch_size != 0 {
        return Err(format!("size {} is not a multiple of the patch", plan.size).into());
    }
    if plan.profile {
        let mut profiles = Vec::new();
        for &batch in &plan.batches {
            status(format!("profiling the forward pass, batch {batch}"));
            profiles.push(profile(&backbone, batch, &plan, &device).await?);
        }
        let ops = if crate::kernels::enabled() {
            "ours"
        } else {
            "burn"
        };
        return Ok(json!({ "size": plan.size, "ops": ops, "profile": profiles }));
    }
    let mut forward = Vec::new();
    for &batch in &plan.batches {
        status(format!("forward pass, batch {batch}"));
        forward.push(time_forward(&backbone, batch, &plan, &device).await?);
    }
    let train = if plan.train_batch > 0 {
        status(format!("training step, batch {}", plan.train_batch));
        // A failed step is reported next to the forward figures rather than replacing them.
        Some(
            time_train_step(Arc::new(backbone), &plan, &device)
                .await
                .unwrap_or_else(|e| json!({ "batch": plan.train_batch, "error": e.to_string() })),
        )
    } else {
        None
    };
    Ok(json!({
        "adapter": ctx.adapter().name,
        "shader_f16": ctx.adapter().shader_f16,
        "kernels": ctx.kernel_check().summary(),
        "ops": if crate::kernels::enabled() { "ours" } else { "burn" },
        "size": plan.size,
        "warmup": plan.warmup,
        "forward": forward,
        "train_step": train,
    }))
}

/// A batch of `batch` images of side `size`, iteration `i`'s stream.
fn images(batch: usize, size: usize, i: usize, device: &Device) -> Tensor<4> {
    let pixels = selfcheck_values(batch * 3 * size * size, 1 + i as u32);
    Tensor::from_data(TensorData::new(pixels, [batch, 3, size, size]), device)
}

async fn read_scalar(t: Tensor<1>) -> crate::error::Result<f64> {
    let data = t.into_data_async().await.map_err(|e| format!("{e:?}"))?;
    let values = data.try_to_vec::<f32>().map_err(|e| format!("{e:?}"))?;
    Ok(f64::from(values[0]))
}

fn case(batch: usize, times: &[f64], extra: Value) -> Value {
    let s = Summary::of(times).expect("iters >= 1");
    json!({
        "batch": batch,
        "iters": times.len(),
        "ms_median": s.median,
        "ms_min": s.min,
        "ms_max": s.max,
        "images_per_s": batch as f64 * 1e3 / s.median,
        "extra": extra,
    })
}

async fn time_forward(
    backbone: &Backbone,
    batch: usize,
    plan: &PagePlan,
    device: &Device,
) -> crate::error::Result<Value> {
    let mut times = Vec::new();
    let mut first_sum = None;
    for i in 0..plan.warmup + plan.iters {
        let start = js::now_ms();
        let tokens = backbone.forward(images(batch, plan.size, i, device), &Prompts::None, None)?;
        let sum = read_scalar(tokens.sum()).await?;
        let elapsed = js::now_ms() - start;
        if !sum.is_finite() {
            return Err(format!("the output tokens sum to {sum}").into());
        }
        first_sum.get_or_insert(sum);
        if i >= plan.warmup {
            times.push(elapsed);
        }
        js::sleep(0).await;
    }
    Ok(case(batch, &times, json!({ "token_sum_iter0": first_sum })))
}

/// Waits by reading one value of the stage's output back; the clock is `performance.now()`.
struct WebLaps {
    last: f64,
    totals: Vec<f64>,
}

impl Laps for WebLaps {
    async fn lap<const D: usize>(
        &mut self,
        stage: usize,
        done: &Tensor<D>,
    ) -> Result<(), ModelError> {
        let one = done.clone().flatten::<1>(0, D - 1).narrow(0, 0, 1);
        one.into_data_async()
            .await
            .map_err(|e| ModelError::Readback(format!("{e:?}")))?;
        let now = js::now_ms();
        self.totals[stage] += now - self.last;
        self.last = now;
        Ok(())
    }
}

/// Median milliseconds per stage over `iters` passes after `warmup` untimed ones.
async fn profile(
    backbone: &Backbone,
    batch: usize,
    plan: &PagePlan,
    device: &Device,
) -> crate::error::Result<Value> {
    let mut passes: Vec<Vec<f64>> = Vec::new();
    for i in 0..plan.warmup + plan.iters {
        let mut laps = WebLaps {
            last: js::now_ms(),
            totals: vec![0.0; STAGES.len()],
        };
        forward_in_stages(backbone, images(batch, plan.size, i, device), &mut laps).await?;
        if i >= plan.warmup {
            passes.push(laps.totals);
        }
        js::sleep(0).await;
    }
    let stages: serde_json::Map<String, Value> = STAGES
        .iter()
        .enumerate()
        .map(|(s, name)| {
            let times: Vec<f64> = passes.iter().map(|p| p[s]).collect();
            (
                name.to_string(),
                json!(Summary::of(&times).map_or(0.0, |m| m.median)),
            )
        })
        .collect();
    Ok(json!({ "batch": batch, "passes": passes.len(), "ms_per_stage": stages }))
}

async fn time_train_step(
    backbone: Arc<Backbone>,
    plan: &PagePlan,
    device: &Device,
) -> crate::error::Result<Value> {
    let b = plan.train_batch;
    let image = Arc::new(RgbImage {
        width: 8,
        height: 8,
        pixels: vec![128; 192],
    });
    let samples = (0..CLASSES)
        .map(|label| Sample {
            image: image.clone(),
            label,
            name: format!("class {label}"),
        })
        .collect();
    let classes = (0..CLASSES).map(|c| format!("c{c}")).collect();
    let data = Dataset::split(classes, samples, 0.0, 0)?;
    let prompt = PromptConfig {
        num_prompts: PROMPTS,
        b_init: BInit::Xavier,
        ..PromptConfig::paper(Method::Vpt, false)
    };
    let train = TrainConfig {
        batch: b,
        epochs: 1000,
        size: plan.size,
        ..TrainConfig::default()
    };
    let mut session = Session::new(
        backbone,
        prompt.clone(),
        train,
        WhitenConfig::default(),
        &data,
        device,
    )
    .await?;
    let mut rng = crate::rng::Rng::new(7);
    let mut times = Vec::new();
    for i in 0..plan.warmup + plan.iters {
        let labels: Vec<usize> = (0..b).map(|_| rng.below(CLASSES)).collect();
        let start = js::now_ms();
        let stats = session
            .step_on(images(b, plan.size, i, device), &labels)
            .await?;
        let elapsed = js::now_ms() - start;
        if !stats.loss.is_finite() {
            return Err(format!("the loss is {}", stats.loss).into());
        }
        if i >= plan.warmup {
            times.push(elapsed);
        }
        js::sleep(0).await;
    }
    Ok(case(
        b,
        &times,
        json!({ "method": "vpt", "prompts": prompt.num_prompts }),
    ))
}
