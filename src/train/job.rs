//! One kind of background job for everything that must not run on the UI thread: training,
//! file dialogs, data loads, saves, opens and exports.
//!
//! One failure policy: whatever happens on the worker (an error, a panic, a thread the OS would
//! not start) the job ends with `Err(sentence)`, exactly once, and whoever polls it gets that
//! sentence and may try again. Nothing a worker does can leave a button disabled for good.
use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError, channel};

/// Called when a job has something to report, so a UI can wake up and redraw.
pub type Wake = Arc<dyn Fn() + Send + Sync>;

/// A wake that does nothing (the CLI and tests poll or block instead).
pub fn no_wake() -> Wake {
    Arc::new(|| {})
}

pub struct Job<T> {
    what: String,
    rx: Option<Receiver<Result<T, String>>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Set when the job could not even start.
    failed_to_start: Option<String>,
}

/// The message of a caught panic.
pub fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into())
}

impl<T: Send + 'static> Job<T> {
    /// Runs `work` on its own thread; `what` ("open run folder", "load data") names it in errors.
    pub fn spawn(
        what: impl Into<String>,
        wake: Wake,
        work: impl FnOnce() -> Result<T, String> + Send + 'static,
    ) -> Self {
        let what = what.into();
        let (tx, rx) = channel();
        let name = what.clone();
        let spawned = std::thread::Builder::new()
            .name(what.chars().take(15).collect())
            .spawn(move || {
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work))
                    .unwrap_or_else(|p| {
                        Err(format!(
                            "{name} failed: internal error ({})",
                            panic_text(&*p)
                        ))
                    });
                let _ = tx.send(result);
                wake();
            });
        match spawned {
            Ok(t) => Self {
                what,
                rx: Some(rx),
                thread: Some(t),
                failed_to_start: None,
            },
            Err(e) => Self {
                failed_to_start: Some(format!("could not start {what}: {e}")),
                what,
                rx: None,
                thread: None,
            },
        }
    }

    /// Whether the worker thread has ended (its result, if any, is then waiting in `poll`).
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }

    /// The result once the job has ended (exactly once), without blocking.
    pub fn poll(&mut self) -> Option<Result<T, String>> {
        if let Some(e) = self.failed_to_start.take() {
            return Some(Err(e));
        }
        let rx = self.rx.as_ref()?;
        let r = match rx.try_recv() {
            Ok(r) => r,
            Err(TryRecvError::Empty) => return None,
            Err(TryRecvError::Disconnected) => {
                Err(format!("{} stopped without a result", self.what))
            }
        };
        self.rx = None;
        Some(r)
    }

    /// Blocks until the job ends (the CLI and tests).
    pub fn wait(mut self) -> Result<T, String> {
        if let Some(e) = self.failed_to_start.take() {
            return Err(e);
        }
        match self.rx.take() {
            Some(rx) => rx
                .recv()
                .unwrap_or_else(|_| Err(format!("{} stopped without a result", self.what))),
            None => Err(format!("{} already reported its result", self.what)),
        }
    }

    pub fn what(&self) -> &str {
        &self.what
    }
}

/// A job slot a view keeps: at most one job of a kind at a time, polled every frame.
pub struct Slot<T> {
    job: Option<Job<T>>,
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Self { job: None }
    }
}

impl<T: Send + 'static> Slot<T> {
    pub fn is_busy(&self) -> bool {
        self.job.is_some()
    }

    /// Starts a job unless one is already running; returns whether it started.
    pub fn start(
        &mut self,
        what: impl Into<String>,
        wake: Wake,
        work: impl FnOnce() -> Result<T, String> + Send + 'static,
    ) -> bool {
        if self.job.is_some() {
            return false;
        }
        self.job = Some(Job::spawn(what, wake, work));
        true
    }

    /// The job's result once it has ended; the slot is free again after that.
    pub fn poll(&mut self) -> Option<Result<T, String>> {
        let r = self.job.as_mut()?.poll()?;
        self.job = None;
        Some(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn wait_poll<T: Send + 'static>(slot: &mut Slot<T>) -> Result<T, String> {
        let t0 = Instant::now();
        loop {
            if let Some(r) = slot.poll() {
                return r;
            }
            assert!(t0.elapsed() < Duration::from_secs(10), "job never ended");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    #[test]
    fn results_errors_and_panics_all_end_the_job_once() {
        let mut slot = Slot::default();
        assert!(slot.start("sum", no_wake(), || Ok(2 + 2)));
        assert!(!slot.start("again", no_wake(), || Ok(0)), "one at a time");
        assert_eq!(wait_poll(&mut slot), Ok(4));
        assert!(!slot.is_busy());
        assert!(slot.start("fail", no_wake(), || Err::<i32, _>("no".into())));
        assert_eq!(wait_poll(&mut slot), Err("no".into()));
        assert!(
            slot.start("open run folder", no_wake(), || -> Result<i32, String> {
                panic!("boom")
            })
        );
        let e = wait_poll(&mut slot).unwrap_err();
        assert!(
            e.contains("open run folder failed") && e.contains("boom"),
            "{e}"
        );
        assert!(slot.poll().is_none(), "reported once");
        assert!(slot.start("after a panic", no_wake(), || Ok(1)));
        assert_eq!(wait_poll(&mut slot), Ok(1));
        let woke = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let w = woke.clone();
        let job = Job::spawn(
            "wake",
            Arc::new(move || w.store(true, std::sync::atomic::Ordering::SeqCst)),
            || Ok(()),
        );
        assert_eq!(job.wait(), Ok(()));
        let t0 = Instant::now();
        while !woke.load(std::sync::atomic::Ordering::SeqCst) {
            assert!(t0.elapsed() < Duration::from_secs(5));
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}
