//! The one kind of background work: training runs, speed probes, loss landscapes, Inspect's
//! evaluations, data loads, file dialogs, saves, opens and exports all run as a [`Task`].
//!
//! A task gets a [`TaskCtx`] to report events (`emit`), progress and to notice a cancel; whoever
//! holds the [`Task`] drains its events, reads its progress, cancels it, and polls its result.
//!
//! One failure policy: whatever happens on the worker (an error, a panic, a thread the platform
//! would not start) the task ends with `Err(sentence)`, exactly once, and whoever polls it gets
//! that sentence to show. One wake: [`Wake`], called whenever a task has something to report.
//!
//! Where the work runs is the [`Executor`]: a native thread by default ([`thread_executor`]),
//! another one installed with [`set_executor`] (a Web Worker in a browser build). Nothing else in the crate starts a thread (rayon pools inside compute aside).
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};

/// Called when a task has something to report, so a UI can wake up and redraw.
pub type Wake = Arc<dyn Fn() + Send + Sync>;

/// A wake that does nothing (the CLI and tests poll or block instead).
pub fn no_wake() -> Wake {
    Arc::new(|| {})
}

/// How far a task got, and whether it was asked to stop. Shared by the task and its holder.
#[derive(Debug, Default)]
pub struct Progress {
    pub done: AtomicUsize,
    pub total: AtomicUsize,
    pub cancel: AtomicBool,
}

impl Progress {
    /// Share of the current phase done, in [0, 1]; 0 before the total is known.
    pub fn fraction(&self) -> f32 {
        let total = self.total.load(Ordering::Relaxed);
        if total == 0 {
            return 0.0;
        }
        (self.done.load(Ordering::Relaxed) as f32 / total as f32).min(1.0)
    }

    /// Asks the task to stop; it ends soon after (how soon is up to the task).
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// Sets both counts (a phase of `total` items, `done` of them finished).
    pub fn set(&self, done: usize, total: usize) {
        self.total.store(total, Ordering::Relaxed);
        self.done.store(done, Ordering::Relaxed);
    }
}

/// The message of a caught panic.
pub fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into())
}

/// Runs `work`, turning a panic into the sentence "`what` failed: internal error (...)".
pub fn catch<T>(what: &str, work: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).unwrap_or_else(|p| {
        Err(format!(
            "{what} failed: internal error ({})",
            panic_text(&*p)
        ))
    })
}

/// Where a task's body runs: given the task's name and its body, start it on a worker of its
/// own and return at once, or say in one sentence why it could not start. The body already
/// catches its panics and reports its result; an executor only has to run it once.
pub type Executor = fn(&str, Box<dyn FnOnce() + Send>) -> Result<(), String>;

static EXECUTOR: std::sync::OnceLock<Executor> = std::sync::OnceLock::new();

/// Installs the executor every later task runs on (a browser build: a Web Worker pool). Once
/// per process, before the first task; `false` when one was already installed or used.
pub fn set_executor(e: Executor) -> bool {
    EXECUTOR.set(e).is_ok()
}

/// The default executor: a native thread named after the task.
pub fn thread_executor(what: &str, body: Box<dyn FnOnce() + Send>) -> Result<(), String> {
    std::thread::Builder::new()
        .name(what.chars().take(15).collect())
        .spawn(body)
        .map(|_| ())
        .map_err(|e| format!("could not start {what}: {e}"))
}

fn spawn_body(what: &str, body: Box<dyn FnOnce() + Send>) -> Result<(), String> {
    (EXECUTOR.get_or_init(|| thread_executor))(what, body)
}

/// What a running task holds: where its events go, its progress and cancel flag.
pub struct TaskCtx<E> {
    events: Sender<E>,
    wake: Wake,
    progress: Arc<Progress>,
}

impl<E> TaskCtx<E> {
    /// Reports an event to the task's holder and wakes it.
    pub fn emit(&self, e: E) {
        let _ = self.events.send(e);
        (self.wake)();
    }

    /// Whether the holder asked the task to stop (or dropped it).
    pub fn cancelled(&self) -> bool {
        self.progress.is_cancelled()
    }

    /// The shared progress (loaders and the landscape job count into it, and read its cancel).
    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// The cancel flag alone, for code that takes one.
    pub fn cancel_flag(&self) -> &AtomicBool {
        &self.progress.cancel
    }

    /// Wakes the holder without an event (progress moved).
    pub fn wake(&self) {
        (self.wake)();
    }
}

