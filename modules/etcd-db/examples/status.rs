//! Prints `etcd_db::status` of each file as JSON, one line per file, like
//! `etcdctl snapshot status -w json`; exits 1 if any file fails.

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut code = ExitCode::SUCCESS;
    for arg in std::env::args().skip(1) {
        match etcd_db::status(Path::new(&arg)) {
            Ok(s) => println!("{}", serde_json::to_string(&s).unwrap_or_default()),
            Err(e) => {
                eprintln!("{arg}: {e}");
                code = ExitCode::FAILURE;
            }
        }
    }
    code
}
