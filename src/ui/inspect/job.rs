//! One background task with progress, cancellation and one failure policy: a panic in the
//! task becomes an error message, and a dropped job asks its task to stop.
use crate::data::Progress;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, TryRecvError, channel};

pub struct Job<T> {
    rx: Receiver<Result<T, String>>,
    pub progress: Arc<Progress>,
}

impl<T: Send + 'static> Job<T> {
    /// Runs `task` on its own thread; `wake` is called when it is done (to redraw).
    pub fn spawn(
        name: &str,
        wake: impl Fn() + Send + 'static,
        task: impl FnOnce(&Progress) -> Result<T, String> + Send + 'static,
    ) -> Self {
        let (tx, rx) = channel();
        let progress = Arc::new(Progress::default());
        let p = progress.clone();
        let spawned = std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || {
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| task(&p)))
                    .unwrap_or_else(|panic| {
                        let what = panic
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_else(|| "unknown panic".into());
                        Err(format!("internal error: {what}"))
                    });
                let _ = tx.send(r);
                wake();
            });
        if let Err(e) = spawned {
            // The receiver then reports the vanished worker on the first poll.
            eprintln!("could not start a worker thread: {e}");
        }
        Self { rx, progress }
    }

    /// The result once the task has ended; `None` while it runs.
    pub fn poll(&mut self) -> Option<Result<T, String>> {
        match self.rx.try_recv() {
            Ok(r) => Some(r),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => {
                Some(Err("the worker stopped without a result".into()))
            }
        }
    }

    /// Share done, in [0, 1].
    pub fn fraction(&self) -> f32 {
        self.progress.fraction()
    }
}

impl<T> Drop for Job<T> {
    fn drop(&mut self) {
        self.progress.cancel.store(true, Ordering::Relaxed);
    }
}
