//! Progress on standard error: bytes and files read, rate, ETA. Drawn only when asked for
//! and standard error is a terminal; otherwise every call is a cheap no-op.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};

pub struct Progress {
    bar: ProgressBar,
    files: AtomicU64,
}

impl Progress {
    pub fn new(enabled: bool) -> Progress {
        let bar = if enabled && std::io::stderr().is_terminal() {
            let b = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner} {bar:30} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta} {msg}",
            ) {
                b.set_style(style);
            }
            b
        } else {
            ProgressBar::hidden()
        };
        Progress {
            bar,
            files: AtomicU64::new(0),
        }
    }

    /// Whether a bar is drawn: only then are totals worth gathering ahead of the reading.
    pub fn shown(&self) -> bool {
        !self.bar.is_hidden()
    }

    pub fn add_total(&self, bytes: u64) {
        self.bar.inc_length(bytes);
    }

    pub fn advance(&self, bytes: u64) {
        self.bar.inc(bytes);
    }

    pub fn file_done(&self) {
        let n = self.files.fetch_add(1, Ordering::Relaxed) + 1;
        if !self.bar.is_hidden() && n % 64 == 0 {
            self.bar.set_message(format!("{n} files"));
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
