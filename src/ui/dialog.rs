//! Native file dialogs, always run inside a background [`Job`](crate::task::Task): rfd's
//! portal backend blocks on D-Bus, and a dialog that panics or cannot open must cost one answer,
//! not the button that asked.

/// Asks for a folder; `None` covers both "cancelled" and "no dialog available here".
#[cfg(target_arch = "wasm32")]
pub fn pick_folder(_title: &str) -> Option<std::path::PathBuf> {
    // A page sees no folders: files come by the picker or by drag-and-drop (`crate::web`).
    None
}

/// Asks for a folder; `None` covers both "cancelled" and "no dialog available here".
#[cfg(not(target_arch = "wasm32"))]
pub fn pick_folder(title: &str) -> Option<std::path::PathBuf> {
    block_on(rfd::AsyncFileDialog::new().set_title(title).pick_folder())
        .map(|h| h.path().to_path_buf())
}

/// Polls a future to completion on this thread; rfd's portal futures need no runtime.
#[cfg(not(target_arch = "wasm32"))]
fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}
