//! The Build tab: a residual block drawn lane by lane with a shape on every edge, a whole-network
//! overview, graded exercises, and the way out to training.
//!
//! Every change to the block goes through `BlockDraft::apply`, so the view can never hold a draft
//! the logic would refuse; the painter only draws what `BlockDraft::report` says.
use crate::builder::{
    BlockDraft, BlockReport, Edit, Exercise, ExerciseId, Grade, PaletteItem, Undo,
};
use crate::nn::presets::{self, PAPER_DEPTHS, ShortcutOption};
use crate::nn::{BlockSpec, LayerInfo, LayerSpec, NetSpec, Shape, Shortcut, SpecError};
use egui::{
    Align2, Color32, FontId, Key, KeyboardShortcut, Modifiers, Painter, Pos2, Rect, RichText,
    Sense, Stroke, StrokeKind, Ui, pos2, vec2,
};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, channel};

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
    file_job: Option<Receiver<FileJob>>,
    /// Main-lane layer being dragged, and the slot it would land in.
    #[serde(skip)]
    drag: Option<(usize, usize)>,
}

// Lane geometry of the block canvas, in points.
const CANVAS_W: f32 = 600.0;
const MAIN_X: f32 = 265.0;
const MAIN_W: f32 = 200.0;
const SHORT_X: f32 = 490.0;
const SHORT_W: f32 = 170.0;
const BOX_H: f32 = 30.0;
const GAP: f32 = 30.0;

fn layer_color(l: &LayerSpec) -> Color32 {
    match l {
        LayerSpec::Conv { .. } => Color32::from_rgb(70, 130, 220),
        LayerSpec::BatchNorm => Color32::from_rgb(150, 110, 210),
        LayerSpec::ReLU => Color32::from_rgb(225, 140, 50),
        LayerSpec::Block(_) => Color32::from_rgb(60, 170, 120),
        _ => Color32::GRAY,
    }
}

const ERR: Color32 = Color32::from_rgb(220, 60, 60);
const OK: Color32 = Color32::from_rgb(60, 170, 90);
const SKIP: Color32 = Color32::from_rgb(60, 170, 120);

/// An arrow with a fixed-size head: egui's scales its head with the length.
fn arrow(p: &Painter, from: Pos2, to: Pos2, stroke: Stroke) {
    let v = to - from;
    let len = v.length();
    if len < 1.0 {
        return;
    }
    let dir = v / len;
    let normal = vec2(-dir.y, dir.x);
    let head = 7.0_f32.min(len);
    let base = to - dir * head;
    p.line_segment([from, to], stroke);
    p.line_segment([to, base + normal * head * 0.5], stroke);
    p.line_segment([to, base - normal * head * 0.5], stroke);
}

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

/// The short text inside a main-lane box.
fn box_text(l: &LayerSpec) -> String {
    match l {
        LayerSpec::Conv {
            out,
            k,
            stride,
            pad,
        } => {
            let s = if *stride == 1 {
                String::new()
            } else {
                format!(" / {stride}")
            };
            format!("Conv {k}x{k}{s}, {out} filters, pad {pad}")
        }
        other => other.label(),
    }
}

/// The net of the bottleneck preset: one stage of ResNet-50 style blocks, small enough to train.
pub fn bottleneck_stage(classes: usize) -> NetSpec {
    let named = |mut b: BlockSpec, name: &str| {
        b.name = name.into();
        LayerSpec::Block(b)
    };
    NetSpec {
        name: "bottleneck stage".into(),
        layers: vec![
            LayerSpec::Conv {
                out: 16,
                k: 3,
                stride: 1,
                pad: 1,
            },
            LayerSpec::BatchNorm,
            LayerSpec::ReLU,
            named(presets::bottleneck_conv(16, 64, 2), "stage1.block1"),
            LayerSpec::ReLU,
            named(presets::bottleneck_identity(64, 16), "stage1.block2"),
            LayerSpec::ReLU,
            named(presets::bottleneck_identity(64, 16), "stage1.block3"),
            LayerSpec::ReLU,
            LayerSpec::GlobalAvgPool,
            LayerSpec::Linear { out: classes },
        ],
    }
}

/// Layers of a net grouped for the overview: the stem, one group per stage prefix, the head.
fn group_layers(layers: &[LayerInfo]) -> Vec<(String, Vec<&LayerInfo>)> {
    let mut groups: Vec<(String, Vec<&LayerInfo>)> = Vec::new();
    for l in layers {
        let key = if l.name.contains('.') {
            l.name.split('.').next().unwrap_or_default().to_string()
        } else if matches!(l.kind.as_str(), "GlobalAvgPool") || l.kind.starts_with("Linear") {
            "head".to_string()
        } else if l.kind.starts_with("Block") {
            l.name.clone()
        } else if let Some((name, _)) = groups.last() {
            // A ReLU after a block belongs with that block's stage.
            name.clone()
        } else {
            "stem".to_string()
        };
        match groups.last_mut() {
            Some((name, v)) if *name == key => v.push(l),
            _ => groups.push((key, vec![l])),
        }
    }
    groups
}

