//! `bpt-lab`: the native command line of the BPT Lab engine.

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "bpt-lab",
    version,
    about = "Bilinear Prompt Tuning of Vision Transformers on your own GPU"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show the GPU adapter and check a WGSL kernel and a burn matmul on it against the CPU.
    Check,
    /// Final-norm tokens (and logits) of normalised images: safetensors in, safetensors out.
    Embed(bpt_lab::cli::embed::EmbedArgs),
    /// Tune prompts (VPT or BPT) and a linear head on a folder of images, one sub-folder per class.
    Train(bpt_lab::cli::train::TrainArgs),
    /// Class probabilities of images from a run file (the run's normalisation and crop).
    Predict(bpt_lab::cli::predict::PredictArgs),
    /// Accuracy, per-class accuracy, confusion matrix and loss of a run file on a class folder.
    Evaluate(bpt_lab::cli::evaluate::EvaluateArgs),
    /// Compare methods on one data set: settings chosen on validation, paired draws and seeds,
    /// means with 95% intervals; writes compare.json, compare.md and compare.svg.
    Compare(Box<bpt_lab::cli::compare::CompareArgs>),
    /// Histograms, moments and fits of X, W_q W_k^T, X~ and whitened X~ for a block (and of
    /// the prompts of run files), as JSON.
    Analyse(bpt_lab::cli::analyse::AnalyseArgs),
    /// Throughput benchmarks (see BENCHMARKS.md).
    #[command(subcommand)]
    Bench(bpt_lab::cli::bench::BenchCommand),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check => bpt_lab::cli::check::run(),
        Command::Embed(args) => exit(bpt_lab::cli::embed::run(args)),
        Command::Train(args) => exit(bpt_lab::cli::train::run(args)),
        Command::Predict(args) => exit(bpt_lab::cli::predict::run(args)),
        Command::Evaluate(args) => exit(bpt_lab::cli::evaluate::run(args)),
        Command::Compare(args) => exit(bpt_lab::cli::compare::run(*args)),
        Command::Analyse(args) => exit(bpt_lab::cli::analyse::run(args)),
        Command::Bench(command) => exit(bpt_lab::cli::bench::run(command)),
    }
}

fn exit(result: Result<(), bpt_lab::error::Error>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}
