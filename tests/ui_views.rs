//! The tab registry and the one background-task type, seen from outside: a new tab is one
//! struct plus one `register` line, and work that fails in the background ends, in every view,
//! in a sentence on screen with the buttons usable again.
use egui_kittest::kittest::Queryable;
use resnet_lab::ui::ResNetLabApp;
use resnet_lab::ui::state::{AppState, Command};
use resnet_lab::ui::view::View;

mod common;
use common::step_until;

/// A throwaway tab: it reads the borrowed state and asks for another tab through the queue.
#[derive(Default)]
struct Notes {
    clicks: usize,
}

impl View for Notes {
    fn id(&self) -> &'static str {
        "notes"
    }
    fn title(&self) -> &'static str {
        "Notes"
    }
    fn ui(&mut self, ui: &mut egui::Ui, state: &mut AppState) {
        ui.label(format!("Runs so far: {}", state.scheduler.runs().len()));
        if ui.button("Back to training").clicked() {
            self.clicks += 1;
            state.send(Command::ShowTab("Train"));
        }
    }
    resnet_lab::view_any!();
}

#[test]
fn a_new_tab_is_one_struct_and_one_registry_line() {
    let mut app = ResNetLabApp::new_for_test();
    app.tabs.register(Box::new(Notes::default()));
    assert_eq!(
        app.tabs.ids(),
        ["Train", "Data", "Build", "Inspect", "Landscape", "notes"]
    );
    let mut h = common::harness(app, egui::vec2(1024.0, 700.0));
    h.run_steps(2);
    h.get_by_label("Notes").click();
    h.run_steps(2);
    assert_eq!(h.state().tabs.open, "notes");
    h.get_by_label("Runs so far: 0");
    h.get_by_label("Back to training").click();
    h.run_steps(3);
    assert_eq!(h.state().tabs.get::<Notes>().unwrap().clicks, 1);
    assert_eq!(h.state().tabs.open, "Train", "the command was carried out");
}

#[test]
fn failing_background_work_ends_in_a_sentence_in_each_view() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("experiment.json");
    std::fs::write(&garbage, b"{ this is not json").unwrap();

    let mut app = ResNetLabApp::new_for_test();
    app.train_mut().experiment_path = garbage.display().to_string();
    let mut h = common::harness(app, egui::vec2(1280.0, 800.0));
    h.run_steps(2);

    // Train: opening a file that is no experiment.
    h.get_by_label("Open experiment").click();
    step_until(&mut h, 30, "the failed open", |a| {
        a.state.scheduler.message.is_some()
    });
    let m = h.state().state.scheduler.message.clone().unwrap();
    assert!(m.contains("is not a saved experiment"), "{m}");
    h.get_by_label_contains("is not a saved experiment");
    // The button works again: a second try ends the same way instead of hanging.
    h.state_mut().state.scheduler.message = None;
    h.get_by_label("Open experiment").click();
    step_until(&mut h, 30, "the second failed open", |a| {
        a.state.scheduler.message.is_some()
    });

    // Landscape: a run folder that is not there.
    h.state_mut().tabs.show("Landscape");
    h.state_mut().landscape_mut().folder_path = dir.path().join("missing").display().to_string();
    h.run_steps(2);
    h.get_by_label("Open").click();
    step_until(&mut h, 30, "the failed folder", |a| {
        !a.landscape().is_opening() && a.landscape().message.is_some()
    });
    let m = h.state().landscape().message.clone().unwrap();
    assert!(m.contains("missing"), "the sentence names the folder: {m}");
    h.get_by_label_contains(&m[..m.len().min(40)]);
}
