//! The Build tab: a residual block drawn lane by lane with a shape on every edge, a whole-network
//! overview, graded exercises, and the way out to training.
//!
//! Every change to the block goes through `BlockDraft::apply`, so the view can never hold a draft
//! the logic would refuse; the painter only draws what `BlockDraft::report` says.
//!
//! The view is split by responsibility: this file holds the state, the edits and the page
//! layout; `canvas` paints the block and handles clicks and drags on it (its geometry comes from
//! the pure `builder::layout`); `inspector` is the side panel (block settings, the selected
//! layer, one-click fixes, check results); `network` is the Network page; `files` saves and opens
//! JSON on worker threads.
mod canvas;
mod files;
mod inspector;
mod network;

pub use network::bottleneck_stage;

use crate::builder::layout::Cursor;
use crate::builder::{BlockDraft, Edit, Exercise, ExerciseId, Grade, PaletteItem, Undo};
use crate::identity::NetChoice;
use crate::nn::presets::{self, ShortcutOption};
use crate::nn::{NetSpec, Shape};
use crate::ui::state::{AppState, Command};
use crate::ui::view::View;
use egui::{Color32, Key, KeyboardShortcut, Modifiers, RichText, Ui};
use serde::{Deserialize, Serialize};

/// What the builder asks the app to do; the app owns training and lesson progress.
#[derive(Clone, Debug, PartialEq)]
pub enum BuilderAction {
    Train(NetSpec),
    ExercisePassed(ExerciseId),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum BuilderPage {
    #[default]
    Block,
    Network,
}

/// Results of file work done off the UI thread.
enum FileJob {
    Opened {
        result: Result<NetSpec, String>,
        page: BuilderPage,
    },
    Saved(Result<String, String>),
}

#[derive(Clone, Debug, PartialEq)]
struct Message {
    text: String,
    error: bool,
}

/// What of the builder survives a restart, for the app's persisted state (the view itself holds
/// a channel and an undo history, which neither compare nor clone usefully).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BuilderSaved {
    pub page: BuilderPage,
    pub draft: BlockDraft,
    /// Index of the selected main-lane layer; palette items go right after it.
    pub selected: Option<usize>,
    /// The palette's target is the place after the addition (only g = ReLU goes there).
    pub after_add: bool,
    pub exercise: Option<ExerciseId>,
    /// Exercises already reported as passed, so each is announced to the app once.
    pub passed: Vec<ExerciseId>,
    /// The network being inspected, before the plain-twin toggle.
    pub net: NetSpec,
    pub plain: bool,
    pub option: ShortcutOption,
    pub width: usize,
    pub net_input: Shape,
    pub classes: usize,
    pub strip_zoom: f32,
    /// Depth of the paper preset shown, so changing the option or width rebuilds it.
    pub preset_depth: Option<usize>,
    /// Where "Save JSON" writes and "Open JSON" reads.
    pub path: String,
}

impl Default for BuilderSaved {
    fn default() -> Self {
        let width = 16;
        let classes = 10;
        Self {
            page: BuilderPage::Block,
            draft: BlockDraft::default(),
            selected: None,
            after_add: false,
            exercise: None,
            passed: Vec::new(),
            net: presets::cifar(20, true, ShortcutOption::A, width, classes)
                .unwrap_or_else(|| BlockDraft::default().to_net(classes)),
            plain: false,
            option: ShortcutOption::A,
            width,
            net_input: Shape::new(1, 28, 28),
            classes,
            strip_zoom: 1.0,
            preset_depth: Some(20),
            path: "network.json".into(),
        }
    }
}

#[derive(Default, Serialize, Deserialize)]
#[serde(default)]
pub struct BuilderView {
    /// Everything that survives a restart; the rest is per-session working state.
    #[serde(flatten)]
    pub state: BuilderSaved,
    #[serde(skip)]
    pub history: Undo<BlockDraft>,
    #[serde(skip)]
    pub grade: Option<Grade>,
    #[serde(skip)]
    message: Option<Message>,
    /// Consecutive tweaks of one field (dragging a value) make a single undo step.
    #[serde(skip)]
    last_edit_key: Option<String>,
    #[serde(skip)]
    file_job: Option<crate::task::Task<FileJob>>,
    /// Main-lane layer being dragged, and the slot it would land in.
    #[serde(skip)]
    drag: Option<(usize, usize)>,
}

