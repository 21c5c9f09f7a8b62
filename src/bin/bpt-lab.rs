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
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check => bpt_lab::cli::check::run(),
    }
}
