//! Training in Web Workers: each run gets a module worker of its own (web/worker.js), which
//! instantiates the page's wasm module and calls [`worker_main`] with the job.
//!
//! Page to worker: `{module, job, data}` once (the compiled module, `wire::TrainJob` bytes, the
//! data set's bytes), then `{cmd}` messages ("pause", "resume", "stop", "probe:N").
//! Worker to page: `{kind: "event", bytes}` per [`Event`], then `{kind: "model", bytes}` (the
//! weights, after the last event) or `{kind: "failed", text}`; a panic posts `{kind: "panic"}`.
//!
//! The worker trains one batch per turn of its event loop ([`Run::advance`]) and yields between
//! batches, so a pause or stop posted by the page is read before the next batch.
use crate::data::Dataset;
use crate::nn::Model;
use crate::task::{Remote, Task, Wake};
use crate::train::trainer::{Advance, Control, Event, Run};
use crate::train::wire::{self, TrainJob};
use crate::train::{Command, Hyper, NetEntry};
use js_sys::{Object, Reflect, Uint8Array};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

/// A run's commands, posted to its worker.
pub struct Port {
    worker: Option<web_sys::Worker>,
}

impl Port {
    /// Posts `c`; `Err` when the worker is gone (nothing is left to command).
    pub fn send(&self, c: Command) -> Result<(), JsValue> {
        let w = self.worker.as_ref().ok_or(JsValue::NULL)?;
        let text = match c {
            Command::Pause => "pause".to_string(),
            Command::Resume => "resume".to_string(),
            Command::Stop => "stop".to_string(),
            Command::ProbeEvery(n) => format!("probe:{n}"),
        };
        let msg = Object::new();
        let _ = Reflect::set(&msg, &"cmd".into(), &text.into());
        w.post_message(&msg)
    }
}

fn field(v: &JsValue, name: &str) -> JsValue {
    Reflect::get(v, &name.into()).unwrap_or(JsValue::UNDEFINED)
}

fn bytes_of(v: &JsValue, name: &str) -> Vec<u8> {
    field(v, name)
        .dyn_into::<Uint8Array>()
        .map(|a| a.to_vec())
        .unwrap_or_default()
}

fn js_text(v: &JsValue) -> String {
    v.as_string()
        .or_else(|| {
            v.dyn_ref::<js_sys::Error>()
                .map(|e| String::from(e.message()))
        })
        .or_else(|| v.dyn_ref::<web_sys::ErrorEvent>().map(|e| e.message()))
        .unwrap_or_else(|| format!("{v:?}"))
}

/// Starts `net` training in a new worker; the task ends with the trained model.
pub fn spawn_train(
    net: NetEntry,
    hyper: Hyper,
    data: Arc<Dataset>,
    wake: Wake,
) -> (Port, Task<Option<Model>, Event>) {
    let (task, remote) = Task::external(format!("train {}", net.label), wake);
    let job = TrainJob { net, hyper };
    let fail = |remote: Remote<Option<Model>, Event>, reason: String| {
        remote.ctx().emit(Event::Failed {
            reason: reason.clone(),
        });
        remote.finish(Err(reason));
    };
    let opts = web_sys::WorkerOptions::new();
    opts.set_type(web_sys::WorkerType::Module);
    let worker = match web_sys::Worker::new_with_options("./worker.js", &opts) {
        Ok(w) => w,
        Err(e) => {
            fail(
                remote,
                format!("could not start a training worker: {}", js_text(&e)),
            );
            return (Port { worker: None }, task);
        }
    };
    let remote = Rc::new(RefCell::new(Some(remote)));
    let ended = {
        let (remote, worker) = (remote.clone(), worker.clone());
        move |result: Result<Option<Model>, String>| {
            if let Some(r) = remote.borrow_mut().take() {
                if let Err(reason) = &result {
                    r.ctx().emit(Event::Failed {
                        reason: reason.clone(),
                    });
                }
                r.finish(result);
            }
            worker.terminate();
        }
    };
    let (job2, data2) = (job.clone(), data.clone());
    let on_end = ended.clone();
    let on_message =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |m: web_sys::MessageEvent| {
            let d = m.data();
            match field(&d, "kind").as_string().as_deref() {
                Some("event") => match wire::decode_event(&bytes_of(&d, "bytes")) {
                    Ok(e) => {
                        if let Some(r) = remote.borrow().as_ref() {
                            r.ctx().emit(e);
                        }
                    }
                    Err(reason) => on_end(Err(reason)),
                },
                Some("model") => {
                    let model = wire::decode_model(&bytes_of(&d, "bytes"), &job2, &data2);
                    on_end(model.map(Some));
                }
                Some("nomodel") => on_end(Ok(None)),
                Some("failed") | Some("panic") => {
                    let text = field(&d, "text").as_string().unwrap_or_default();
                    on_end(Err(format!("the training worker failed: {text}")))
                }
                _ => {}
            }
        });
    let on_post_error = ended.clone();
    let on_end = ended;
    let on_error = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
        on_end(Err(format!("the training worker stopped: {}", js_text(&e))))
    });
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    // The handlers live as long as the worker may call them; a run leaks these two closures.
    on_message.forget();
    on_error.forget();
    let module =
        Reflect::get(&js_sys::global(), &"resnetLabModule".into()).unwrap_or(JsValue::UNDEFINED);
    let msg = Object::new();
    let _ = Reflect::set(&msg, &"module".into(), &module);
    let _ = Reflect::set(
        &msg,
        &"job".into(),
        &Uint8Array::from(job.encode().as_slice()).into(),
    );
    let _ = Reflect::set(
        &msg,
        &"data".into(),
        &Uint8Array::from(wire::encode_dataset(&data).as_slice()).into(),
    );
    if let Err(e) = worker.post_message(&msg) {
        on_post_error(Err(format!(
            "could not hand the job to its worker: {}",
            js_text(&e)
        )));
        return (Port { worker: None }, task);
    }
    (
        Port {
            worker: Some(worker),
        },
        task,
    )
}