/// A piece of background work that ends with a `T` or a sentence, reporting `E`s on the way.
pub struct Task<T, E = ()> {
    what: String,
    result: Option<Receiver<Result<T, String>>>,
    events: Receiver<E>,
    progress: Arc<Progress>,
    ended: Arc<AtomicBool>,
    /// Set when the task could not even start.
    failed_to_start: Option<String>,
}

impl<T: Send + 'static, E: Send + 'static> Task<T, E> {
    /// Runs `work` in the background; `what` ("open run folder", "load data") names it in
    /// errors.
    pub fn spawn(
        what: impl Into<String>,
        wake: Wake,
        work: impl FnOnce(&TaskCtx<E>) -> Result<T, String> + Send + 'static,
    ) -> Self {
        // The work's end is the same `Remote` an external task has, run here by the executor.
        let (mut task, remote) = Task::external(what, wake);
        let name = task.what.clone();
        let body = Box::new(move || {
            let result = catch(&name, || work(remote.ctx()));
            // Every event is sent before the result: whoever sees the end has them all.
            remote.finish(result);
        });
        if let Err(e) = spawn_body(&task.what, body) {
            task.result = None;
            task.failed_to_start = Some(e);
        }
        task
    }
}

impl<T, E> Task<T, E> {
    /// A task whose work runs somewhere this process cannot hand a closure to (a browser's Web
    /// Worker, which gets its job as bytes): the [`Remote`] is the work's end, fed by whoever
    /// hears from it. Dropping the `Remote` without [`Remote::finish`] ends the task with
    /// "stopped without a result".
    pub fn external(what: impl Into<String>, wake: Wake) -> (Self, Remote<T, E>) {
        let what = what.into();
        let (tx, rx) = channel();
        let (etx, erx) = channel();
        let progress = Arc::new(Progress::default());
        let ended = Arc::new(AtomicBool::new(false));
        let remote = Remote {
            ctx: TaskCtx {
                events: etx,
                wake,
                progress: progress.clone(),
            },
            result: tx,
            ended: ended.clone(),
        };
        let task = Self {
            what,
            result: Some(rx),
            events: erx,
            progress,
            ended,
            failed_to_start: None,
        };
        (task, remote)
    }
}

/// The work's end of an [`Task::external`] task.
pub struct Remote<T, E> {
    ctx: TaskCtx<E>,
    result: Sender<Result<T, String>>,
    ended: Arc<AtomicBool>,
}

impl<T, E> Remote<T, E> {
    /// The work's context: `emit`, progress, the holder's cancel.
    pub fn ctx(&self) -> &TaskCtx<E> {
        &self.ctx
    }

    /// Ends the task with `result` (after every event emitted so far).
    pub fn finish(self, result: Result<T, String>) {
        let Remote {
            ctx,
            result: tx,
            ended,
        } = self;
        let wake = ctx.wake.clone();
        drop(ctx);
        let _ = tx.send(result);
        ended.store(true, Ordering::Release);
        wake();
    }
}

/// Runs `f` inside a compute pool of `threads` threads (0: one per core). A browser's wasm has
/// no threads: there `f` runs on the calling worker, which is already off the page's thread.
pub fn in_pool<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> Result<R, String> {
    #[cfg(target_arch = "wasm32")]
    {
        let _ = threads;
        Ok(f())
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| format!("could not start worker threads: {e}"))?;
        Ok(pool.install(f))
    }
}

impl<T: Send + 'static> Task<T> {
    /// Runs `work`, which reports nothing on the way, in the background.
    pub fn run(
        what: impl Into<String>,
        wake: Wake,
        work: impl FnOnce() -> Result<T, String> + Send + 'static,
    ) -> Self {
        Task::spawn(what, wake, move |_: &TaskCtx<()>| work())
    }
}

impl<T, E> Task<T, E> {
    /// Whether the work has ended: its events are all waiting in `drain`, its result in `poll`.
    pub fn is_finished(&self) -> bool {
        self.failed_to_start.is_some()
            || self.result.is_none()
            || self.ended.load(Ordering::Acquire)
    }

    /// The result once the task has ended (exactly once), without blocking.
    pub fn poll(&mut self) -> Option<Result<T, String>> {
        if let Some(e) = self.failed_to_start.take() {
            return Some(Err(e));
        }
        let rx = self.result.as_ref()?;
        let r = match rx.try_recv() {
            Ok(r) => r,
            Err(TryRecvError::Empty) => return None,
            Err(TryRecvError::Disconnected) => {
                Err(format!("{} stopped without a result", self.what))
            }
        };
        self.result = None;
        Some(r)
    }

