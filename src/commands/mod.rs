//! Glue from parsed arguments to the library: one file per command, no logic of their own
//! beyond printing what happened.

pub mod cert;
pub mod new;
pub mod serve;

use crate::cli::{CertCommand, Cli, Command};

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve::run(&args),
        Command::Cert(CertCommand::New(args)) => cert::new(&args),
        Command::Cert(CertCommand::Csr(args)) => cert::csr(&args),
        Command::Cert(CertCommand::Show(args)) => cert::show(&args),
        Command::Cert(CertCommand::Ca) => cert::ca(),
        Command::Cert(CertCommand::Trust) => cert::trust(true),
        Command::Cert(CertCommand::Untrust) => cert::trust(false),
        Command::New(args) => new::run(&args),
    }
}
