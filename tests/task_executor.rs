//! The background-work executor is pluggable: a process (a browser build with its Web Workers)
//! installs its own before the first task, and every task, training runs included, runs there.
//! Its own test binary, because the executor is process-wide.
use resnet_lab::task::{self, Task, no_wake};
use std::sync::Mutex;

static STARTED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Records each task's name, then runs it on a thread of its own (as a worker pool would).
fn recording(what: &str, body: Box<dyn FnOnce() + Send>) -> Result<(), String> {
    STARTED.lock().unwrap().push(what.to_string());
    if what.contains("refuse") {
        return Err(format!("could not start {what}: no worker free"));
    }
    task::thread_executor(what, body)
}

#[test]
fn every_task_runs_on_the_installed_executor_and_a_refusal_is_a_sentence() {
    assert!(task::set_executor(recording));
    assert!(
        !task::set_executor(task::thread_executor),
        "once per process"
    );

    let t: Task<u32> = Task::run("add", no_wake(), || Ok(2 + 2));
    assert_eq!(t.wait(), Ok(4));

    let t: Task<u32, u32> = Task::spawn("count", no_wake(), |ctx| {
        for i in 0..3 {
            ctx.emit(i);
        }
        Ok(3)
    });
    let t2: Task<u32> = Task::run("refuse me", no_wake(), || Ok(1));
    assert_eq!(
        t2.wait(),
        Err("could not start refuse me: no worker free".into())
    );
    let mut t = t;
    let r = loop {
        if let Some(r) = t.poll() {
            break r;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    assert_eq!(r, Ok(3));
    assert_eq!(t.drain(), vec![0, 1, 2]);

    // A panic on the installed executor is a sentence too.
    let t: Task<u32> = Task::run("explode", no_wake(), || panic!("boom"));
    let e = t.wait().unwrap_err();
    assert!(e.contains("explode") && e.contains("boom"), "{e}");

    assert_eq!(
        *STARTED.lock().unwrap(),
        ["add", "count", "refuse me", "explode"]
    );
}
