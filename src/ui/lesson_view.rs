//! The lesson panel: text, diagram, "Try it", the check on the learner's runs, and navigation.
use super::{diagrams, markdown};
use crate::landscape::Landscape;
use crate::lessons::{self, Lesson, TryAction, check};
use crate::train::RunHistory;
use egui::{Key, RichText, Ui};
use serde::{Deserialize, Serialize};

/// What the learner did with the lesson panel that the rest of the app must act on.
#[derive(Clone, Debug, PartialEq)]
pub enum LessonAction {
    /// Try it on the lesson at this index.
    Try(usize, TryAction),
    /// Bring back the nets the last Try it replaced.
    Undo,
}

/// Where the learner is in the course (persisted).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LessonProgress {
    pub current: usize,
    /// Ids of lessons whose check passed, or (lessons without a check) whose Try it ran to the end.
    pub done: Vec<String>,
    /// Try it with the paper's settings instead of the one-minute size.
    pub full_size: bool,
}

/// What the lesson panel shows about the Try it in flight.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TryState {
    pub preparing: bool,
    pub can_undo: bool,
}

pub struct LessonView {
    pub lessons: Vec<Lesson>,
    parsed: Vec<Vec<lessons::markdown::Block>>,
    pub progress: LessonProgress,
}

impl LessonView {
    pub fn new(progress: LessonProgress) -> Self {
        let lessons = lessons::all();
        let parsed = lessons
            .iter()
            .map(|l| lessons::markdown::parse(&l.body))
            .collect();
        let mut progress = progress;
        progress.current = progress.current.min(lessons.len().saturating_sub(1));
        Self {
            lessons,
            parsed,
            progress,
        }
    }

    pub fn current(&self) -> Option<&Lesson> {
        self.lessons.get(self.progress.current)
    }

    pub fn go(&mut self, delta: isize) {
        let n = self.lessons.len() as isize;
        if n == 0 {
            return;
        }
        self.progress.current = (self.progress.current as isize + delta).clamp(0, n - 1) as usize;
    }

    /// Marks every lesson whose check is `check` (e.g. `exercise-conv`) as done: the builder
    /// grades exercises itself and reports the ones that passed.
    pub fn mark_check_done(&mut self, check: &str) {
        let Some(check) = lessons::Check::parse(check) else {
            return;
        };
        let ids: Vec<String> = self
            .lessons
            .iter()
            .filter(|l| l.check == check)
            .map(|l| l.id.clone())
            .collect();
        for id in ids {
            self.mark_done(&id);
        }
    }

    pub fn mark_done(&mut self, id: &str) {
        if !self.progress.done.iter().any(|d| d == id) {
            self.progress.done.push(id.to_string());
        }
    }

    /// Marks lesson `id` done if its run check passes on `runs` (the learner may be reading
    /// another lesson while its Try it trains).
    /// `surfaces` is the loss landscape on the Landscape tab, when it belongs to the session's
    /// runs (the `bowl` check judges it).
    pub fn update_done(&mut self, id: &str, runs: &[RunHistory], surfaces: Option<&Landscape>) {
        let passed = self.lessons.iter().any(|l| {
            l.id == id
                && !matches!(l.check, lessons::Check::None | lessons::Check::Exercise(_))
                && check::evaluate_with(l.check, runs, surfaces).is_some_and(|o| o.passed)
        });
        if passed {
            self.mark_done(id);
        }
    }

    /// Arrow keys and PageUp/PageDown move between lessons unless a text field has the keyboard.
    pub fn keyboard(&mut self, ctx: &egui::Context) {
        if ctx.egui_wants_keyboard_input() {
            return;
        }
        let (next, prev) = ctx.input(|i| {
            (
                i.key_pressed(Key::ArrowRight) || i.key_pressed(Key::PageDown),
                i.key_pressed(Key::ArrowLeft) || i.key_pressed(Key::PageUp),
            )
        });
        if next {
            self.go(1);
        } else if prev {
            self.go(-1);
        }
    }