// ---- the worker's side ----

/// The run a worker is training, and what the page asked of it.
struct WorkerRun {
    run: Run<'static>,
    paused: bool,
    stop: bool,
    probe_every: Option<usize>,
    scheduled: bool,
}

thread_local! {
    static RUN: RefCell<Option<WorkerRun>> = const { RefCell::new(None) };
}

fn scope() -> web_sys::DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

fn post(kind: &str, bytes: Option<&[u8]>, text: Option<&str>) {
    let msg = Object::new();
    let _ = Reflect::set(&msg, &"kind".into(), &kind.into());
    if let Some(b) = bytes {
        let _ = Reflect::set(&msg, &"bytes".into(), &Uint8Array::from(b).into());
    }
    if let Some(t) = text {
        let _ = Reflect::set(&msg, &"text".into(), &t.into());
    }
    let _ = scope().post_message(&msg);
}

fn post_event(e: Event) {
    post("event", Some(&wire::encode_event(&e)), None);
}

/// Runs in a worker: `first` is the page's `{module, job, data}`, `early` the commands that
/// arrived while the module was loading.
#[wasm_bindgen]
pub fn worker_main(first: JsValue, early: js_sys::Array) {
    std::panic::set_hook(Box::new(|info| {
        post("panic", None, Some(&info.to_string()));
    }));
    let job = match TrainJob::decode(&bytes_of(&first, "job")) {
        Ok(j) => j,
        Err(e) => return post("failed", None, Some(&e)),
    };
    let data = match wire::decode_dataset(&bytes_of(&first, "data")) {
        Ok(d) => d,
        Err(e) => return post("failed", None, Some(&e)),
    };
    // The worker lives for this one run; the page terminates it after the last message.
    let data: &'static Dataset = Box::leak(Box::new(data));
    let Some(run) = Run::start(&job.net, &job.hyper, data, &mut post_event) else {
        // `Failed` went out as an event; no model to send.
        return post("nomodel", None, None);
    };
    RUN.with(|r| {
        *r.borrow_mut() = Some(WorkerRun {
            run,
            paused: false,
            stop: false,
            probe_every: None,
            scheduled: false,
        })
    });
    let on_message =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(|m: web_sys::MessageEvent| {
            command(&field(&m.data(), "cmd"));
        });
    scope().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    for c in early.iter() {
        command(&field(&c, "cmd"));
    }
    schedule();
}

fn command(cmd: &JsValue) {
    let Some(c) = cmd.as_string() else { return };
    RUN.with(|r| {
        if let Some(w) = r.borrow_mut().as_mut() {
            match c.as_str() {
                "pause" => w.paused = true,
                "resume" => w.paused = false,
                "stop" => w.stop = true,
                p => {
                    if let Some(n) = p.strip_prefix("probe:").and_then(|n| n.parse().ok()) {
                        w.probe_every = Some(n);
                    }
                }
            }
        }
    });
    schedule();
}

/// Asks for one more batch on the next turn of the event loop (unless paused or already asked).
fn schedule() {
    let go = RUN.with(|r| match r.borrow_mut().as_mut() {
        Some(w) if !w.scheduled && (!w.paused || w.stop) => {
            w.scheduled = true;
            true
        }
        _ => false,
    });
    if go {
        let step = Closure::once_into_js(step);
        let _ =
            scope().set_timeout_with_callback_and_timeout_and_arguments_0(step.unchecked_ref(), 0);
    }
}

fn step() {
    let ended = RUN.with(|r| {
        let mut slot = r.borrow_mut();
        let w = slot.as_mut()?;
        w.scheduled = false;
        if w.paused && !w.stop {
            return Some(false);
        }
        let (stop, probe) = (w.stop, w.probe_every.take());
        let mut poll = |h: &mut Hyper| {
            if let Some(n) = probe {
                h.probe_every = n;
            }
            if stop {
                Control::Stop
            } else {
                Control::Continue
            }
        };
        Some(w.run.advance(&mut poll, &mut post_event) == Advance::Ended)
    });
    match ended {
        Some(true) => {
            let run = RUN.with(|r| r.borrow_mut().take());
            if let Some(w) = run {
                let mut model = w.run.into_model();
                post("model", Some(&wire::encode_model(&mut model)), None);
            }
        }
        Some(false) => schedule(),
        None => {}
    }
}
