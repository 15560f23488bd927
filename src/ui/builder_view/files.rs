//! Save and open network JSON as background tasks; the answers arrive as `FileJob`s.
use super::{BuilderPage, BuilderView, FileJob, Message};
use crate::builder::BlockDraft;
use crate::nn::{LayerSpec, NetSpec, Shape};
use crate::task::Task;
use egui::Ui;
use std::path::PathBuf;

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
    pub(super) fn file_row(&mut self, ui: &mut Ui) {
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
        let wake = crate::ui::repaint_wake(ctx);
        self.file_job = Some(Task::run("save the network", wake, move || {
            let r = if path.as_os_str().is_empty() {
                Err("Type a file name to save to.".to_string())
            } else {
                crate::util::write_atomic(&path, spec.to_json().as_bytes())
                    .map(|()| format!("Saved {}.", path.display()))
                    .map_err(|e| format!("Could not save {}: {e}", path.display()))
            };
            Ok(FileJob::Saved(r))
        }));
    }

    fn start_open(&mut self, ctx: &egui::Context) {
        let path = PathBuf::from(self.state.path.trim());
        let page = self.state.page;
        let wake = crate::ui::repaint_wake(ctx);
        self.file_job = Some(Task::run("open the network", wake, move || {
            let result = crate::util::read_regular_text(&path, 16 << 20, "a network file")
                .map_err(|e| format!("Could not open {}: {e}", path.display()))
                .and_then(|s| {
                    NetSpec::from_json(&s)
                        .map_err(|e| format!("{} is not a network JSON: {e}", path.display()))
                });
            Ok(FileJob::Opened { result, page })
        }));
    }

    pub(super) fn poll_files(&mut self) {
        let Some(task) = &mut self.file_job else {
            return;
        };
        let Some(done) = task.poll() else { return };
        let job = match done {
            Ok(j) => j,
            Err(text) => {
                self.file_job = None;
                self.message = Some(Message { text, error: true });
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
}
