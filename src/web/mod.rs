//! The browser build's edges (wasm32 only): the page's entry point, training in Web Workers,
//! files in and out of the page. Everything else is the same crate as the desktop app.
//!
//! The page (web/index.html) compiles the wasm module once, keeps it on `globalThis` as
//! `resnetLabModule` and calls [`start`]; each training run gets a module worker
//! (web/worker.js) that instantiates the same module and calls [`worker_main`].
pub mod bench;
pub mod check;
pub mod files;
pub mod worker;

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

pub use worker::worker_main;

/// Where the tasks that are not training runs go in a page: on the page's own thread, at once.
/// (A browser's wasm has no threads; training runs have their own workers, see [`worker`].)
fn inline_executor(_what: &str, body: Box<dyn FnOnce() + Send>) -> Result<(), String> {
    body();
    Ok(())
}

/// Panics go to the console with their message (wasm aborts after a panic, so this is the
/// only trace a learner or a test sees).
fn console_panics() {
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&JsValue::from_str(&format!("ResNet Lab: {info}")));
    }));
}

/// The page's entry point: runs the app in the canvas with id `canvas_id`.
#[wasm_bindgen]
pub async fn start(canvas_id: String) -> Result<(), JsValue> {
    console_panics();
    crate::task::set_executor(inline_executor);
    let canvas = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(&canvas_id))
        .ok_or_else(|| JsValue::from_str(&format!("the page has no element `{canvas_id}`")))?
        .dyn_into::<web_sys::HtmlCanvasElement>()
        .map_err(|_| JsValue::from_str(&format!("`{canvas_id}` is not a canvas")))?;
    let runner = eframe::WebRunner::new();
    runner
        .start(
            canvas,
            eframe::WebOptions::default(),
            Box::new(|cc| Ok(Box::new(crate::ui::ResNetLabApp::new(cc, None)))),
        )
        .await
}
