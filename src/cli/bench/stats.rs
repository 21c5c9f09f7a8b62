//! `bpt-lab bench stats`: values per second of the moments and histogram kernels (the two
//! passes behind every plotted distribution) on wgpu, against their CPU twins, and the bound
//! that memory bandwidth sets.
//!
//! The values are uploaded before the clock starts (they live on the GPU already when the page
//! summarises model tensors); a timed iteration runs both kernels and reads their results back.
//! The bandwidth bound: both kernels read every value once, 8 bytes per value in all, so no
//! implementation can exceed `bandwidth / 8` values/s. The bandwidth is measured here as the
//! host's streaming read rate (a sum over 400 MB), which is the device memory of a software
//! GPU like lavapipe; on a discrete GPU use its specification instead.

use crate::error::Error;
use std::time::Instant;

use serde_json::json;

use super::Summary;
use crate::gpu::histogram::{HistogramKernel, HistogramSpec, histogram_cpu};
use crate::gpu::moments::{MomentsKernel, moments_cpu};
use crate::gpu::{GpuContext, GpuValues};
use crate::rng::Rng;

#[derive(clap::Args)]
pub struct StatsArgs {
    /// Array lengths, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [1_000_000, 10_000_000, 100_000_000])]
    len: Vec<usize>,
    #[arg(long, default_value_t = 256)]
    bins: u32,
    #[arg(long, default_value_t = 3)]
    iters: usize,
    #[arg(long)]
    json: bool,
}

/// Bytes per second of a streaming f32 sum over 100M values (the result is used, so the loop
/// stays).
fn host_read_bandwidth() -> f64 {
    let values = vec![1.0f32; 100_000_000];
    let mut best = f64::INFINITY;
    let mut total = 0.0f32;
    for _ in 0..3 {
        let start = Instant::now();
        total += values.chunks(8).map(|c| c.iter().sum::<f32>()).sum::<f32>();
        best = best.min(start.elapsed().as_secs_f64());
    }
    assert!(total > 0.0);
    (values.len() * 4) as f64 / best
}

pub fn run(args: StatsArgs) -> Result<(), Error> {
    let ctx = pollster::block_on(GpuContext::new())?;
    let moments = MomentsKernel::new(&ctx);
    let histogram = HistogramKernel::new(&ctx);
    let bandwidth = host_read_bandwidth();
    let bound = bandwidth / 8.0;
    let slice = (ctx.max_f32_per_binding() / 2).max(1);
    let mut rows = Vec::new();
    for &n in &args.len {
        let mut rng = Rng::new(n as u64);
        let values: Vec<f32> = (0..n).map(|_| rng.laplace(1.0) as f32).collect();
        let spec = HistogramSpec::new(-8.0, 8.0, args.bins)?;
        let on_gpu = GpuValues::upload_in_slices(&ctx, &values, slice);
        let mut gpu = Vec::new();
        let mut cpu = Vec::new();
        for i in 0..args.iters + 1 {
            let start = Instant::now();
            let m = pollster::block_on(moments.run_on(&ctx, &on_gpu))?;
            let h = pollster::block_on(histogram.run_on(&ctx, &on_gpu, spec))?;
            let t = start.elapsed().as_secs_f64();
            if m.count != n as u64 || h.total() != n as u64 {
                return Err(
                    format!("kernel counts {} and {} for {n} values", m.count, h.total()).into(),
                );
            }
            if i > 0 {
                gpu.push(t); // the first run includes pipeline warm-up
            }
            let start = Instant::now();
            let (mc, hc) = (moments_cpu(&values), histogram_cpu(&values, spec));
            cpu.push(start.elapsed().as_secs_f64());
            if mc.count != m.count || hc.counts != h.counts {
                return Err("the GPU and CPU histograms differ".into());
            }
        }
        let (g, c) = (
            Summary::of(&gpu).expect("iters > 0"),
            Summary::of(&cpu).expect("runs"),
        );
        rows.push(json!({
            "len": n, "bins": args.bins,
            "gpu_values_per_s": n as f64 / g.median, "cpu_values_per_s": n as f64 / c.median,
            "bound_values_per_s": bound, "gpu_fraction_of_bound": n as f64 / g.median / bound,
        }));
    }
    if args.json {
        println!(
            "{}",
            json!({ "host_read_bandwidth_gb_s": bandwidth / 1e9, "results": rows })
        );
        return Ok(());
    }
    println!(
        "adapter: {}; host read bandwidth {:.1} GB/s -> bound {:.0} M values/s (8 bytes per value)",
        ctx.adapter().name,
        bandwidth / 1e9,
        bound / 1e6
    );
    println!(
        "{:>12} {:>16} {:>16} {:>10} {:>12}",
        "values", "wgpu M values/s", "CPU twin M/s", "wgpu/CPU", "of bound"
    );
    for r in rows {
        let (g, c) = (
            r["gpu_values_per_s"].as_f64().unwrap(),
            r["cpu_values_per_s"].as_f64().unwrap(),
        );
        println!(
            "{:>12} {:>16.1} {:>16.1} {:>10.2} {:>11.1}%",
            r["len"],
            g / 1e6,
            c / 1e6,
            g / c,
            100.0 * g / bound
        );
    }
    Ok(())
}
