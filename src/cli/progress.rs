//! A one-line progress bar on standard error: steps, rate, time left, and a message.

use std::io::Write;
use std::time::Instant;

pub struct Progress {
    total: usize,
    start: Instant,
    /// Redraw only on a terminal; in logs print nothing until `finish`.
    live: bool,
}

impl Progress {
    pub fn new(total: usize) -> Self {
        use std::io::IsTerminal;
        Self {
            total,
            start: Instant::now(),
            live: std::io::stderr().is_terminal(),
        }
    }

    pub fn set(&self, done: usize, message: &str) {
        if !self.live {
            return;
        }
        let width = 30;
        let filled = (done * width)
            .checked_div(self.total)
            .unwrap_or(width)
            .min(width);
        let elapsed = self.start.elapsed().as_secs_f64();
        let rate = done as f64 / elapsed.max(1e-9);
        let left = if done > 0 {
            (self.total - done.min(self.total)) as f64 / rate
        } else {
            f64::NAN
        };
        eprint!(
            "\r[{}{}] {done}/{} {rate:.2} step/s, {} left  {message}\x1b[K",
            "#".repeat(filled),
            " ".repeat(width - filled),
            self.total,
            format_seconds(left),
        );
        let _ = std::io::stderr().flush();
    }

    /// Clears the bar so the next line starts clean.
    pub fn clear(&self) {
        if self.live {
            eprint!("\r\x1b[K");
        }
    }
}

pub fn format_seconds(s: f64) -> String {
    if !s.is_finite() {
        return "?".into();
    }
    let s = s.round() as u64;
    if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}
