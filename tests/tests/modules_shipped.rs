//! What `make build` installs: static binaries whose docs ansible-doc renders, and which fail
//! clearly, never with a panic, on bad input.

use lab::ansible::{library, repo_root};
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;

fn installed_modules() -> Vec<String> {
    let lib = library();
    let mut names: Vec<String> = std::fs::read_dir(&lib)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.contains('.'))
        .collect();
    names.sort();
    names
}

/// An ELF file without a PT_INTERP program header needs no dynamic loader, hence no glibc.
fn is_static_elf(path: &Path) -> bool {
    let b = std::fs::read(path).unwrap();
    if b.len() < 64 || &b[..4] != b"\x7fELF" || b[4] != 2 {
        return false;
    }
    let u16_at = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]) as usize;
    let phoff = u64::from_le_bytes(b[32..40].try_into().unwrap()) as usize;
    let (phentsize, phnum) = (u16_at(54), u16_at(56));
    (0..phnum).all(|i| {
        let o = phoff + i * phentsize;
        u32::from_le_bytes(b[o..o + 4].try_into().unwrap()) != 3 // PT_INTERP
    })
}

#[test]
fn every_installed_module_is_a_static_elf_with_a_rendered_doc() {
    let modules = installed_modules();
    assert!(modules.contains(&"etcd_health".to_string()), "{modules:?}");
    for m in &modules {
        let bin = library().join(m);
        assert!(is_static_elf(&bin), "{} is not a static ELF", bin.display());
        let out = Command::new(repo_root().join(".venv/bin/ansible-doc"))
            .arg("-M")
            .arg(library())
            .arg(m)
            .env("ANSIBLE_NOCOLOR", "1")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains(m.as_str()) && text.contains("OPTIONS"),
            "ansible-doc {m}: {}{}",
            text,
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn run_health(args: Value) -> (Value, i32) {
    lab::ansible::direct("etcd_health", &args, &[])
}

fn msg(v: &Value) -> &str {
    v["msg"].as_str().unwrap_or("")
}

#[test]
fn etcd_health_bad_input_is_a_clear_failure() {
    let (v, code) = run_health(json!({"endpoints": ["https://127.0.0.1:2379"], "colour": "red"}));
    assert_eq!(code, 1);
    assert!(
        msg(&v).starts_with("Unsupported parameters for (etcd_health) module: colour."),
        "{v}"
    );

    let (v, _) = run_health(json!({"endpoints": ["https://127.0.0.1:2379"], "timeout": "soon"}));
    assert!(
        msg(&v).contains("argument 'timeout' is of type str and we were unable to convert to int"),
        "{v}"
    );

    let (v, _) = run_health(json!({}));
    assert_eq!(msg(&v), "missing required arguments: endpoints");

    let (v, _) = run_health(json!({"endpoints": ["127.0.0.1:2379"]}));
    assert_eq!(
        msg(&v),
        "endpoint '127.0.0.1:2379' has no scheme: write it as https://127.0.0.1:2379 (or http:// without TLS)"
    );

    let (v, code) = run_health(json!({
        "endpoints": ["https://127.0.0.1:2379"],
        "ca_cert": "/nonexistent/ca.crt",
    }));
    assert_eq!(code, 1);
    assert!(
        msg(&v).starts_with("reading ca_cert /nonexistent/ca.crt:"),
        "{v}"
    );
    assert_eq!(v["failed"], json!(true));
}

#[test]
fn etcd_health_unreachable_endpoint_is_data_not_failure() {
    // Nothing listens on this loopback address: the connection is refused at once.
    let (v, code) = run_health(json!({"endpoints": ["http://127.0.251.1:2379"], "timeout": 2}));
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["quorum"], json!(false));
    assert_eq!(v["endpoints"][0]["healthy"], json!(false));
    assert!(
        msg(&v).starts_with("QUORUM UNKNOWN: no endpoint answered"),
        "{v}"
    );
}

/// The sidecar doc is what operators read, the README's tables what they skim; the spec is what
/// the binary enforces. Both are rendered from the spec by `make docs`: any difference from what
/// it would write, and any sidecar option whose name, type, elements, required, default, choices
/// or description reads back otherwise than the spec, fails here.
#[test]
fn every_sidecar_doc_and_readme_table_states_exactly_the_options_the_binary_enforces() {
    let drift = lab::docs::drift(&repo_root(), &library()).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        drift.is_empty(),
        "docs drifted from the spec (run `{}`):\n{}",
        lab::docs::FIX,
        drift.join("\n")
    );
}
