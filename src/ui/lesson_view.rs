//! The lesson panel: text, diagram, "Try it", the check on the learner's runs, and navigation.
use super::{diagrams, markdown};
use crate::lessons::{self, Lesson, TryAction, check};
use crate::plot::charts::SweepPoint;
use crate::train::RunHistory;
use egui::{Key, RichText, Ui};
use serde::{Deserialize, Serialize};

/// What the learner did with the lesson panel that the rest of the app must act on.
#[derive(Clone, Debug, PartialEq)]
pub enum LessonAction {
    Try(TryAction),
}

/// Where the learner is in the course (persisted).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LessonProgress {
    pub current: usize,
    /// Ids of lessons whose check passed (or that have no check and were read).
    pub done: Vec<String>,
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

    /// Arrow keys and PageUp/PageDown move between lessons unless a text field has the keyboard.
    /// Marks every lesson whose check is `check` (e.g. `exercise-conv`) as done: the builder
    /// grades exercises itself and reports the ones that passed.
    pub fn mark_check_done(&mut self, check: &str) {
        let Some(check) = lessons::Check::parse(check) else {
            return;
        };
        for l in &self.lessons {
            if l.check == check && !self.progress.done.contains(&l.id) {
                self.progress.done.push(l.id.clone());
            }
        }
    }

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
        sweep: &[SweepPoint],
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
                        if ui
                            .button(RichText::new("▶ Try it").strong())
                            .on_hover_text(format!("Sets up: {}", lesson.try_line))
                            .clicked()
                        {
                            action = Some(LessonAction::Try(lesson.try_action.clone()));
                        }
                        ui.label(RichText::new(&lesson.try_line).monospace().weak());
                    });
                    match check::evaluate(lesson.check, runs, sweep) {
                        Some(outcome) => {
                            if outcome.passed && !self.progress.done.contains(&lesson.id) {
                                self.progress.done.push(lesson.id.clone());
                                ui.ctx().request_repaint();
                            }
                            let icon = if outcome.passed { "✔" } else { "…" };
                            ui.label(format!("{icon} {}", outcome.message));
                        }
                        None => {
                            // Nothing to check: reading it is what completes it.
                            if !self.progress.done.contains(&lesson.id) {
                                self.progress.done.push(lesson.id.clone());
                                ui.ctx().request_repaint();
                            }
                            ui.weak("This lesson has nothing to check: read, try, and move on.");
                        }
                    }
                });
                markdown::show(ui, &self.parsed[idx]);
            });
        action
    }
}
