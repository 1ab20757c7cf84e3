//! The `carafe` binary: parse the command line, start logging, run the command, and print any
//! error once, on one line, with a non-zero exit status.

use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of the system allocator: a request makes a few dozen small allocations
/// (headers, futures, log buffers) across worker threads, and glibc's malloc spent about a
/// third of carafe's instructions per request on them (bench/callgrind.sh). Built as mimalloc
/// 2 without transparent huge pages: mimalloc 3's eager arena commit and huge pages held
/// 50 MB more resident memory at start and slowed the first response by ~80 ms. Library
/// users keep whatever allocator their binary chooses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