    /// Blocks until the task ends (the CLI and tests).
    pub fn wait(mut self) -> Result<T, String> {
        if let Some(e) = self.failed_to_start.take() {
            return Err(e);
        }
        match self.result.take() {
            Some(rx) => rx
                .recv()
                .unwrap_or_else(|_| Err(format!("{} stopped without a result", self.what))),
            None => Err(format!("{} already reported its result", self.what)),
        }
    }

    /// Events that arrived since the last call, without blocking.
    pub fn drain(&self) -> Vec<E> {
        self.events.try_iter().collect()
    }

    /// Blocks until the next event, or `None` once the task has ended and every event was read.
    pub fn recv(&self) -> Option<E> {
        self.events.recv().ok()
    }

    /// Asks the task to stop.
    pub fn cancel(&self) {
        self.progress.cancel();
    }

    pub fn progress(&self) -> &Arc<Progress> {
        &self.progress
    }

    /// Share done, in [0, 1].
    pub fn fraction(&self) -> f32 {
        self.progress.fraction()
    }

    pub fn what(&self) -> &str {
        &self.what
    }
}

impl<T, E> Drop for Task<T, E> {
    /// Nobody will read the result: ask the work to stop.
    fn drop(&mut self) {
        self.progress.cancel();
    }
}

/// A task slot a view keeps: at most one task of a kind at a time, polled every frame.
pub struct Slot<T> {
    task: Option<Task<T>>,
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Self { task: None }
    }
}

impl<T: Send + 'static> Slot<T> {
    pub fn is_busy(&self) -> bool {
        self.task.is_some()
    }

    /// Starts a task unless one is already running; returns whether it started.
    pub fn start(
        &mut self,
        what: impl Into<String>,
        wake: Wake,
        work: impl FnOnce() -> Result<T, String> + Send + 'static,
    ) -> bool {
        if self.task.is_some() {
            return false;
        }
        self.task = Some(Task::run(what, wake, work));
        true
    }

    /// The task's result once it has ended; the slot is free again after that.
    pub fn poll(&mut self) -> Option<Result<T, String>> {
        let r = self.task.as_mut()?.poll()?;
        self.task = None;
        Some(r)
    }
}

/// Runs every job of `jobs` at the same time, each on a worker of its own, and waits for all:
/// their results in order, a panic or a refused worker as that job's error. (The speed probe
/// times nets side by side this way, as they will train.)
pub fn together<R: Send + 'static>(
    what: &str,
    jobs: Vec<Box<dyn FnOnce() -> Result<R, String> + Send>>,
) -> Vec<Result<R, String>> {
    let tasks: Vec<Task<R>> = jobs
        .into_iter()
        .map(|job| Task::run(what, no_wake(), job))
        .collect();
    tasks.into_iter().map(Task::wait).collect()
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
            assert!(t0.elapsed() < Duration::from_secs(10), "task never ended");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    #[test]
    fn results_errors_and_panics_all_end_the_task_once() {
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
    }

    #[test]
    fn events_progress_cancel_and_wake_reach_the_holder() {
        let woke = Arc::new(AtomicUsize::new(0));
        let w = woke.clone();
        let task: Task<usize, usize> = Task::spawn(
            "count",
            Arc::new(move || {
                w.fetch_add(1, Ordering::SeqCst);
            }),
            |ctx| {
                let mut n = 0;
                while !ctx.cancelled() {
                    ctx.emit(n);
                    ctx.progress().set(n.min(10), 10);
                    n += 1;
                    std::thread::sleep(Duration::from_millis(1));
                }
                Ok(n)
            },
        );
        let first = task.recv();
        assert_eq!(first, Some(0));
        task.cancel();
        let t0 = Instant::now();
        while !task.is_finished() {
            assert!(t0.elapsed() < Duration::from_secs(10), "cancel ignored");
            std::thread::sleep(Duration::from_millis(1));
        }
        let events = task.drain();
        let n = task.wait().unwrap();
        assert_eq!(events.len() + 1, n, "every event before the end");
        assert!(woke.load(Ordering::SeqCst) > n);
    }

    #[test]
    fn together_runs_side_by_side_and_keeps_order() {
        let jobs: Vec<Box<dyn FnOnce() -> Result<usize, String> + Send>> = vec![
            Box::new(|| Ok(1)),
            Box::new(|| panic!("two")),
            Box::new(|| Err("three".into())),
        ];
        let r = together("probe", jobs);
        assert_eq!(r[0], Ok(1));
        assert!(r[1].as_ref().unwrap_err().contains("two"));
        assert_eq!(r[2], Err("three".into()));
    }
}
