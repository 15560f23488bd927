//! web/check.sh's entry: every lesson's Try it run in the page exactly as the app runs it
//! (`lessons::harness`), its nets training in Web Workers, judged by the app's checks and
//! claims; the same table `resnet-lab lessons --check` prints.
use crate::lessons::harness::{self, Attempt};
use crate::lessons::plan::Sizing;
use js_sys::{Object, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

/// Resolves after `ms` milliseconds (the page's timer; its event loop runs meanwhile).
async fn sleep(ms: i32) {
    let p = js_sys::Promise::new(&mut |resolve, _| {
        let g: web_sys::Window = js_sys::global().unchecked_into();
        let _ = g.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    let _ = JsFuture::from(p).await;
}

fn log(s: &str) {
    web_sys::console::log_1(&JsValue::from_str(s));
}

/// Runs the lessons `only` (ids or numbers, space-separated; empty: all) with each of `seeds`
/// at the smallest step count of their ranges; resolves to `{table, failed}` (`failed`: one
/// line per miss, empty when every lesson showed its effect within `budget` seconds and every
/// claim held, in every seed). Progress goes to the console.
#[wasm_bindgen]
pub async fn check_lessons(only: String, seeds: Vec<u32>, budget: f64) -> Result<JsValue, JsValue> {
    let only: Vec<String> = only.split_whitespace().map(String::from).collect();
    let lessons = harness::picked(&only);
    if lessons.is_empty() {
        return Err("no lesson with a training Try it matches".into());
    }
    log(&format!(
        "kernels: {}; budget {budget:.0} s per lesson; seeds {seeds:?}",
        crate::nn::ops::simd::active().name()
    ));
    let mut results = Vec::new();
    for (n, lesson) in lessons {
        let mut runs = Vec::new();
        for &seed in &seeds {
            log(&format!("lesson {n} ({}), seed {seed}…", lesson.id));
            let mut a = Attempt::begin(&lesson, seed as u64, Sizing::Least);
            let r = loop {
                sleep(50).await;
                if let Some(r) = a.tick() {
                    break r;
                }
            };
            let r = r.map_err(|e| JsValue::from_str(&format!("lesson {n}: {e}")))?;
            log(&harness::progress_line(&r));
            runs.push(r);
        }
        results.push((n, lesson, runs));
    }
    let (table, failed) = harness::report(&results, budget);
    let out = Object::new();
    let _ = Reflect::set(&out, &"table".into(), &table.into());
    let f: js_sys::Array = failed.iter().map(|s| JsValue::from_str(s)).collect();
    let _ = Reflect::set(&out, &"failed".into(), &f);
    Ok(out.into())
}