const ERR: Color32 = Color32::from_rgb(220, 60, 60);
const OK: Color32 = Color32::from_rgb(60, 170, 90);
const SKIP: Color32 = Color32::from_rgb(60, 170, 120);

/// "1.23 M" style counts for parameters and FLOPs.
pub fn human(n: f64) -> String {
    if n >= 1e9 {
        format!("{:.2} G", n / 1e9)
    } else if n >= 1e6 {
        format!("{:.2} M", n / 1e6)
    } else if n >= 1e3 {
        format!("{:.1} k", n / 1e3)
    } else {
        format!("{n}")
    }
}

impl BuilderView {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn saved(&self) -> BuilderSaved {
        self.state.clone()
    }

    /// Restores a saved builder; a stale selection is dropped by the next frame's checks.
    pub fn from_saved(state: BuilderSaved) -> Self {
        Self {
            state,
            ..Self::default()
        }
    }

    /// Starts an exercise from its empty draft (lessons call this from "Try it").
    pub fn open_exercise(&mut self, id: ExerciseId) {
        let ex = Exercise::get(id);
        let fresh = ex.start();
        if fresh != self.state.draft {
            self.history.record(&self.state.draft);
        }
        self.state.draft = fresh;
        self.state.exercise = Some(id);
        self.grade = None;
        self.state.selected = None;
        self.state.after_add = false;
        self.drag = None;
        self.last_edit_key = None;
        self.state.page = BuilderPage::Block;
        self.message = None;
    }

    /// Whether a file is being read or written.
    pub fn is_busy(&self) -> bool {
        self.file_job.is_some()
    }

    /// The network the overview shows: the chosen one, or its plain twin.
    pub fn shown_net(&self) -> NetSpec {
        if self.state.plain {
            presets::plain_twin(&self.state.net)
        } else {
            self.state.net.clone()
        }
    }

    /// Applies one edit to the draft with undo; `key` names a field so a drag is one undo step.
    pub fn edit(&mut self, e: &Edit, key: Option<String>) {
        let before = self.state.draft.clone();
        match self.state.draft.apply(e) {
            Ok(()) => {
                if self.state.draft != before && (key.is_none() || key != self.last_edit_key) {
                    self.history.record(&before);
                }
                self.last_edit_key = key;
                self.message = None;
                self.grade = None;
                if let Some(s) = self.state.selected
                    && s >= self.state.draft.body.len()
                {
                    self.state.selected = self.state.draft.body.len().checked_sub(1);
                }
            }
            Err(err) => {
                self.last_edit_key = None;
                self.message = Some(Message {
                    text: err.to_string(),
                    error: true,
                });
            }
        }
    }

    pub fn undo(&mut self) {
        if self.history.undo(&mut self.state.draft) {
            self.after_history();
        }
    }

    pub fn redo(&mut self) {
        if self.history.redo(&mut self.state.draft) {
            self.after_history();
        }
    }

    fn after_history(&mut self) {
        self.last_edit_key = None;
        self.grade = None;
        self.drag = None;
        if self
            .state
            .selected
            .is_some_and(|s| s >= self.state.draft.body.len())
        {
            self.state.selected = self.state.draft.body.len().checked_sub(1);
        }
    }

    /// Where a palette item goes in the main path: after the selected layer, or at the end.
    fn insert_at(&self) -> usize {
        self.state
            .selected
            .map_or(self.state.draft.body.len(), |s| {
                (s + 1).min(self.state.draft.body.len())
            })
    }

    /// Where the palette puts its next item: into the main path, or after the addition.
    pub fn cursor(&self) -> Cursor {
        if self.state.after_add {
            Cursor::AfterAdd
        } else {
            Cursor::Body(self.insert_at())
        }
    }

