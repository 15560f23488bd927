//! One thread per run: it owns the model and optimiser, takes commands, and reports events.
use super::experiment::{Hyper, NetEntry};
use super::trainer::{self, Control, Event};
use crate::data::Dataset;
use crate::nn::Model;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::thread::JoinHandle;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    Pause,
    Resume,
    Stop,
    /// Record gradient and activation probes every this many steps (0 = off).
    ProbeEvery(usize),
}

/// Called after every event so a UI can wake up and redraw.
pub type Wake = Arc<dyn Fn() + Send + Sync>;

pub struct RunHandle {
    pub label: String,
    commands: Sender<Command>,
    events: Receiver<Event>,
    thread: Option<JoinHandle<Option<Model>>>,
}

impl RunHandle {
    pub fn send(&self, c: Command) {
        // A finished worker has dropped its receiver; nothing is left to command.
        let _ = self.commands.send(c);
    }

    /// Events that arrived since the last call, without blocking.
    pub fn drain(&self) -> Vec<Event> {
        self.events.try_iter().collect()
    }

    /// Blocks until the next event, or `None` once the worker has gone.
    pub fn recv(&self) -> Option<Event> {
        self.events.recv().ok()
    }

    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }

    /// The trained model once the worker has ended (`None` before that, after a failure, or on
    /// a second call). Never blocks.
    pub fn take_model(&mut self) -> Option<Model> {
        if !self.thread.as_ref().is_some_and(|t| t.is_finished()) {
            return None;
        }
        self.thread.take()?.join().ok().flatten()
    }
}

impl Drop for RunHandle {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Stop);
    }
}

/// Starts training `net` on its own thread with its own pool of `hyper.threads` compute threads.
pub fn spawn(net: NetEntry, hyper: Hyper, data: Arc<Dataset>, wake: Wake) -> RunHandle {
    let (ctx, crx) = channel::<Command>();
    let (etx, erx) = channel::<Event>();
    let label = net.label.clone();
    let thread = std::thread::Builder::new()
        .name(format!("train {label}"))
        .spawn(move || {
            let report = {
                let (etx, wake) = (etx.clone(), wake.clone());
                move |e: Event| {
                    let _ = etx.send(e);
                    wake();
                }
            };
            let pool = match rayon::ThreadPoolBuilder::new()
                .num_threads(hyper.threads)
                .build()
            {
                Ok(p) => p,
                Err(e) => {
                    report(Event::Failed {
                        reason: format!("could not start worker threads: {e}"),
                    });
                    return None;
                }
            };
            let inner = report.clone();
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                pool.install(move || {
                    let mut poll = |h: &mut Hyper| poll_commands(&crx, h);
                    let mut emit = |e: Event| inner(e);
                    trainer::run(&net, &hyper, &data, &mut poll, &mut emit)
                })
            }));
            match result {
                Ok(model) => model,
                Err(panic) => {
                    let what = panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_else(|| "unknown panic".into());
                    report(Event::Failed {
                        reason: format!("internal error in the training worker: {what}"),
                    });
                    None
                }
            }
        })
        .expect("the OS refused to start a thread");
    RunHandle {
        label,
        commands: ctx,
        events: erx,
        thread: Some(thread),
    }
}

fn poll_commands(rx: &Receiver<Command>, hyper: &mut Hyper) -> Control {
    let mut paused = false;
    loop {
        let cmd = if paused {
            match rx.recv() {
                Ok(c) => c,
                Err(_) => return Control::Stop,
            }
        } else {
            match rx.try_recv() {
                Ok(c) => c,
                Err(TryRecvError::Empty) => return Control::Continue,
                Err(TryRecvError::Disconnected) => return Control::Stop,
            }
        };
        match cmd {
            Command::Stop => return Control::Stop,
            Command::Pause => paused = true,
            Command::Resume => paused = false,
            Command::ProbeEvery(n) => hyper.probe_every = n,
        }
    }
}
