//! The Train tab's setup column: the nets side by side, hyper-parameters, the depth sweep and
//! the files (export folder, experiments, run folders).
use super::*;

impl TrainView {
    pub(super) fn setup_ui(&mut self, ui: &mut Ui, state: &mut AppState) {
        ui.heading("Nets");
        let mut remove = None;
        for (i, choice) in self.config.nets.iter_mut().enumerate() {
            ui.push_id(i, |ui| {
                let net = match choice {
                    NetChoice::Preset(p) => p,
                    NetChoice::Built { .. } => {
                        ui.horizontal(|ui| {
                            ui.label(RichText::new(choice.label()).strong());
                            ui.weak("(from the Build tab)");
                            if ui.small_button("✖").on_hover_text("Remove this net").clicked() {
                                remove = Some(i);
                            }
                        });
                        return;
                    }
                };
                ui.horizontal(|ui| {
                    ui.selectable_value(&mut net.residual, false, "plain");
                    ui.selectable_value(&mut net.residual, true, "resnet");
                    let l = ui.label("depth");
                    egui::ComboBox::from_id_salt("depth")
                        .selected_text(net.depth.to_string())
                        .width(50.0)
                        .show_ui(ui, |ui| {
                            for d in DEPTHS {
                                ui.selectable_value(&mut net.depth, d, d.to_string());
                            }
                        })
                        .response
                        .labelled_by(l.id)
                        .on_hover_text("Weighted layers: 6n+2, as in the paper's CIFAR nets");
                    if ui.small_button("✖").on_hover_text("Remove this net").clicked() {
                        remove = Some(i);
                    }
                });
                if net.residual {
                    ui.horizontal(|ui| {
                        ui.label("shortcut");
                        ui.selectable_value(&mut net.shortcut, ShortcutOption::A, "A")
                            .on_hover_text("Option A: zero-padded identity when the width changes (no parameters)");
                        ui.selectable_value(&mut net.shortcut, ShortcutOption::B, "B")
                            .on_hover_text("Option B: 1x1 projection when the width changes");
                        ui.checkbox(&mut net.zero_init, "zero-init")
                            .on_hover_text("Start each block's last batch-norm gamma at 0, so every block starts as the identity");
                    });
                    ui.horizontal(|ui| {
                        let l = ui.label("residual scale");
                        ui.add(egui::Slider::new(&mut net.scale, 0.1..=1.0).step_by(0.05))
                            .labelled_by(l.id)
                            .on_hover_text("Multiply each residual branch by this before the addition (0.1-0.3 steadies very deep nets)");
                    });
                }
                ui.horizontal(|ui| {
                    let l = ui.label("width");
                    ui.add(egui::DragValue::new(&mut net.width).range(2..=64))
                        .labelled_by(l.id)
                        .on_hover_text("Channels of the first stage; doubled in each later stage");
                    ui.weak(net.label());
                });
            });
            ui.separator();
        }
        if let Some(i) = remove {
            self.config.nets.remove(i);
        }
        ui.horizontal(|ui| {
            if ui.button("+ plain").clicked() {
                self.config
                    .nets
                    .push(NetChoice::Preset(Preset::new(false, 20)));
            }
            if ui.button("+ resnet").clicked() {
                self.config
                    .nets
                    .push(NetChoice::Preset(Preset::new(true, 20)));
            }
        });
        ui.add_space(8.0);
        ui.heading("Hyper-parameters");
        let h = &mut self.config.hyper;
        egui::Grid::new("hyper").num_columns(2).show(ui, |ui| {
            // Every field is labelled for screen readers (and for kittest queries).
            fn row(ui: &mut Ui, name: &str, tip: &str, w: impl egui::Widget) {
                let l = ui.label(name).on_hover_text(tip);
                ui.add(w).labelled_by(l.id).on_hover_text(tip);
                ui.end_row();
            }
            row(
                ui,
                "epochs",
                "Passes over the training set",
                egui::DragValue::new(&mut h.epochs).range(1..=1000),
            );
            row(
                ui,
                "batch",
                "Images per SGD step",
                egui::DragValue::new(&mut h.batch).range(1..=4096),
            );
            row(
                ui,
                "learning rate",
                "Step size; the paper uses 0.1. Too high and the loss diverges",
                egui::DragValue::new(&mut h.lr)
                    .range(0.0001..=10.0)
                    .speed(0.001)
                    .max_decimals(4),
            );
            row(
                ui,
                "momentum",
                "SGD momentum, 0.9 in the paper",
                egui::DragValue::new(&mut h.momentum)
                    .range(0.0..=0.999)
                    .speed(0.01),
            );
            row(
                ui,
                "weight decay",
                "L2 penalty on weights, 0.0001 in the paper",
                egui::DragValue::new(&mut h.weight_decay)
                    .range(0.0..=0.1)
                    .speed(0.0001)
                    .max_decimals(5),
            );
            row(
                ui,
                "seed",
                "Same seed: same initial weights and batch order for every net",
                egui::DragValue::new(&mut h.seed),
            );
            let tip = "Stop each run after this many steps, for quick experiments";
            let l = ui.label("max steps").on_hover_text(tip);
            ui.horizontal(|ui| {
                let mut capped = h.max_steps.is_some();
                ui.checkbox(&mut capped, "cap")
                    .labelled_by(l.id)
                    .on_hover_text(tip);
                let mut v = h.max_steps.unwrap_or(300);
                ui.add_enabled(capped, egui::DragValue::new(&mut v).range(1..=1_000_000))
                    .labelled_by(l.id);
                h.max_steps = capped.then_some(v);
            });
            ui.end_row();
            row(
                ui,
                "probe every",
                "Record gradient norms and activation statistics every this many steps (0 = never)",
                egui::DragValue::new(&mut h.probe_every).range(0..=1000),
            );
            row(
                ui,
                "warm-up steps",
                "Steps at a tenth of the learning rate first: the paper's trick for ResNet-110",
                egui::DragValue::new(&mut h.warmup_steps).range(0..=100_000),
            );
            let tip = "SGD with momentum as in the paper, or Adam (momentum is then beta1)";
            let l = ui.label("optimizer").on_hover_text(tip);
            ui.horizontal(|ui| {
                ui.selectable_value(&mut h.optimizer, OptimizerChoice::Sgd, "SGD")
                    .labelled_by(l.id);
                ui.selectable_value(&mut h.optimizer, OptimizerChoice::Adam, "Adam")
                    .labelled_by(l.id);
            });
            ui.end_row();
            let tip = "How the learning rate changes over the run";
            let l = ui.label("schedule").on_hover_text(tip);
            ui.horizontal(|ui| {
                let constant = matches!(h.schedule, Schedule::Constant);
                let step = matches!(h.schedule, Schedule::Step { .. });
                let cosine = matches!(h.schedule, Schedule::Cosine);
                if ui
                    .selectable_label(constant, "constant")
                    .labelled_by(l.id)
                    .clicked()
                {
                    h.schedule = Schedule::Constant;
                }
                if ui
                    .selectable_label(step, "steps")
                    .labelled_by(l.id)
                    .on_hover_text("x0.1 at 50% and 75% of the run, as in the paper")
                    .clicked()
                {
                    h.schedule = Schedule::Step {
                        at: vec![0.5, 0.75],
                        factor: 0.1,
                    };
                }
                if ui
                    .selectable_label(cosine, "cosine")
                    .labelled_by(l.id)
                    .clicked()
                {
                    h.schedule = Schedule::Cosine;
                }
            });
            ui.end_row();
        });
        if let Err(e) = self.config.hyper.validate() {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        match state.train_data().map(|d| d.set) {
            Some(d) => ui.label(format!(
                "Data: {} ({} classes, {}x{}x{})",
                d.name,
                d.classes.len(),
                d.channels,
                d.height,
                d.width
            )),
            None => ui.label("Data: loading..."),
        };
        ui.add_space(8.0);
        ui.heading("Depth sweep");
        ui.horizontal_wrapped(|ui| {
            for d in DEPTHS {
                let mut on = self.config.sweep_depths.contains(&d);
                if ui.toggle_value(&mut on, d.to_string()).changed() {
                    if on {
                        self.config.sweep_depths.push(d);
                    } else {
                        self.config.sweep_depths.retain(|x| *x != d);
                    }
                }
            }
        });
        let running = state.scheduler.is_running();
        let data = state.train_data().is_some();
        if ui
            .add_enabled(
                !running && data && !self.config.sweep_depths.is_empty(),
                egui::Button::new("Run sweep"),
            )
            .on_hover_text("Train a plain and a residual net at each chosen depth, two at a time")
            .clicked()
        {
            self.start_sweep(ui.ctx(), state);
        }
        ui.add_space(8.0);
        ui.heading("Files");
        ui.horizontal(|ui| {
            let l = ui.label("Export folder");
            ui.add(
                egui::TextEdit::singleline(&mut state.export_dir)
                    .hint_text("current folder")
                    .desired_width(150.0),
            )
            .labelled_by(l.id);
        });
        ui.horizontal(|ui| {
            let l = ui.label("Experiment file");
            ui.add(egui::TextEdit::singleline(&mut self.experiment_path).desired_width(150.0))
                .labelled_by(l.id);
        });
        ui.horizontal(|ui| {
            if ui.button("Save experiment").clicked() {
                self.save_experiment(ui.ctx(), state);
            }
            if ui
                .add_enabled(
                    !self.opening.is_busy(),
                    egui::Button::new("Open experiment"),
                )
                .clicked()
            {
                self.open_experiment(ui.ctx(), state);
            }
        });
        self.runs_files_ui(ui, state);
    }

    /// Save runs / Open run: whole runs (history and trained net) as folders.
    fn runs_files_ui(&mut self, ui: &mut Ui, state: &mut AppState) {
        let wake = state.wake(ui.ctx());
        ui.horizontal(|ui| {
            let l = ui.label("Run folder");
            ui.add(
                egui::TextEdit::singleline(&mut state.files.path)
                    .hint_text("runs")
                    .desired_width(150.0),
            )
            .labelled_by(l.id)
            .on_hover_text("Save runs writes one folder per run here; Open run reads a run folder or every run folder inside it");
            if ui
                .add_enabled(!state.files.is_browsing(), egui::Button::new("Browse..."))
                .clicked()
            {
                state.files.browse(wake.clone());
            }
        });
        ui.horizontal(|ui| {
            let busy = state.files.is_busy();
            let can_save = !busy && !state.scheduler.is_running() && !state.scheduler.runs().is_empty();
            if ui
                .add_enabled(can_save, egui::Button::new("Save runs"))
                .on_hover_text("Each run's net, curves and trained weights, one folder per run (net.json, history.json, weights.safetensors)")
                .on_disabled_hover_text("Nothing to save yet, training, or a save is in progress")
                .clicked()
            {
                state.files.save_all(&mut state.scheduler.store, wake.clone());
            }
            if ui
                .add_enabled(!busy, egui::Button::new("Open run"))
                .on_hover_text("Reopen saved runs: their plots and trained nets")
                .clicked()
            {
                state.files.open(wake.clone());
            }
            if busy {
                ui.spinner();
            }
        });
        if let Some(m) = &state.files.message {
            ui.label(RichText::new(m).italics());
        }
    }

    fn save_experiment(&mut self, ctx: &egui::Context, state: &AppState) {
        let data = state.train_data();
        let mut experiment = crate::train::Experiment {
            hyper: self.config.hyper.clone(),
            ..Default::default()
        };
        let classes = data.map(|d| d.info.classes.len()).unwrap_or(10);
        experiment.nets = self
            .config
            .nets
            .iter()
            .filter_map(|n| n.entry(classes).ok())
            .collect();
        if let Some(d) = data {
            experiment.data.source = d.info.source.clone();
            experiment.data.options = d.info.options.clone();
        }
        let saved = SavedExperiment {
            experiment,
            config: self.config.clone(),
            histories: state.scheduler.histories(),
            sweep: state.scheduler.sweep_points.clone(),
        };
        let path = PathBuf::from(self.experiment_path.trim());
        self.exporter
            .spawn(path, crate::ui::repaint_wake(ctx), move || {
                serde_json::to_vec_pretty(&saved)
                    .map_err(|e| format!("could not encode the experiment: {e}"))
            });
    }

    fn open_experiment(&mut self, ctx: &egui::Context, state: &mut AppState) {
        let path = PathBuf::from(self.experiment_path.trim());
        let wake = state.wake(ctx);
        self.opening.start("open experiment", wake, move || {
            let bytes = crate::util::read_regular(&path, 1 << 30, "a saved experiment")
                .map_err(|e| format!("Could not read {}: {e}", path.display()))?;
            serde_json::from_slice::<SavedExperiment>(&bytes)
                .map_err(|e| format!("{} is not a saved experiment: {e}", path.display()))
        });
    }
}