    /// Points the palette at the place after the addition (clicking the + node does this).
    pub fn aim_after_add(&mut self) {
        self.state.after_add = true;
        self.state.selected = None;
    }

    /// Selects main-lane layer `i` (or clears the selection), aiming the palette after it.
    pub fn select(&mut self, i: Option<usize>) {
        self.state.selected = i;
        self.state.after_add = false;
    }

    fn info(&mut self, text: impl Into<String>) {
        self.message = Some(Message {
            text: text.into(),
            error: false,
        });
    }

    /// Adds a palette item where the cursor points. After the addition only g = ReLU fits; in
    /// an exercise, once the main path has as many layers as the task asks for, the cursor moves
    /// after the +, so the learner's next ReLU becomes g rather than a ReLU before the +.
    pub fn add(&mut self, item: PaletteItem) {
        if self.state.after_add {
            if item != PaletteItem::ReLU {
                self.message = Some(Message {
                    text: format!(
                        "Only g = ReLU goes after the addition. Click a layer to insert the {} into the main path.",
                        item.label()
                    ),
                    error: true,
                });
            } else if self.state.draft.relu_after {
                self.info("g = ReLU is already after the addition.");
            } else {
                self.edit(&Edit::SetReluAfter(true), None);
                self.info("Added g = ReLU after the addition: a[l+2] = g(z[l+2] + a[l]).");
            }
            return;
        }
        let at = self.insert_at();
        let layer = item.layer(self.state.draft.channels_at(at));
        self.edit(&Edit::Insert { at, layer }, None);
        if self.state.draft.body.len() > at && self.message.is_none() {
            self.state.selected = Some(at);
            let len = self.state.draft.body.len();
            if let Some(id) = self.state.exercise
                && len == Exercise::get(id).body_len()
                && at + 1 == len
                && !self.state.draft.relu_after
            {
                self.aim_after_add();
                self.info(format!(
                    "The main path has its {len} layers. The palette now adds after the + (g = ReLU); click a layer to insert elsewhere."
                ));
            }
        }
    }

    /// Applies `edits` as one undo step (a one-click fix may need several).
    pub fn edit_many(&mut self, edits: &[Edit]) {
        let before = self.state.draft.clone();
        let mut d = before.clone();
        for e in edits {
            if let Err(err) = d.apply(e) {
                self.last_edit_key = None;
                self.message = Some(Message {
                    text: err.to_string(),
                    error: true,
                });
                return;
            }
        }
        if d != before {
            self.history.record(&before);
        }
        self.state.draft = d;
        self.last_edit_key = None;
        self.message = None;
        self.grade = None;
        self.after_history();
    }

    /// Regrades the current exercise (after a fix, so the remaining problems show at once).
    fn regrade(&mut self, action: &mut Option<BuilderAction>) {
        let Some(id) = self.state.exercise else {
            return;
        };
        let g = Exercise::get(id).grade(&self.state.draft);
        if g.passed() && !self.state.passed.contains(&id) {
            self.state.passed.push(id);
            *action = Some(BuilderAction::ExercisePassed(id));
        }
        self.grade = Some(g);
    }

    /// One frame of the tab; what the learner asked for outside it.
    pub fn frame(&mut self, ui: &mut Ui) -> Option<BuilderAction> {
        let mut action = None;
        self.poll_files();
        self.keyboard(ui);
        ui.horizontal_wrapped(|ui| {
            ui.selectable_value(&mut self.state.page, BuilderPage::Block, "Block editor");
            ui.selectable_value(&mut self.state.page, BuilderPage::Network, "Network");
            ui.separator();
            self.file_row(ui);
        });
        let line = self.message.as_ref().map(|m| {
            let c = if m.error {
                ui.visuals().error_fg_color
            } else {
                ui.visuals().text_color()
            };
            RichText::new(&m.text).color(c)
        });
        crate::ui::notice_line(ui, line);
        ui.separator();
        match self.state.page {
            BuilderPage::Block => self.block_page(ui, &mut action),
            BuilderPage::Network => self.network_page(ui, &mut action),
        }
        action
    }

