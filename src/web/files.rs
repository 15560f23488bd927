//! Files into the page: the bytes of files dropped on it, read asynchronously (the only way a
//! browser reads them) and handed back through a channel the Data tab polls.
use crate::task::Wake;
use std::sync::mpsc::{Receiver, channel};

/// Every dropped file's name and bytes, or the first failure in a sentence.
pub type Dropped = Result<Vec<(String, Vec<u8>)>, String>;

/// Reads every dropped file's name and bytes; the receiver gets them all, or the first
/// failure in a sentence.
pub fn read_dropped(files: Vec<egui::DroppedFileHandle>, wake: Wake) -> Receiver<Dropped> {
    let (tx, rx) = channel();
    wasm_bindgen_futures::spawn_local(async move {
        let mut out = Vec::with_capacity(files.len());
        for f in &files {
            let name = f.path().display().to_string();
            match f.bytes_async().await {
                Ok(b) => out.push((name, b)),
                Err(e) => {
                    let _ = tx.send(Err(format!("{name}: {e}")));
                    wake();
                    return;
                }
            }
        }
        let _ = tx.send(Ok(out));
        wake();
    });
    rx
}
