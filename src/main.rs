// wasm32 has neither a command line nor a window (the library is the browser's entry point);
// there the binary is an empty `main`, so that `cargo test --target wasm32-unknown-unknown` builds.
#[cfg(not(target_arch = "wasm32"))]
use clap::Parser;
#[cfg(not(target_arch = "wasm32"))]
use resnet_lab::cli::{self, Cli};

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
#[derive(Parser, Debug)]
#[command(
    name = "resnet-lab",
    version,
    about = "Build residual networks, train them, and watch why skip connections work.",
    long_about = "Build residual networks, train them, and watch why skip connections work.\n\nWith no subcommand the app window opens."
)]
struct Args {
    /// Close the window after this many seconds (smoke tests).
    #[arg(long, global = true, value_name = "N")]
    quit_after_secs: Option<f64>,
    #[command(flatten)]
    cli: Cli,
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    let args = Args::parse();
    match args.cli.command {
        Some(cmd) => {
            // An interrupted write removes its temporary file before the process dies.
            resnet_lab::util::install_signal_cleanup();
            if let Err(e) = cli::run(cmd) {
                eprintln!("error: {e}");
                std::process::exit(1);
            }
        }
        None => {
            if let Err(e) = resnet_lab::ui::run_native(args.quit_after_secs) {
                eprintln!("error: {e}");
                eprintln!(
                    "The command line still works without a display: try `resnet-lab train --help`."
                );
                std::process::exit(1);
            }
        }
    }
}