    fn keyboard(&mut self, ui: &Ui) {
        if self.state.page != BuilderPage::Block || ui.ctx().egui_wants_keyboard_input() {
            return;
        }
        // Shift first: egui matches Ctrl+Z logically, so it would also swallow Ctrl+Shift+Z.
        let redo = KeyboardShortcut::new(Modifiers::COMMAND | Modifiers::SHIFT, Key::Z);
        let redo_y = KeyboardShortcut::new(Modifiers::COMMAND, Key::Y);
        let undo = KeyboardShortcut::new(Modifiers::COMMAND, Key::Z);
        let (r, u) = ui.ctx().input_mut(|i| {
            let r = i.consume_shortcut(&redo) || i.consume_shortcut(&redo_y);
            let u = !r && i.consume_shortcut(&undo);
            (r, u)
        });
        if r {
            self.redo();
        } else if u {
            self.undo();
        }
        if let Some(at) = self.state.selected
            && at < self.state.draft.body.len()
            && ui
                .ctx()
                .input_mut(|i| i.consume_key(Modifiers::NONE, Key::Delete))
        {
            self.delete(at);
        }
    }

    fn delete(&mut self, at: usize) {
        self.edit(&Edit::Remove { at }, None);
        self.state.after_add = false;
        self.state.selected = if self.state.draft.body.is_empty() {
            None
        } else {
            Some(at.saturating_sub(1))
        };
    }

    // ---------------------------------------------------------------- block page

    fn block_page(&mut self, ui: &mut Ui, action: &mut Option<BuilderAction>) {
        self.exercise_bar(ui, action);
        self.palette(ui);
        ui.separator();
        let report = self.state.draft.report();
        let avail = ui.available_size();
        // The side panel keeps a readable width; the canvas takes the rest and lays itself out
        // for it (builder::layout). Too narrow for both: the panel first, the canvas below.
        let side = (avail.x * 0.42).clamp(250.0, 380.0);
        let canvas_w = avail.x - side - 14.0;
        if canvas_w >= crate::builder::layout::MIN_WIDTH {
            ui.horizontal_top(|ui| {
                ui.vertical(|ui| {
                    ui.set_width(canvas_w);
                    egui::ScrollArea::vertical()
                        .id_salt("block-canvas")
                        .max_height(avail.y)
                        .auto_shrink([false, false])
                        .show(ui, |ui| self.canvas(ui, &report, canvas_w, avail.y));
                });
                ui.separator();
                ui.vertical(|ui| {
                    ui.set_width(side);
                    egui::ScrollArea::vertical()
                        .id_salt("block-inspector")
                        .max_height(avail.y)
                        .auto_shrink([false, false])
                        .show(ui, |ui| self.inspector(ui, &report, action));
                });
            });
        } else {
            egui::ScrollArea::both()
                .id_salt("block-stacked")
                .auto_shrink([false, false])
                .show(ui, |ui| {
                    self.inspector(ui, &report, action);
                    ui.separator();
                    self.canvas(ui, &report, avail.x, avail.y);
                });
        }
    }

