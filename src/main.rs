use clap::Parser;
use resnet_lab::cli::{self, Cli};

fn main() {
    let args = Cli::parse();
    match args.command {
        Some(cmd) => {
            if let Err(e) = cli::run(cmd) {
                eprintln!("error: {e}");
                std::process::exit(1);
            }
        }
        None => {
            eprintln!(
                "The ResNet Lab window is on its way; meanwhile try `resnet-lab train --help`."
            );
        }
    }
}
