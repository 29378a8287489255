//! The declarative option spec a module hands to the protocol library, shaped like
//! AnsibleModule's `argument_spec` so that sidecar docs and validation can be compared.

use serde::Serialize;
use serde_json::Value;

/// An option's type, with Ansible's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Str,
    Bool,
    Int,
    Float,
    Path,
    List,
    Dict,
    Raw,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Str => "str",
            Kind::Bool => "bool",
            Kind::Int => "int",
            Kind::Float => "float",
            Kind::Path => "path",
            Kind::List => "list",
            Kind::Dict => "dict",
            Kind::Raw => "raw",
        }
    }
}

/// One option. Built with the constructors named after the type, then refined:
/// `Opt::int("timeout").default(5).help("seconds per endpoint")`.
#[derive(Debug, Clone, Serialize)]
pub struct Opt {
    pub name: &'static str,
    #[serde(rename = "type")]
    pub kind: Kind,
    pub required: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<Value>,
    pub no_log: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elements: Option<Kind>,
    /// The short line `--help` shows.
    #[serde(skip)]
    pub help: &'static str,
    /// The sidecar doc's description, Ansible markup (`I(option)`, `C(code)`); one paragraph a
    /// line. `make docs` renders the sidecar's options and the README's tables from `--spec`.
    #[serde(rename = "description")]
    pub doc: &'static str,
}

impl Opt {
    pub fn new(name: &'static str, kind: Kind) -> Opt {
        Opt {
            name,
            kind,
            required: false,
            default: None,
            choices: Vec::new(),
            no_log: false,
            aliases: Vec::new(),
            elements: None,
            help: "",
            doc: "",
        }
    }
    pub fn str(name: &'static str) -> Opt {
        Opt::new(name, Kind::Str)
    }
    pub fn bool(name: &'static str) -> Opt {
        Opt::new(name, Kind::Bool)
    }
    pub fn int(name: &'static str) -> Opt {
        Opt::new(name, Kind::Int)
    }
    pub fn float(name: &'static str) -> Opt {
        Opt::new(name, Kind::Float)
    }
    pub fn path(name: &'static str) -> Opt {
        Opt::new(name, Kind::Path)
    }
    /// A list whose elements are coerced to `elements`.
    pub fn list(name: &'static str, elements: Kind) -> Opt {
        Opt {
            elements: Some(elements),
            ..Opt::new(name, Kind::List)
        }
    }
    pub fn dict(name: &'static str) -> Opt {
        Opt::new(name, Kind::Dict)
    }
    pub fn raw(name: &'static str) -> Opt {
        Opt::new(name, Kind::Raw)
    }
    pub fn required(mut self) -> Opt {
        self.required = true;
        self
    }
    pub fn default(mut self, value: impl Into<Value>) -> Opt {
        self.default = Some(value.into());
        self
    }
    pub fn choices<V: Into<Value>>(mut self, choices: impl IntoIterator<Item = V>) -> Opt {
        self.choices = choices.into_iter().map(Into::into).collect();
        self
    }
    pub fn no_log(mut self) -> Opt {
        self.no_log = true;
        self
    }
    pub fn aliases(mut self, aliases: &[&'static str]) -> Opt {
        self.aliases = aliases.to_vec();
        self
    }
    pub fn help(mut self, help: &'static str) -> Opt {
        self.help = help;
        self
    }
    pub fn doc(mut self, doc: &'static str) -> Opt {
        self.doc = doc;
        self
    }
}

/// `required_if`: when `key` equals `value`, the options in `requires` must be set
/// (all of them, or any one of them when `any` is true).
#[derive(Debug, Clone, Serialize)]
pub struct RequiredIf {
    pub key: &'static str,
    pub value: Value,
    pub requires: Vec<&'static str>,
    pub any: bool,
}

/// Everything the protocol library needs to know about a module.
#[derive(Debug, Clone, Serialize)]
pub struct ModuleSpec {
    pub name: &'static str,
    #[serde(skip)]
    pub about: &'static str,
    pub options: Vec<Opt>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mutually_exclusive: Vec<Vec<&'static str>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub required_if: Vec<RequiredIf>,
    pub supports_check_mode: bool,
}

impl ModuleSpec {
    pub fn new(name: &'static str, about: &'static str) -> ModuleSpec {
        ModuleSpec {
            name,
            about,
            options: Vec::new(),
            mutually_exclusive: Vec::new(),
            required_if: Vec::new(),
            supports_check_mode: true,
        }
    }
    pub fn option(mut self, opt: Opt) -> ModuleSpec {
        self.options.push(opt);
        self
    }
    pub fn options(mut self, opts: impl IntoIterator<Item = Opt>) -> ModuleSpec {
        self.options.extend(opts);
        self
    }
    pub fn mutually_exclusive(mut self, names: &[&'static str]) -> ModuleSpec {
        self.mutually_exclusive.push(names.to_vec());
        self
    }
    pub fn required_if(
        mut self,
        key: &'static str,
        value: impl Into<Value>,
        requires: &[&'static str],
        any: bool,
    ) -> ModuleSpec {
        self.required_if.push(RequiredIf {
            key,
            value: value.into(),
            requires: requires.to_vec(),
            any,
        });
        self
    }
    /// This module's own description of a shared option (a fragment such as the connection
    /// options says what is common; a module that means more by it says so here).
    pub fn describe(mut self, name: &str, doc: &'static str) -> ModuleSpec {
        let opt = self.options.iter_mut().find(|o| o.name == name);
        opt.unwrap_or_else(|| panic!("{}: describe({name}): no such option", self.name))
            .doc = doc;
        self
    }
    pub fn without_check_mode(mut self) -> ModuleSpec {
        self.supports_check_mode = false;
        self
    }

    /// The option an argument name (or alias) refers to.
    pub fn find(&self, name: &str) -> Option<&Opt> {
        self.options
            .iter()
            .find(|o| o.name == name || o.aliases.contains(&name))
    }
}
