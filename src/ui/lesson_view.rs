//! The lesson panel: text, diagram, "Try it", the check on the learner's runs, and navigation.
use super::{diagrams, markdown};
use crate::lessons::check::Outcome;
use crate::lessons::claims::{Claim, Verdict};
use crate::lessons::{self, Lesson, TryAction};
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
    /// The lesson whose text was on screen last frame: another one opens at its top.
    shown: Option<usize>,
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
            shown: None,
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

    /// The panel; `outcome` is the current lesson's check on its own runs and `claims` what
    /// its text predicts, judged on those runs (the app judges both).
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        outcome: Option<&Outcome>,
        claims: &[(Claim, Verdict)],
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
        let mut scroll = egui::ScrollArea::vertical()
            .id_salt("lesson-text")
            .auto_shrink([false, false]);
        if self.shown != Some(idx) {
            // A lesson opens at its top, with its diagram and Try it in view.
            scroll = scroll.vertical_scroll_offset(0.0);
            self.shown = Some(idx);
        }
        scroll.show(ui, |ui| {
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
                    match outcome {
                        Some(outcome) => {
                            let icon = if outcome.passed { "✔" } else { "…" };
                            ui.label(format!("{icon} {}", outcome.message));
                            claims_ui(ui, claims);
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

/// What the lesson's text predicts, each prediction judged on the learner's own runs once
/// they have trained their whole budget.
fn claims_ui(ui: &mut Ui, claims: &[(Claim, Verdict)]) {
    if claims.is_empty() || claims.iter().all(|(_, v)| v.holds.is_none()) {
        return;
    }
    ui.add_space(4.0);
    ui.label(RichText::new("What the lesson predicts, on your runs:").strong());
    // Two lines backing the same words with the same figures (a lower and an upper bound) show
    // once: the words hold when both do.
    let mut shown: Vec<(String, String, Option<bool>, String)> = Vec::new();
    for (c, v) in claims {
        match shown
            .iter_mut()
            .find(|s| s.0 == c.quote && s.1 == v.figures)
        {
            Some(s) => {
                s.2 = match (s.2, v.holds) {
                    (Some(a), Some(b)) => Some(a && b),
                    (Some(false), _) | (_, Some(false)) => Some(false),
                    _ => None,
                };
                s.3 = format!("{} and {}", s.3, c.text);
            }
            None => shown.push((c.quote.clone(), v.figures.clone(), v.holds, c.text.clone())),
        }
    }
    for (quote, figures, holds, text) in shown {
        let (icon, color) = match holds {
            Some(true) => ("✔", ui.visuals().text_color()),
            Some(false) => ("✖", ui.visuals().warn_fg_color),
            None => ("…", ui.visuals().weak_text_color()),
        };
        ui.label(RichText::new(format!("{icon} “{quote}”: {figures}")).color(color))
            .on_hover_text(format!("Checked as {text}"));
    }
}
