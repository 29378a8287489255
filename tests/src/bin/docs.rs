//! `make docs`: the README's option tables and each sidecar's options, rendered from the
//! `--spec` of the module binaries in LIBRARY (default playbooks/library).

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let root = lab::ansible::repo_root();
    let library = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("playbooks/library"));
    match lab::docs::regenerate(&root, &library) {
        Ok(written) if written.is_empty() => {
            println!("docs: every option table matches its spec");
            ExitCode::SUCCESS
        }
        Ok(written) => {
            for p in written {
                println!("docs: wrote {}", p.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("docs: {e}");
            ExitCode::FAILURE
        }
    }
}