/// The block inside an opened network, with the shape it receives and whether a ReLU follows it.
fn block_from_net(net: &NetSpec, input: Shape) -> Result<BlockDraft, String> {
    let Some(at) = net
        .layers
        .iter()
        .position(|l| matches!(l, LayerSpec::Block(_)))
    else {
        return Err("That network has no residual block to open in the block editor; open it in the Network page instead.".into());
    };
    let LayerSpec::Block(b) = &net.layers[at] else {
        return Err("internal: the block moved".into());
    };
    let block_input = if at == 0 {
        input
    } else {
        NetSpec {
            name: String::new(),
            layers: net.layers[..at].to_vec(),
        }
        .infer(input)
        .map_err(|e| format!("The layers before the block do not compute: {e}"))?
        .output
    };
    let relu_after = matches!(net.layers.get(at + 1), Some(LayerSpec::ReLU));
    BlockDraft::from_spec(b, block_input, relu_after)
        .map_err(|e| format!("The block cannot be edited here: {e}"))
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

    /// Where a palette item goes: after the selected layer, or at the end.
    fn insert_at(&self) -> usize {
        self.state
            .selected
            .map_or(self.state.draft.body.len(), |s| {
                (s + 1).min(self.state.draft.body.len())
            })
    }

    pub fn add(&mut self, item: PaletteItem) {
        let at = self.insert_at();
        let layer = item.layer(self.state.draft.channels_at(at));
        self.edit(&Edit::Insert { at, layer }, None);
        if self.state.draft.body.len() > at && self.message.is_none() {
            self.state.selected = Some(at);
        }
    }

    pub fn ui(&mut self, ui: &mut Ui) -> Option<BuilderAction> {
        let mut action = None;
        self.poll_files();
        self.keyboard(ui);
        ui.horizontal(|ui| {
            ui.selectable_value(&mut self.state.page, BuilderPage::Block, "Block editor");
            ui.selectable_value(&mut self.state.page, BuilderPage::Network, "Network");
            ui.separator();
            self.file_row(ui);
        });
        if let Some(m) = &self.message {
            let c = if m.error {
                ui.visuals().error_fg_color
            } else {
                ui.visuals().text_color()
            };
            ui.label(RichText::new(&m.text).color(c));
        }
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
        self.state.selected = if self.state.draft.body.is_empty() {
            None
        } else {
            Some(at.saturating_sub(1))
        };
    }

    // ---------------------------------------------------------------- files

    fn file_row(&mut self, ui: &mut Ui) {
        let l = ui.label("File");
        ui.add(
            egui::TextEdit::singleline(&mut self.state.path)
                .desired_width(220.0)
                .hint_text("network.json"),
        )
        .labelled_by(l.id);
        let busy = self.file_job.is_some();
        let what = match self.state.page {
            BuilderPage::Block => "the block, inside a small trainable net",
            BuilderPage::Network => "the network as shown",
        };
        if ui
            .add_enabled(!busy, egui::Button::new("Save JSON"))
            .on_hover_text(format!("Write {what} as JSON"))
            .clicked()
        {
            self.start_save(ui.ctx());
        }
        if ui
            .add_enabled(!busy, egui::Button::new("Open JSON"))
            .on_hover_text("Read a network JSON (the block page takes its first block)")
            .clicked()
        {
            self.start_open(ui.ctx());
        }
        if busy {
            ui.spinner();
        }
    }

    fn start_save(&mut self, ctx: &egui::Context) {
        let spec = match self.state.page {
            BuilderPage::Block => self.state.draft.to_net(self.state.classes),
            BuilderPage::Network => self.shown_net(),
        };
        let path = PathBuf::from(self.state.path.trim());
        let (tx, rx) = channel();
        let ctx = ctx.clone();
        std::thread::spawn(move || {
            let r = if path.as_os_str().is_empty() {
                Err("Type a file name to save to.".to_string())
            } else {
                crate::util::write_atomic(&path, spec.to_json().as_bytes())
                    .map(|()| format!("Saved {}.", path.display()))
                    .map_err(|e| format!("Could not save {}: {e}", path.display()))
            };
            let _ = tx.send(FileJob::Saved(r));
            ctx.request_repaint();
        });
        self.file_job = Some(rx);
    }

    fn start_open(&mut self, ctx: &egui::Context) {
        let path = PathBuf::from(self.state.path.trim());
        let page = self.state.page;
        let (tx, rx) = channel();
        let ctx = ctx.clone();
        std::thread::spawn(move || {
            let result = crate::util::read_regular_text(&path, 16 << 20, "a network file")
                .map_err(|e| format!("Could not open {}: {e}", path.display()))
                .and_then(|s| {
                    NetSpec::from_json(&s)
                        .map_err(|e| format!("{} is not a network JSON: {e}", path.display()))
                });
            let _ = tx.send(FileJob::Opened { result, page });
            ctx.request_repaint();
        });
        self.file_job = Some(rx);
    }

    fn poll_files(&mut self) {
        let Some(rx) = &self.file_job else { return };
        let job = match rx.try_recv() {
            Ok(j) => j,
            Err(std::sync::mpsc::TryRecvError::Empty) => return,
            Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                self.file_job = None;
                self.message = Some(Message {
                    text: "The file job stopped without an answer.".into(),
                    error: true,
                });
                return;
            }
        };
        self.file_job = None;
        self.message = Some(match job {
            FileJob::Saved(Ok(t)) => Message {
                text: t,
                error: false,
            },
            FileJob::Saved(Err(t)) | FileJob::Opened { result: Err(t), .. } => Message {
                text: t,
                error: true,
            },
            FileJob::Opened {
                result: Ok(spec),
                page: BuilderPage::Network,
            } => {
                let text = match spec.infer(self.state.net_input) {
                    Ok(_) => format!("Opened {}.", spec.name),
                    Err(e) => format!("Opened {}, but it does not compute: {e}", spec.name),
                };
                let error = spec.infer(self.state.net_input).is_err();
                if let Some(c) = spec.classes() {
                    self.state.classes = c;
                }
                self.state.net = spec;
                self.state.plain = false;
                self.state.preset_depth = None;
                Message { text, error }
            }
            FileJob::Opened {
                result: Ok(spec),
                page: BuilderPage::Block,
            } => match block_from_net(&spec, self.state.net_input) {
                Ok(d) => {
                    self.history.record(&self.state.draft);
                    self.state.draft = d;
                    self.state.selected = None;
                    self.grade = None;
                    self.last_edit_key = None;
                    match self.state.draft.report().error {
                        Some(e) => Message {
                            text: format!("Opened the block, but it does not compute: {e}"),
                            error: true,
                        },
                        None => Message {
                            text: "Opened the block.".into(),
                            error: false,
                        },
                    }
                }
                Err(t) => Message {
                    text: t,
                    error: true,
                },
            },
        });
    }

    // ---------------------------------------------------------------- block page

    fn block_page(&mut self, ui: &mut Ui, action: &mut Option<BuilderAction>) {
        self.exercise_bar(ui, action);
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
            let at = self.insert_at();
            ui.label("Add:").on_hover_text(if at == 0 {
                "New layers go first".to_string()
            } else if at == self.state.draft.body.len() {
                "New layers go at the end (the yellow tick)".to_string()
            } else {
                format!("New layers go after layer {at} (the yellow tick)")
            });
            for item in PaletteItem::ALL {
                if ui
                    .button(item.label())
                    .on_hover_text("Insert after the selected layer, or at the end")
                    .clicked()
                {
                    self.add(item);
                }
            }
        });
        ui.separator();
        let report = self.state.draft.report();
        let h = ui.available_height();
        ui.horizontal_top(|ui| {
            ui.vertical(|ui| {
                ui.set_width(CANVAS_W);
                egui::ScrollArea::vertical()
                    .id_salt("block-canvas")
                    .max_height(h)
                    .auto_shrink([false, false])
                    .show(ui, |ui| self.canvas(ui, &report));
            });
            ui.separator();
            ui.vertical(|ui| {
                egui::ScrollArea::vertical()
                    .id_salt("block-inspector")
                    .max_height(h)
                    .show(ui, |ui| self.inspector(ui, &report, action));
            });
        });
    }

    fn exercise_bar(&mut self, ui: &mut Ui, action: &mut Option<BuilderAction>) {
        ui.horizontal(|ui| {
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
            if let Some(id) = self.state.exercise {
                if ui
                    .button("Check")
                    .on_hover_text("Grade the block against the task")
                    .clicked()
                {
                    let g = Exercise::get(id).grade(&self.state.draft);
                    if g.passed() && !self.state.passed.contains(&id) {
                        self.state.passed.push(id);
                        *action = Some(BuilderAction::ExercisePassed(id));
                    }
                    self.grade = Some(g);
                }
                if ui
                    .button("Restart")
                    .on_hover_text("Start this exercise again from an empty block")
                    .clicked()
                {
                    self.open_exercise(id);
                }
            }
        });
        if let Some(id) = self.state.exercise {
            ui.label(Exercise::get(id).task);
            if let Some(g) = &self.grade {
                if g.passed() {
                    ui.label(
                        RichText::new("✔ Passed: every shape, the shortcut and the order of layers are right.")
                            .color(OK)
                            .strong(),
                    );
                } else {
                    ui.label(
                        RichText::new(format!("Not yet: {} problem(s).", g.problems.len()))
                            .color(ui.visuals().error_fg_color)
                            .strong(),
                    );
                    // A long list must not push the block off the screen.
                    egui::ScrollArea::vertical()
                        .id_salt("grade-problems")
                        .max_height(110.0)
                        .show(ui, |ui| {
                            for p in &g.problems {
                                ui.label(format!("• {p}"));
                            }
                        });
                }
            }
        }
    }

    /// Paints the two lanes and makes each main-lane box clickable and draggable.
    fn canvas(&mut self, ui: &mut Ui, report: &BlockReport) {
        let d = &self.state.draft;
        let n = d.body.len();
        let scaled = d.residual_scale != 1.0;
        let rows = n as f32 + 3.0 + if scaled { 1.0 } else { 0.0 };
        let height = 20.0 + rows * (BOX_H + GAP) + 40.0;
        let (rect, _) = ui.allocate_exact_size(vec2(CANVAS_W, height), Sense::hover());
        let p = ui.painter_at(rect);
        let fg = ui.visuals().strong_text_color();
        let weak = ui.visuals().weak_text_color();
        let x0 = rect.left();
        let mx = x0 + MAIN_X;
        let sx = x0 + SHORT_X;
        let mismatch = matches!(report.error, Some(SpecError::ShortcutMismatch { .. }));
        // A layer error stops the shapes at the failing layer.
        let failed_layer = match &report.error {
            Some(SpecError::BadLayer { .. }) if n > 0 && report.edges.len() <= n => {
                Some(report.edges.len() - 1)
            }
            _ => None,
        };
        let mut y = rect.top() + 10.0;
        let pill = |p: &Painter, y: f32, text: &str| {
            let r = Rect::from_center_size(pos2(mx, y + 12.0), vec2(90.0, 24.0));
            p.rect_filled(r, 12.0, ui.visuals().faint_bg_color);
            p.rect_stroke(r, 12.0, Stroke::new(1.0, weak), StrokeKind::Inside);
            p.text(
                r.center(),
                Align2::CENTER_CENTER,
                text,
                FontId::proportional(13.0),
                fg,
            );
            r
        };
        let input_rect = pill(&p, y, "input");
        y = input_rect.bottom();
        let split_y = y + GAP * 0.45;
        let mut shape_labels: Vec<(Rect, String, bool, egui::Align)> = Vec::new();
        let left_label = |y: f32| Rect::from_min_max(pos2(mx - 160.0, y), pos2(mx - 10.0, y + GAP));
        let mut boxes: Vec<Rect> = Vec::new();
        for (i, layer) in d.body.iter().enumerate() {
            let shape = report
                .edges
                .get(i)
                .map_or("?".to_string(), |s| s.to_string());
            shape_labels.push((left_label(y), shape, false, egui::Align::RIGHT));
            arrow(
                &p,
                pos2(mx, y),
                pos2(mx, y + GAP - 1.0),
                Stroke::new(1.5, fg),
            );
            y += GAP;
            let r = Rect::from_center_size(pos2(mx, y + BOX_H / 2.0), vec2(MAIN_W, BOX_H));
            boxes.push(r);
            let c = layer_color(layer);
            let selected = self.state.selected == Some(i);
            let bad = failed_layer == Some(i);
            let dragged = self.drag.is_some_and(|(from, _)| from == i);
            let fill = if dragged {
                c.gamma_multiply(0.1)
            } else {
                c.gamma_multiply(if selected { 0.55 } else { 0.25 })
            };
            p.rect_filled(r, 5.0, fill);
            let stroke = if bad {
                Stroke::new(2.5, ERR)
            } else if selected {
                Stroke::new(2.5, fg)
            } else {
                Stroke::new(1.5, c)
            };
            p.rect_stroke(r, 5.0, stroke, StrokeKind::Inside);
            p.text(
                r.center(),
                Align2::CENTER_CENTER,
                box_text(layer),
                FontId::proportional(13.0),
                fg,
            );
            p.text(
                r.left_center() - vec2(6.0, 0.0),
                Align2::RIGHT_CENTER,
                format!("{}", i + 1),
                FontId::monospace(11.0),
                weak,
            );
            y = r.bottom();
        }
        // Edge into the addition: the body's output.
        let body_out = if failed_layer.is_some() || n == 0 {
            "?".to_string()
        } else {
            report
                .edges
                .get(n)
                .map_or("?".to_string(), |s| s.to_string())
        };
        shape_labels.push((left_label(y), body_out, mismatch, egui::Align::RIGHT));
        arrow(
            &p,
            pos2(mx, y),
            pos2(mx, y + GAP - 1.0),
            Stroke::new(1.5, fg),
        );
        y += GAP;
        if scaled {
            let r = Rect::from_center_size(pos2(mx, y + BOX_H / 2.0), vec2(110.0, BOX_H));
            let c = Color32::from_rgb(200, 170, 40);
            p.rect_filled(r, 5.0, c.gamma_multiply(0.25));
            p.rect_stroke(r, 5.0, Stroke::new(1.5, c), StrokeKind::Inside);
            p.text(
                r.center(),
                Align2::CENTER_CENTER,
                format!("× {}", d.residual_scale),
                FontId::proportional(13.0),
                fg,
            );
            arrow(
                &p,
                pos2(mx, r.bottom()),
                pos2(mx, r.bottom() + GAP - 1.0),
                Stroke::new(1.5, fg),
            );
            y = r.bottom() + GAP;
        }
        // The addition node.
        let plus_c = pos2(mx, y + 13.0);
        let has_sum = d.shortcut != Shortcut::None;
        if has_sum {
            let (fill, stroke) = if mismatch {
                (ERR.gamma_multiply(0.4), Stroke::new(2.5, ERR))
            } else {
                (ui.visuals().faint_bg_color, Stroke::new(1.5, fg))
            };
            p.circle_filled(plus_c, 13.0, fill);
            p.circle_stroke(plus_c, 13.0, stroke);
            p.text(
                plus_c,
                Align2::CENTER_CENTER,
                "+",
                FontId::proportional(18.0),
                if mismatch { ERR } else { fg },
            );
        } else {
            p.line_segment(
                [pos2(mx, y - 2.0), pos2(mx, y + 26.0)],
                Stroke::new(1.5, fg),
            );
        }
        // The shortcut lane: out of the input, down the right, into the addition.
        let lane_c = if mismatch { ERR } else { SKIP };
        let lane = Stroke::new(2.0, lane_c);
        match d.shortcut {
            Shortcut::None => {
                p.text(
                    pos2(sx, (split_y + plus_c.y) / 2.0),
                    Align2::CENTER_CENTER,
                    "no shortcut (plain)",
                    FontId::proportional(12.0),
                    weak,
                );
            }
            sc => {
                p.circle_filled(pos2(mx, split_y), 3.0, lane_c);
                p.line_segment([pos2(mx, split_y), pos2(sx, split_y)], lane);
                let mid = (split_y + plus_c.y) / 2.0;
                let label = match sc {
                    Shortcut::Projection => Some("Conv 1x1 + BN (projection)".to_string()),
                    Shortcut::ZeroPadA => Some("subsample + zero-pad".to_string()),
                    _ => None,
                };
                match label {
                    Some(text) => {
                        let r = Rect::from_center_size(pos2(sx, mid), vec2(SHORT_W, BOX_H));
                        p.line_segment([pos2(sx, split_y), pos2(sx, r.top())], lane);
                        p.rect_filled(r, 5.0, lane_c.gamma_multiply(0.25));
                        p.rect_stroke(r, 5.0, lane, StrokeKind::Inside);
                        p.text(
                            r.center(),
                            Align2::CENTER_CENTER,
                            text,
                            FontId::proportional(12.0),
                            fg,
                        );
                        p.line_segment([pos2(sx, r.bottom()), pos2(sx, plus_c.y)], lane);
                    }
                    None => {
                        p.line_segment([pos2(sx, split_y), pos2(sx, plus_c.y)], lane);
                        p.text(
                            pos2(sx + 8.0, mid),
                            Align2::LEFT_CENTER,
                            "identity",
                            FontId::proportional(12.0),
                            lane_c,
                        );
                    }
                }
                arrow(&p, pos2(sx, plus_c.y), pos2(mx + 14.0, plus_c.y), lane);
                let sc_shape = report
                    .shortcut_out
                    .map_or("?".to_string(), |s| s.to_string());
                // The shortcut's shape sits above its arrow into the addition.
                let r = Rect::from_min_max(
                    pos2(mx + 20.0, plus_c.y - 24.0),
                    pos2(sx - 4.0, plus_c.y - 2.0),
                );
                shape_labels.push((r, sc_shape, mismatch, egui::Align::Center));
            }
        }
        y = plus_c.y + 13.0;
        let out = report.output().map_or("?".to_string(), |s| s.to_string());
        if d.relu_after {
            arrow(
                &p,
                pos2(mx, y),
                pos2(mx, y + GAP - 1.0),
                Stroke::new(1.5, fg),
            );
            y += GAP;
            let r = Rect::from_center_size(pos2(mx, y + BOX_H / 2.0), vec2(110.0, BOX_H));
            let c = layer_color(&LayerSpec::ReLU);
            p.rect_filled(r, 5.0, c.gamma_multiply(0.25));
            p.rect_stroke(r, 5.0, Stroke::new(1.5, c), StrokeKind::Inside);
            p.text(
                r.center(),
                Align2::CENTER_CENTER,
                "g = ReLU",
                FontId::proportional(13.0),
                fg,
            );
            y = r.bottom();
        }
        shape_labels.push((left_label(y), out, false, egui::Align::RIGHT));
        arrow(
            &p,
            pos2(mx, y),
            pos2(mx, y + GAP - 1.0),
            Stroke::new(1.5, fg),
        );
        y += GAP;
        pill(&p, y, "output");

        // Shapes are real labels, so screen readers and tests can find them.
        for (r, text, bad, align) in shape_labels {
            let color = if bad { ERR } else { weak };
            let text = RichText::new(text).monospace().color(color);
            ui.put(r, egui::Label::new(text).selectable(false).halign(align));
        }

        // Clicks select, drags reorder.
        let id = ui.make_persistent_id("builder-layer-box");
        let pointer = ui.ctx().pointer_interact_pos();
        let mut drop: Option<(usize, usize)> = None;
        for (i, r) in boxes.iter().enumerate() {
            let resp = ui.interact(*r, id.with(i), Sense::click_and_drag());
            let label = format!("layer {}: {}", i + 1, d.body[i].label());
            let enabled = ui.is_enabled();
            resp.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, enabled, &label));
            let shapes = match (report.edges.get(i), report.edges.get(i + 1)) {
                (Some(a), Some(b)) => format!("{a} -> {b}"),
                (Some(a), None) => format!("{a} -> does not compute"),
                _ => "after a layer that does not compute".into(),
            };
            let resp = resp.on_hover_text(format!(
                "{}\n{shapes}\nclick to select, drag to move",
                d.body[i].label()
            ));
            if resp.clicked() {
                self.state.selected = if self.state.selected == Some(i) {
                    None
                } else {
                    Some(i)
                };
            }
            if resp.dragged()
                && let Some(pos) = pointer
            {
                let to = boxes
                    .iter()
                    .position(|b| pos.y < b.center().y)
                    .unwrap_or(boxes.len());
                // Slots count positions in the list without the dragged layer.
                let to = if to > i { to - 1 } else { to }.min(n.saturating_sub(1));
                self.drag = Some((i, to));
            }
            if resp.drag_stopped()
                && let Some((from, to)) = self.drag.take()
            {
                drop = Some((from, to));
            }
            if resp.hovered() {
                ui.ctx().set_cursor_icon(egui::CursorIcon::Grab);
            }
        }
        if let (Some((from, to)), Some(pos)) = (self.drag, pointer)
            && let Some(layer) = d.body.get(from)
        {
            // The dragged box follows the pointer; a line marks where it will land.
            let r = Rect::from_center_size(pos2(mx, pos.y), vec2(MAIN_W, BOX_H));
            let c = layer_color(layer);
            let top = ui
                .ctx()
                .layer_painter(egui::LayerId::new(egui::Order::Tooltip, id.with("drag")));
            top.rect_filled(r, 5.0, c.gamma_multiply(0.6));
            top.text(
                r.center(),
                Align2::CENTER_CENTER,
                box_text(layer),
                FontId::proportional(13.0),
                fg,
            );
            let slot_y = if to >= from {
                boxes.get(to).map_or(r.bottom(), |b| b.bottom() + GAP / 2.0)
            } else {
                boxes.get(to).map_or(r.top(), |b| b.top() - GAP / 2.0)
            };
            p.line_segment(
                [
                    pos2(mx - MAIN_W / 2.0, slot_y),
                    pos2(mx + MAIN_W / 2.0, slot_y),
                ],
                Stroke::new(3.0, Color32::from_rgb(240, 200, 40)),
            );
        }
        if let Some((from, to)) = drop
            && from != to
        {
            self.edit(&Edit::Move { from, to }, None);
            self.state.selected = Some(to);
        }
        // A tick across the arrow where the palette will insert.
        let at = self.insert_at();
        let tick_y = if at == 0 {
            input_rect.bottom() + GAP * 0.75
        } else {
            boxes.get(at - 1).map_or(0.0, |b| b.bottom() + GAP * 0.5)
        };
        if n > 0 && tick_y > 0.0 {
            p.line_segment(
                [pos2(mx - 9.0, tick_y), pos2(mx + 9.0, tick_y)],
                Stroke::new(3.0, Color32::from_rgb(240, 200, 40)),
            );
        }
        if n == 0 {
            p.text(
                pos2(sx, rect.top() + 12.0),
                Align2::CENTER_CENTER,
                "add layers from the palette",
                FontId::proportional(12.0),
                weak,
            );
        }
    }

    fn inspector(&mut self, ui: &mut Ui, report: &BlockReport, action: &mut Option<BuilderAction>) {
        ui.heading("Block");
        let mut input = self.state.draft.input;
        ui.horizontal(|ui| {
            ui.label("Input");
            let l = ui.label("C");
            ui.add(egui::DragValue::new(&mut input.c).range(1..=4096))
                .labelled_by(l.id);
            let l = ui.label("H");
            ui.add(egui::DragValue::new(&mut input.h).range(1..=1024))
                .labelled_by(l.id);
            let l = ui.label("W");
            ui.add(egui::DragValue::new(&mut input.w).range(1..=1024))
                .labelled_by(l.id);
        });
        if input != self.state.draft.input {
            self.edit(&Edit::SetInput(input), Some("input".into()));
        }
        ui.horizontal_wrapped(|ui| {
            ui.label("Shortcut:");
            let mut sc = self.state.draft.shortcut;
            for s in [
                Shortcut::Identity,
                Shortcut::Projection,
                Shortcut::ZeroPadA,
                Shortcut::None,
            ] {
                ui.radio_value(&mut sc, s, s.to_string());
            }
            if sc != self.state.draft.shortcut {
                self.edit(&Edit::SetShortcut(sc), None);
            }
        });
        ui.horizontal(|ui| {
            let l = ui.label("Residual scale");
            let mut v = self.state.draft.residual_scale;
            ui.add(egui::DragValue::new(&mut v).range(0.0..=10.0).speed(0.01))
                .labelled_by(l.id)
                .on_hover_text("The body's output is multiplied by this before the addition");
            if v != self.state.draft.residual_scale {
                self.edit(&Edit::SetScale(v), Some("scale".into()));
            }
        });
        let mut relu = self.state.draft.relu_after;
        if ui
            .checkbox(&mut relu, "ReLU after the addition")
            .on_hover_text("g in a[l+2] = g(z[l+2] + a[l])")
            .changed()
        {
            self.edit(&Edit::SetReluAfter(relu), None);
        }
        ui.separator();
        self.selected_layer(ui);
        ui.separator();
        egui::Grid::new("block-stats")
            .num_columns(2)
            .show(ui, |ui| {
                ui.label("Output");
                ui.label(
                    report
                        .output()
                        .map_or("does not compute".into(), |s| s.to_string()),
                );
                ui.end_row();
                ui.label("Parameters");
                ui.label(format!(
                    "{} ({})",
                    report.params,
                    human(report.params as f64)
                ));
                ui.end_row();
                ui.label("FLOPs per image");
                ui.label(human(report.flops as f64));
                ui.end_row();
            });
        if let Some(e) = &report.error {
            ui.add_space(4.0);
            ui.label(
                RichText::new(e.to_string())
                    .color(ui.visuals().error_fg_color)
                    .strong(),
            );
            let mut chosen = None;
            if !report.fixes.is_empty() {
                ui.label("One-click fixes:");
                for f in &report.fixes {
                    if ui.button(f.label()).clicked() {
                        chosen = Some(f.edit(&self.state.draft));
                    }
                }
            }
            if let Some(e) = chosen {
                self.edit(&e, None);
            }
        } else {
            ui.label(RichText::new("✔ The shapes fit.").color(OK));
        }
        ui.add_space(6.0);
        if ui
            .add_enabled(
                report.error.is_none(),
                egui::Button::new("Train this block"),
            )
            .on_hover_text(format!(
                "Train a small net around this block ({} classes) in the Train tab",
                self.state.classes
            ))
            .on_disabled_hover_text("Fix the block first")
            .clicked()
        {
            *action = Some(BuilderAction::Train(
                self.state.draft.to_net(self.state.classes),
            ));
        }
    }

    fn selected_layer(&mut self, ui: &mut Ui) {
        let n = self.state.draft.body.len();
        let Some(i) = self.state.selected.filter(|&i| i < n) else {
            ui.weak("Click a layer to select it; drag it to reorder.");
            return;
        };
        ui.label(
            RichText::new(format!(
                "Layer {}: {}",
                i + 1,
                self.state.draft.body[i].label()
            ))
            .strong(),
        );
        if let LayerSpec::Conv {
            out,
            k,
            stride,
            pad,
        } = self.state.draft.body[i].clone()
        {
            let (mut o, mut kk, mut s, mut pd) = (out, k, stride, pad);
            egui::Grid::new("conv-params")
                .num_columns(2)
                .show(ui, |ui| {
                    let l = ui.label("Filters");
                    ui.add(egui::DragValue::new(&mut o).range(1..=4096))
                        .labelled_by(l.id);
                    ui.end_row();
                    let l = ui.label("Kernel");
                    ui.add(egui::DragValue::new(&mut kk).range(1..=15))
                        .labelled_by(l.id);
                    ui.end_row();
                    let l = ui.label("Stride");
                    ui.add(egui::DragValue::new(&mut s).range(1..=8))
                        .labelled_by(l.id);
                    ui.end_row();
                    let l = ui.label("Padding");
                    ui.add(egui::DragValue::new(&mut pd).range(0..=8))
                        .labelled_by(l.id);
                    ui.end_row();
                });
            // "Same" padding follows the kernel unless the learner chose another padding.
            if kk != k && pd == k / 2 {
                pd = (kk / 2).min(8);
            }
            if (o, kk, s, pd) != (out, k, stride, pad) {
                let layer = LayerSpec::Conv {
                    out: o,
                    k: kk,
                    stride: s,
                    pad: pd,
                };
                self.edit(&Edit::Replace { at: i, layer }, Some(format!("layer{i}")));
            }
        }
        ui.horizontal(|ui| {
            if ui
                .add_enabled(i > 0, egui::Button::new("Move up"))
                .clicked()
            {
                self.edit(&Edit::Move { from: i, to: i - 1 }, None);
                self.state.selected = Some(i - 1);
            }
            if ui
                .add_enabled(i + 1 < n, egui::Button::new("Move down"))
                .clicked()
            {
                self.edit(&Edit::Move { from: i, to: i + 1 }, None);
                self.state.selected = Some(i + 1);
            }
            if ui.button("Delete").on_hover_text("Delete key").clicked() {
                self.delete(i);
            }
        });
    }

    // ---------------------------------------------------------------- network page

    fn network_page(&mut self, ui: &mut Ui, action: &mut Option<BuilderAction>) {
        ui.horizontal_wrapped(|ui| {
            ui.label("Presets:");
            for depth in PAPER_DEPTHS {
                if ui
                    .button(format!("ResNet-{depth}"))
                    .on_hover_text("The paper's CIFAR net: 6n+2 layers in three stages")
                    .clicked()
                    && let Some(net) = presets::cifar(
                        depth,
                        true,
                        self.state.option,
                        self.state.width,
                        self.state.classes,
                    )
                {
                    self.state.net = net;
                    self.state.preset_depth = Some(depth);
                }
            }
            if ui
                .button("Bottleneck stage")
                .on_hover_text("One stage of ResNet-50 style 1x1-3x3-1x1 blocks")
                .clicked()
            {
                self.state.net = bottleneck_stage(self.state.classes);
                self.state.preset_depth = None;
            }
            if ui
                .button("My block")
                .on_hover_text("The block from the block editor in a small net")
                .clicked()
            {
                self.state.net = self.state.draft.to_net(self.state.classes);
                self.state.preset_depth = None;
            }
        });
        let (option, width) = (self.state.option, self.state.width);
        ui.horizontal_wrapped(|ui| {
            ui.label("Shortcuts across a width change:");
            ui.radio_value(&mut self.state.option, ShortcutOption::A, "A: zero-pad");
            ui.radio_value(&mut self.state.option, ShortcutOption::B, "B: projection");
            let l = ui.label("Base width");
            ui.add(egui::DragValue::new(&mut self.state.width).range(2..=64))
                .labelled_by(l.id)
                .on_hover_text("Filters in the first stage of the ResNet presets");
            ui.separator();
            ui.checkbox(&mut self.state.plain, "Plain twin (remove every shortcut)");
        });
        if (option, width) != (self.state.option, self.state.width)
            && let Some(depth) = self.state.preset_depth
            && let Some(net) = presets::cifar(
                depth,
                true,
                self.state.option,
                self.state.width,
                self.state.classes,
            )
        {
            self.state.net = net;
        }
        ui.horizontal(|ui| {
            ui.label("Input");
            let l = ui.label("Channels");
            ui.add(egui::DragValue::new(&mut self.state.net_input.c).range(1..=64))
                .labelled_by(l.id);
            let l = ui.label("Height");
            ui.add(egui::DragValue::new(&mut self.state.net_input.h).range(1..=512))
                .labelled_by(l.id);
            let l = ui.label("Width");
            ui.add(egui::DragValue::new(&mut self.state.net_input.w).range(1..=512))
                .labelled_by(l.id);
            let l = ui.label("Classes");
            let before = self.state.classes;
            ui.add(egui::DragValue::new(&mut self.state.classes).range(2..=1000))
                .labelled_by(l.id);
            if self.state.classes != before
                && let Some(LayerSpec::Linear { out }) = self.state.net.layers.last_mut()
            {
                *out = self.state.classes;
            }
        });
        ui.separator();
        let net = self.shown_net();
        let info = net.validate(self.state.net_input);
        ui.horizontal(|ui| {
            ui.label(RichText::new(&net.name).strong().size(16.0));
            if let Ok(i) = &info {
                ui.separator();
                ui.label(format!("depth {}", i.depth));
                ui.separator();
                ui.label(format!("{} parameters", human(i.params as f64)));
                ui.separator();
                ui.label(format!("{}FLOPs per image", human(i.flops as f64)));
                ui.separator();
                ui.label(format!("output {}", i.output));
            }
            ui.separator();
            if ui
                .add_enabled(info.is_ok(), egui::Button::new("Train this network"))
                .on_disabled_hover_text("The network does not compute yet")
                .clicked()
            {
                *action = Some(BuilderAction::Train(net.clone()));
            }
        });
        let info = match info {
            Ok(i) => i,
            Err(e) => {
                ui.label(
                    RichText::new(e.to_string())
                        .color(ui.visuals().error_fg_color)
                        .strong(),
                );
                return;
            }
        };
        self.strip(ui, &info.layers);
        ui.separator();
        let groups = group_layers(&info.layers);
        // Small nets open fully; deep ones start folded so 300+ rows never swamp the page.
        let open = info.layers.len() <= 40;
        egui::ScrollArea::vertical()
            .id_salt("net-layers")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                for (gi, (name, layers)) in groups.iter().enumerate() {
                    let blocks = layers
                        .iter()
                        .filter(|l| l.kind.starts_with("Block"))
                        .count();
                    let params: usize = layers
                        .iter()
                        .filter(|l| l.depth == 0)
                        .map(|l| l.params)
                        .sum();
                    let out = layers
                        .last()
                        .map_or(String::new(), |l| l.output.to_string());
                    let head = if blocks > 0 {
                        format!(
                            "{name}: {blocks} blocks, {} params, out {out}",
                            human(params as f64)
                        )
                    } else {
                        format!(
                            "{name}: {} layers, {} params, out {out}",
                            layers.len(),
                            human(params as f64)
                        )
                    };
                    egui::CollapsingHeader::new(head)
                        .id_salt(("net-group", gi, name))
                        .default_open(open)
                        .show(ui, |ui| {
                            egui::Grid::new(("net-grid", gi))
                                .striped(true)
                                .num_columns(6)
                                .show(ui, |ui| {
                                    for h in ["layer", "kind", "in", "out", "params", "FLOPs"] {
                                        ui.label(RichText::new(h).strong());
                                    }
                                    ui.end_row();
                                    for l in layers {
                                        let indent = "  ".repeat(l.depth);
                                        ui.monospace(format!("{indent}{}", l.name));
                                        ui.label(&l.kind);
                                        ui.monospace(l.input.to_string());
                                        ui.monospace(l.output.to_string());
                                        ui.label(l.params.to_string());
                                        ui.label(human(l.flops as f64));
                                        ui.end_row();
                                    }
                                });
                        });
                }
            });
    }

    /// One small mark per top-level layer, blocks taller with their skip drawn above: the whole
    /// net at a glance, even at 110 layers.
    fn strip(&mut self, ui: &mut Ui, layers: &[LayerInfo]) {
        ui.horizontal(|ui| {
            let l = ui.label("Zoom");
            ui.add(
                egui::Slider::new(&mut self.state.strip_zoom, 0.3..=3.0)
                    .logarithmic(true)
                    .show_value(false),
            )
            .labelled_by(l.id);
            ui.weak("green: blocks with a skip; grey: no skip; yellow: the skip changes shape. Hover for shapes.");
        });
        let top: Vec<&LayerInfo> = layers.iter().filter(|l| l.depth == 0).collect();
        let z = self.state.strip_zoom.clamp(0.3, 3.0);
        let w = |l: &LayerInfo| {
            if l.kind.starts_with("Block") {
                14.0
            } else {
                5.0
            }
        } * z;
        let total: f32 = top.iter().map(|l| w(l) + 2.0 * z).sum::<f32>() + 20.0;
        let fg = ui.visuals().strong_text_color();
        let weak = ui.visuals().weak_text_color();
        egui::ScrollArea::horizontal()
            .id_salt("net-strip")
            .show(ui, |ui| {
                let (rect, resp) = ui.allocate_exact_size(vec2(total, 66.0), Sense::hover());
                let p = ui.painter_at(rect);
                let mut x = rect.left() + 10.0;
                let base = rect.bottom() - 8.0;
                let mut hovered = None;
                let mut stage = String::new();
                for l in &top {
                    let bw = w(l);
                    let block = l.kind.starts_with("Block");
                    let plain = l.kind.contains("none shortcut");
                    let h = if block { 26.0 } else { 14.0 };
                    let r = Rect::from_min_size(pos2(x, base - h), vec2(bw, h));
                    let c = if block && plain {
                        Color32::GRAY
                    } else if block {
                        SKIP
                    } else if l.kind.starts_with("Conv") {
                        Color32::from_rgb(70, 130, 220)
                    } else if l.kind == "ReLU" {
                        Color32::from_rgb(225, 140, 50)
                    } else if l.kind == "BatchNorm" {
                        Color32::from_rgb(150, 110, 210)
                    } else {
                        Color32::GRAY
                    };
                    p.rect_filled(r, 2.0, c.gamma_multiply(0.75));
                    if block {
                        let name = l.name.split('.').next().unwrap_or_default();
                        if name != stage && l.name.contains('.') {
                            stage = name.to_string();
                            p.text(
                                pos2(r.left(), rect.top() + 2.0),
                                Align2::LEFT_TOP,
                                name,
                                FontId::proportional(11.0),
                                weak,
                            );
                        }
                    }
                    if block && !plain {
                        let reshape = l.input != l.output;
                        let a = pos2(r.left(), r.top() - 2.0);
                        let b = pos2(r.right(), r.top() - 2.0);
                        let pts: Vec<Pos2> = (0..=8)
                            .map(|i| {
                                let t = i as f32 / 8.0;
                                let lift = (t * std::f32::consts::PI).sin() * 10.0;
                                pos2(a.x + (b.x - a.x) * t, a.y - lift)
                            })
                            .collect();
                        let sc = if reshape {
                            Color32::from_rgb(230, 190, 40)
                        } else {
                            SKIP
                        };
                        p.add(egui::Shape::line(pts, Stroke::new(1.4, sc)));
                    }
                    if let Some(pos) = resp.hover_pos()
                        && pos.x >= r.left() - z
                        && pos.x < r.right() + z
                    {
                        p.rect_stroke(r, 2.0, Stroke::new(1.5, fg), StrokeKind::Outside);
                        hovered = Some(*l);
                    }
                    x += bw + 2.0 * z;
                }
                if let Some(l) = hovered {
                    resp.on_hover_text(format!(
                        "{} ({})\n{} -> {}\n{} params",
                        l.name, l.kind, l.input, l.output, l.params
                    ));
                }
            });
    }
}
