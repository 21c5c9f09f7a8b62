//! `bpt-lab check`: the page's start-up self-check, natively.

use std::process::ExitCode;

use crate::gpu::{GpuContext, selfcheck};

pub fn run() -> ExitCode {
    let ctx = match pollster::block_on(GpuContext::new()) {
        Ok(ctx) => ctx,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let a = ctx.adapter();
    println!("adapter      {} ({}, {})", a.name, a.backend, a.device_type);
    println!(
        "limits       storage binding {} MiB, buffer {} MiB, workgroup storage {} KiB, {} invocations",
        a.max_storage_buffer_binding_size >> 20,
        a.max_buffer_size >> 20,
        a.max_compute_workgroup_storage_size >> 10,
        a.max_compute_invocations_per_workgroup
    );
    println!(
        "features     shader-f16 {}, subgroups {}, timestamp-query {}",
        a.shader_f16, a.subgroups, a.timestamp_query
    );
    let report = match pollster::block_on(selfcheck::run(&ctx)) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (g, c) = (report.gpu, report.cpu);
    println!(
        "moments      gpu mean {:.9} var {:.9}; cpu mean {:.9} var {:.9}",
        g.mean,
        g.variance(),
        c.mean,
        c.variance()
    );
    println!(
        "shape        gpu skewness {:.6} excess kurtosis {:.6}; cpu {:.6} {:.6}",
        g.skewness(),
        g.excess_kurtosis(),
        c.skewness(),
        c.excess_kurtosis()
    );
    println!(
        "histogram    {} bins, counts {}",
        report.histogram_gpu.counts.len(),
        if report.histogram_ok() {
            "equal"
        } else {
            "DIFFER"
        }
    );
    println!(
        "tails        beyond {:?} std: gpu {:?}, cpu {:?}",
        crate::gpu::selfcheck::SELFCHECK_KS,
        report.tail_gpu.beyond,
        report.tail_cpu.beyond
    );
    println!(
        "matmul       max abs error {:.3e}",
        report.matmul_max_abs_err
    );
    if report.passed() {
        println!("self-check   passed");
        ExitCode::SUCCESS
    } else {
        println!("self-check   FAILED");
        ExitCode::FAILURE
    }
}