    /// Undo / Redo and the palette, with where the next layer goes in words.
    fn palette(&mut self, ui: &mut Ui) {
        ui.horizontal_wrapped(|ui| {
            if ui
                .add_enabled(self.history.can_undo(), egui::Button::new("Undo"))
                .on_hover_text("Ctrl+Z")
                .clicked()
            {
                self.undo();
            }
            if ui
                .add_enabled(self.history.can_redo(), egui::Button::new("Redo"))
                .on_hover_text("Ctrl+Shift+Z")
                .clicked()
            {
                self.redo();
            }
            ui.separator();
            ui.label("Add:");
            let after_add = self.state.after_add;
            for item in PaletteItem::ALL {
                let fits = !after_add || item == PaletteItem::ReLU;
                let tip = if after_add && item == PaletteItem::ReLU {
                    "Add g = ReLU after the addition"
                } else {
                    "Insert where the yellow tick is: after the selected layer, or at the end of the main path"
                };
                if ui
                    .add_enabled(fits, egui::Button::new(item.label()))
                    .on_hover_text(tip)
                    .on_disabled_hover_text(
                        "Only g = ReLU goes after the addition: click a layer to insert this into the main path",
                    )
                    .clicked()
                {
                    self.add(item);
                }
            }
        });
        let n = self.state.draft.body.len();
        let where_to = match self.cursor() {
            Cursor::AfterAdd => "after the + (only g = ReLU goes there)".to_string(),
            Cursor::Body(0) if n > 0 => "first in the main path".to_string(),
            Cursor::Body(at) if at >= n => "at the end of the main path, before the +".to_string(),
            Cursor::Body(at) => format!("after layer {at}"),
        };
        ui.weak(format!("Next layer goes {where_to} (the yellow tick)."));
    }

    fn exercise_bar(&mut self, ui: &mut Ui, action: &mut Option<BuilderAction>) {
        ui.horizontal_wrapped(|ui| {
            let l = ui.label("Exercise");
            let mut choice = self.state.exercise;
            let current = choice.map_or("Free build", |id| Exercise::get(id).title);
            egui::ComboBox::from_id_salt("builder-exercise")
                .selected_text(current)
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut choice, None, "Free build");
                    for id in ExerciseId::ALL {
                        ui.selectable_value(&mut choice, Some(id), Exercise::get(id).title);
                    }
                })
                .response
                .labelled_by(l.id);
            if choice != self.state.exercise {
                match choice {
                    Some(id) => self.open_exercise(id),
                    None => {
                        self.state.exercise = None;
                        self.grade = None;
                    }
                }
            }
            if self.state.exercise.is_some() {
                if ui
                    .button("Check")
                    .on_hover_text("Grade the block against the task")
                    .clicked()
                {
                    self.regrade(action);
                }
                if ui
                    .button("Restart")
                    .on_hover_text("Start this exercise again from an empty block")
                    .clicked()
                    && let Some(id) = self.state.exercise
                {
                    self.open_exercise(id);
                }
                // The verdict in one line here; the details and fixes sit at the top of the
                // side panel, beside the block, where they never push it off the screen.
                match &self.grade {
                    Some(g) if g.passed() => {
                        ui.label(RichText::new("✔ all checks pass").color(OK).strong());
                    }
                    Some(g) => {
                        ui.label(
                            RichText::new(format!(
                                "✖ {} to fix, listed beside the block",
                                g.problems.len()
                            ))
                            .color(ui.visuals().error_fg_color),
                        );
                    }
                    None => {}
                }
            }
        });
        if let Some(id) = self.state.exercise {
            ui.label(Exercise::get(id).task);
        }
    }
}

impl View for BuilderView {
    fn id(&self) -> &'static str {
        "Build"
    }

    fn title(&self) -> &'static str {
        "Build"
    }

    fn hover(&self) -> &'static str {
        "Build a residual block or a whole net, with a shape on every edge"
    }

    fn ui(&mut self, ui: &mut Ui, state: &mut AppState) {
        match self.frame(ui) {
            Some(BuilderAction::Train(spec)) => {
                let name = if spec.name.is_empty() {
                    "built net".to_string()
                } else {
                    spec.name.clone()
                };
                // The built net and its plain twin, so the skip connections' effect shows at once.
                let plain = presets::plain_twin(&spec);
                let mut nets = Vec::new();
                if plain.layers != spec.layers {
                    nets.push(NetChoice::Built {
                        spec: plain,
                        twin: true,
                    });
                }
                nets.push(NetChoice::Built { spec, twin: false });
                state.send(Command::SetUpNets {
                    nets,
                    message: format!(
                        "{name} (and its plain twin) came from the Build tab: press ▶ Start."
                    ),
                });
            }
            Some(BuilderAction::ExercisePassed(id)) => state.send(Command::ExercisePassed(id)),
            None => {}
        }
    }

    crate::view_any!();
}
