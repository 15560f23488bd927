//! One thread per run: it owns the model and optimiser, takes commands, and reports events.
use super::experiment::{Hyper, NetEntry};
use super::trainer::Event;
#[cfg(not(target_arch = "wasm32"))]
use super::trainer::{self, Control};
use crate::data::Dataset;
use crate::nn::Model;
use std::sync::Arc;
#[cfg(not(target_arch = "wasm32"))]
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    Pause,
    Resume,
    Stop,
    /// Record gradient and activation probes every this many steps (0 = off).
    ProbeEvery(usize),
}

#[cfg(not(target_arch = "wasm32"))]
use crate::task::{self, TaskCtx};
use crate::task::{Task, Wake};

pub struct RunHandle {
    pub label: String,
    commands: Port,
    job: Task<Option<Model>, Event>,
}

/// Where a run's commands go: its thread's channel, or in a browser its Web Worker.
#[cfg(not(target_arch = "wasm32"))]
type Port = Sender<Command>;
#[cfg(target_arch = "wasm32")]
type Port = crate::web::worker::Port;

impl RunHandle {
    pub fn send(&self, c: Command) {
        // A finished worker has dropped its receiver; nothing is left to command.
        let _ = self.commands.send(c);
    }

    /// Events that arrived since the last call, without blocking.
    pub fn drain(&self) -> Vec<Event> {
        self.job.drain()
    }

    /// Blocks until the next event, or `None` once the worker has gone.
    pub fn recv(&self) -> Option<Event> {
        self.job.recv()
    }

    /// Whether the worker has ended; every event it sent is then waiting in `drain`.
    pub fn is_finished(&self) -> bool {
        self.job.is_finished()
    }

    /// The trained model once the worker has ended (`None` before that, after a failure, or on
    /// a second call). Never blocks.
    pub fn take_model(&mut self) -> Option<Model> {
        if !self.job.is_finished() {
            return None;
        }
        self.job.poll().and_then(Result::ok).flatten()
    }
}

impl Drop for RunHandle {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Stop);
    }
}

/// Starts training `net` in a Web Worker of its own (a browser has no threads to share the
/// page's memory): the job and the data set travel as bytes (`super::wire`), the events and
/// the trained weights come back the same way. Every failure arrives as `Event::Failed`.
#[cfg(target_arch = "wasm32")]
pub fn spawn(net: NetEntry, hyper: Hyper, data: Arc<Dataset>, wake: Wake) -> RunHandle {
    let label = net.label.clone();
    let (commands, job) = crate::web::worker::spawn_train(net, hyper, data, wake);
    RunHandle {
        label,
        commands,
        job,
    }
}

/// Starts training `net` as a background [`Task`] with its own pool of `hyper.threads` compute
/// threads. Every failure, a panic included, arrives as `Event::Failed`.
#[cfg(not(target_arch = "wasm32"))]
pub fn spawn(net: NetEntry, hyper: Hyper, data: Arc<Dataset>, wake: Wake) -> RunHandle {
    let (ctx, crx) = channel::<Command>();
    let label = net.label.clone();
    let job = Task::spawn(
        format!("train {label}"),
        wake,
        move |events: &TaskCtx<Event>| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(hyper.threads)
                .build()
                .map_err(|e| format!("could not start worker threads: {e}"));
            // The task would catch a panic too, but the run's history must hear of it as an
            // event, so it is caught here, inside the pool.
            let result = pool.and_then(|pool| {
                task::catch("the training worker", || {
                    Ok(pool.install(move || {
                        let mut poll = |h: &mut Hyper| poll_commands(&crx, h);
                        let mut emit = |e: Event| events.emit(e);
                        trainer::run(&net, &hyper, &data, &mut poll, &mut emit)
                    }))
                })
            });
            if let Err(reason) = &result {
                events.emit(Event::Failed {
                    reason: reason.clone(),
                });
            }
            result
        },
    );
    RunHandle {
        label,
        commands: ctx,
        job,
    }
}

#[cfg(not(target_arch = "wasm32"))]
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
