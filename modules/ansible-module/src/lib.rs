//! Ansible's binary-module protocol, written once for every etcd-ops module.
//!
//! A module declares its options and hands a body to [`run`]:
//! ```no_run
//! use ansible_module::{run, Kind, ModuleSpec, Opt, Response};
//! let spec = ModuleSpec::new("hello", "Says hello")
//!     .option(Opt::str("name").required())
//!     .option(Opt::list("extra", Kind::Str));
//! run(spec, |m| Ok(Response::new().msg(format!("hello {}", m.params.str("name").unwrap_or("")))))
//! ```
//! The library reads the args file Ansible passes as argv[1] (or `--args` at a shell),
//! validates and coerces options as AnsibleModule does, hands check and diff mode to the
//! body, masks no_log values, turns a panic into failure JSON, prints one JSON object and
//! exits 1 on failure.

mod cli;
pub mod coerce;
mod entry;
mod execute;
pub mod nolog;
mod params;
mod response;
mod spec;
mod validate;

pub use cli::options_help;
pub use entry::run;
pub use execute::{execute, Module, Outcome};
pub use params::Params;
pub use response::{Context, Diff, Failure, Response};
pub use spec::{Kind, ModuleSpec, Opt, RequiredIf};
pub use validate::AnsibleContext;
