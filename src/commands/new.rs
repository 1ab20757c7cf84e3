//! `carafe new DIR`: write a new site and say how to serve it.

use std::io::Write;

use crate::cli::NewArgs;
use crate::scaffold::create_site;

/// Runs `carafe new`.
pub fn run(args: &NewArgs) -> anyhow::Result<()> {
    let written = create_site(&args.dir)?;
    let mut out = std::io::stdout().lock();
    for path in &written {
        let _ = writeln!(out, "carafe: created {}", path.display());
    }
    let _ = writeln!(
        out,
        "carafe: next: carafe serve --root {} --dev",
        args.dir.display()
    );
    Ok(())
}