    pub fn ui(
        &mut self,
        ui: &mut Ui,
        runs: &[RunHistory],
        surfaces: Option<&Landscape>,
        state: &TryState,
    ) -> Option<LessonAction> {
        let mut action = None;
        let n = self.lessons.len();
        if n == 0 {
            ui.label("No lessons could be read.");
            return None;
        }
        ui.horizontal(|ui| {
            if ui
                .add_enabled(self.progress.current > 0, egui::Button::new("◀ Previous"))
                .clicked()
            {
                self.go(-1);
            }
            ui.label(format!("{} / {n}", self.progress.current + 1));
            if ui
                .add_enabled(self.progress.current + 1 < n, egui::Button::new("Next ▶"))
                .clicked()
            {
                self.go(1);
            }
        });
        ui.collapsing("All lessons", |ui| {
            for i in 0..n {
                let l = &self.lessons[i];
                let mark = if self.progress.done.contains(&l.id) {
                    "✔"
                } else {
                    "  "
                };
                if ui
                    .selectable_label(
                        i == self.progress.current,
                        format!("{mark} {}. {}", i + 1, l.title),
                    )
                    .clicked()
                {
                    self.progress.current = i;
                }
            }
        });
        ui.separator();
        let idx = self.progress.current;
        let lesson = self.lessons[idx].clone();
        ui.heading(&lesson.title);
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| {
                diagrams::show(ui, lesson.diagram, 190.0);
                ui.add_space(6.0);
                ui.group(|ui| {
                    ui.horizontal_wrapped(|ui| {
                        let tip = if lesson.quick.is_some() {
                            format!(
                                "Trains at once: {} (sized to show its effect within a minute on this machine)",
                                lesson.try_line
                            )
                        } else {
                            format!("Opens: {}", lesson.try_line)
                        };
                        if ui
                            .add_enabled(
                                !state.preparing,
                                egui::Button::new(RichText::new("▶ Try it").strong()),
                            )
                            .on_hover_text(tip)
                            .clicked()
                        {
                            action = Some(LessonAction::Try(idx, lesson.try_action.clone()));
                        }
                        if ui
                            .add_enabled(state.can_undo, egui::Button::new("↶ Undo Try it"))
                            .on_hover_text("Stop the lesson's runs and bring back your own nets and runs")
                            .clicked()
                        {
                            action = Some(LessonAction::Undo);
                        }
                        if state.preparing {
                            ui.spinner();
                            ui.weak("sizing the experiment for this machine…");
                        }
                    });
                    ui.horizontal_wrapped(|ui| {
                        ui.label(RichText::new(&lesson.try_line).monospace().weak());
                        if lesson.quick.is_some() {
                            ui.checkbox(&mut self.progress.full_size, "full size")
                                .on_hover_text("The paper's settings instead of the one-minute size: 28x28 images, width 16, batch 128, three epochs on all 10,000 images. Takes minutes.");
                        }
                    });
                    match check::evaluate_with(lesson.check, runs, surfaces) {
                        Some(outcome) => {
                            if outcome.passed && !self.progress.done.contains(&lesson.id) {
                                self.progress.done.push(lesson.id.clone());
                                ui.ctx().request_repaint();
                            }
                            let icon = if outcome.passed { "✔" } else { "…" };
                            ui.label(format!("{icon} {}", outcome.message));
                        }
                        None => {
                            if self.progress.done.contains(&lesson.id) {
                                ui.label("✔ You ran this lesson's experiment to the end.");
                            } else if lesson.quick.is_some() {
                                ui.weak("Nothing to check here: run the Try it to the end to complete this lesson.");
                            } else {
                                ui.weak("Nothing to check here.");
                            }
                        }
                    }
                });
                markdown::show(ui, &self.parsed[idx]);
            });
        action
    }
}
