//! A progress bar on stderr for long work (redrawn in place, at most ~10 times a second).

use std::io::Write;
use std::time::Instant;

pub struct Progress {
    label: &'static str,
    start: Instant,
    last: Option<Instant>,
}

impl Progress {
    pub fn new(label: &'static str) -> Progress {
        Progress {
            label,
            start: Instant::now(),
            last: None,
        }
    }

    /// Shows `done` of `total`; the final call ends the line.
    pub fn update(&mut self, done: usize, total: usize) {
        self.update_with(done, total, "");
    }

    /// [`Progress::update`] followed by what is being done now (e.g. "layer 3 prune attn_q").
    pub fn update_with(&mut self, done: usize, total: usize, now_doing: &str) {
        let now = Instant::now();
        let finished = done >= total;
        if !finished
            && self
                .last
                .is_some_and(|t| now.duration_since(t).as_millis() < 100)
        {
            return;
        }
        self.last = Some(now);
        let width = 30;
        let filled = (done * width).checked_div(total).unwrap_or(width);
        let secs = now.duration_since(self.start).as_secs_f64();
        let eta = if done > 0 {
            secs * (total - done) as f64 / done as f64
        } else {
            0.0
        };
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r{} [{}{}] {done}/{total}  {secs:.1}s elapsed, {eta:.1}s left  {now_doing}\x1b[K",
            self.label,
            "#".repeat(filled),
            " ".repeat(width - filled)
        );
        if finished {
            let _ = writeln!(err);
        }
        let _ = err.flush();
    }
}
