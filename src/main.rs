//! The `carafe` binary: parse the command line, start logging, run the command, and print any
//! error once, on one line, with a non-zero exit status.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = carafe::cli::Cli::parse();
    let _log = carafe::logging::init(cli.log_level(), cli.log_format());
    match carafe::commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("carafe: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
