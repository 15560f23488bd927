//! Terminal feedback: a one-line progress bar for training and for data loading.
use crate::data::{self, Dataset, LoadOptions, Source};
use crate::task::{Task, TaskCtx, no_wake};
use crate::train::RunHistory;
use std::io::Write;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

pub struct Bar {
    label: String,
    started: Instant,
    last: Option<Instant>,
}

impl Bar {
    pub fn new(label: &str) -> Self {
        Self {
            label: label.to_string(),
            started: Instant::now(),
            last: None,
        }
    }

    pub fn update(&mut self, h: &RunHistory) {
        let now = Instant::now();
        if self
            .last
            .is_some_and(|t| now - t < Duration::from_millis(200))
        {
            return;
        }
        self.last = Some(now);
        let done = h.steps_done();
        let total = h.total_steps.max(1);
        let width = 24;
        let fill = (done * width / total).min(width);
        let elapsed = self.started.elapsed().as_secs_f64();
        let eta = if done > 0 {
            elapsed / done as f64 * (total - done.min(total)) as f64
        } else {
            0.0
        };
        let loss = h.step_loss.last().copied().unwrap_or(f32::NAN);
        let err = h.step_err.last().copied().unwrap_or(f32::NAN) * 100.0;
        eprint!(
            "\r{:>12} [{}{}] step {done}/{total} loss {loss:.3} err {err:5.1}% eta {eta:.0}s   ",
            self.label,
            "#".repeat(fill),
            " ".repeat(width - fill)
        );
        let _ = std::io::stderr().flush();
    }

    pub fn finish(&mut self, h: &RunHistory) {
        self.last = None;
        self.update(h);
        eprintln!();
        for e in &h.epochs {
            eprintln!(
                "{:>12} epoch {}: train err {:.2}%  test err {:.2}%  loss {:.4}",
                self.label,
                e.epoch,
                e.train_err * 100.0,
                e.test_err * 100.0,
                e.loss
            );
        }
        eprintln!(
            "{:>12} {} in {:.1}s, {:.0} img/s",
            self.label,
            h.status.describe(),
            h.wall_secs,
            h.img_per_sec
        );
    }
}

/// Loads a data set as a background task while the terminal shows how far it got.
pub fn load_with_progress(source: &Source, opts: &LoadOptions) -> Result<Dataset, String> {
    let (s, o) = (source.clone(), opts.clone());
    let mut task = Task::spawn("load data", no_wake(), move |ctx: &TaskCtx<()>| {
        data::load(&s, &o, ctx.progress()).map_err(|e| e.to_string())
    });
    let mut shown = false;
    let mut shown_at = Instant::now();
    let result = loop {
        if let Some(r) = task.poll() {
            break r;
        }
        std::thread::sleep(Duration::from_millis(20));
        let p = task.progress();
        let total = p.total.load(Ordering::Relaxed);
        if total > 0 && !task.is_finished() && shown_at.elapsed() >= Duration::from_millis(250) {
            shown_at = Instant::now();
            shown = true;
            eprint!(
                "\rloading {}/{} files",
                p.done.load(Ordering::Relaxed),
                total
            );
        }
    };
    if shown {
        eprintln!();
    }
    result
}
