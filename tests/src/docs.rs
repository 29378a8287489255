//! The module docs rendered from each binary's `--spec`, the spec that validates the options:
//! the README's option tables (between `<!-- options NAME -->` and `<!-- /options -->`) and the
//! `DOCUMENTATION.options` block of each sidecar `modules/NAME/NAME.yml`. `make docs` writes
//! them ([`regenerate`]); `modules_shipped` fails when a file differs from what it would write
//! ([`drift`]), so the spec is the one source and regenerating is the fix.

use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The command that fixes any drift this module reports.
pub const FIX: &str = "make docs";

/// One module: its name, the binary that prints its spec, its sidecar doc in the source tree.
pub struct ModuleDoc {
    pub name: String,
    pub bin: PathBuf,
    pub sidecar: PathBuf,
}

/// Every module of the source tree (a crate under modules/ with a sidecar named after it, as
/// the Makefile's MODULES), with its binary in `library`. A module without a binary there is an
/// error, never skipped: its docs would go unchecked.
pub fn modules(root: &Path, library: &Path) -> Result<Vec<ModuleDoc>, String> {
    let dir = root.join("modules");
    let entries = fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let sidecar = entry.path().join(format!("{name}.yml"));
        if !sidecar.is_file() {
            continue;
        }
        let bin = library.join(&name);
        if !bin.is_file() {
            return Err(format!(
                "{} has no binary {name}: run `make build` (or `{FIX}`)",
                library.display()
            ));
        }
        out.push(ModuleDoc { name, bin, sidecar });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// What `BIN --spec` prints.
pub fn spec_of(bin: &Path) -> Result<Value, String> {
    let out = Command::new(bin)
        .arg("--spec")
        .output()
        .map_err(|e| format!("running {} --spec: {e}", bin.display()))?;
    serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("{} --spec did not print JSON: {e}", bin.display()))
}

fn options(spec: &Value) -> &[Value] {
    spec["options"].as_array().map(Vec::as_slice).unwrap_or(&[])
}

fn str_of(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

/// An option's type as a reader says it: `list of str`.
fn type_name(o: &Value) -> String {
    match o.get("elements") {
        Some(el) => format!("{} of {}", str_of(&o["type"]), str_of(el)),
        None => str_of(&o["type"]).to_string(),
    }
}

/// A value as the README shows it: JSON, with a space after each comma of a list.
fn readme_value(v: &Value) -> String {
    match v {
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(readme_value).collect();
            format!("[{}]", items.join(", "))
        }
        other => other.to_string(),
    }
}

fn quoted_names(v: &Value) -> String {
    let names: Vec<String> = v
        .as_array()
        .map(|a| a.iter().map(|n| format!("`{}`", str_of(n))).collect())
        .unwrap_or_default();
    names.join(", ")
}

/// The README's part for one module: the option table, then `required_if` and
/// `mutually_exclusive` in words.
pub fn readme_section(spec: &Value) -> String {
    let mut out = String::from("| option | type | default / choices |\n|---|---|---|\n");
    for o in options(spec) {
        let mut cell = Vec::new();
        if o["required"] == Value::Bool(true) {
            cell.push("**required**".to_string());
        }
        if let Some(d) = o.get("default") {
            cell.push(format!("default `{}`", readme_value(d)));
        }
        if let Some(choices) = o.get("choices").and_then(Value::as_array) {
            let c: Vec<String> = choices
                .iter()
                .map(|c| {
                    format!(
                        "`{}`",
                        c.as_str().map(str::to_string).unwrap_or(c.to_string())
                    )
                })
                .collect();
            cell.push(c.join(" \\| "));
        }
        if let Some(aliases) = o.get("aliases") {
            cell.push(format!("aliases {}", quoted_names(aliases)));
        }
        if o["no_log"] == Value::Bool(true) {
            cell.push("secret".to_string());
        }
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            str_of(&o["name"]),
            type_name(o),
            cell.join("; ")
        ));
    }
    let mut notes = Vec::new();
    for r in spec["required_if"].as_array().into_iter().flatten() {
        let which = if r["any"] == Value::Bool(true) {
            "Any"
        } else {
            "All"
        };
        let value = r["value"]
            .as_str()
            .map(str::to_string)
            .unwrap_or(r["value"].to_string());
        notes.push(format!(
            "{which} of {} required when `{}={value}`.",
            quoted_names(&r["requires"]),
            str_of(&r["key"])
        ));
    }
    let exclusive: Vec<String> = spec["mutually_exclusive"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|group| {
            let names: Vec<String> = group
                .as_array()
                .into_iter()
                .flatten()
                .map(|n| format!("`{}`", str_of(n)))
                .collect();
            names.join(" / ")
        })
        .collect();
    if !exclusive.is_empty() {
        notes.push(format!("Mutually exclusive: {}.", exclusive.join("; ")));
    }
    if !notes.is_empty() {
        out.push('\n');
        for n in notes {
            out.push_str(&n);
            out.push('\n');
        }
    }
    out
}

/// A scalar as YAML writes it (quoted only where YAML would read it otherwise).
fn yaml_scalar(v: &Value) -> String {
    serde_yaml::to_string(v)
        .map(|s| s.trim_end().to_string())
        .unwrap_or_else(|_| v.to_string())
}

/// A value in YAML flow style: a string inside a collection plain where YAML reads it back as
/// written, else JSON-quoted (YAML reads those as written whatever they hold).
fn yaml_flow(v: &Value) -> String {
    match v {
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(yaml_flow_item).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(_) => v.to_string(),
        other => yaml_scalar(other),
    }
}

fn yaml_flow_item(v: &Value) -> String {
    match v {
        Value::String(text) => {
            let flow_safe = !text.contains(|c: char| ",[]{}#:".contains(c));
            if flow_safe && yaml_scalar(v) == *text {
                text.clone()
            } else {
                v.to_string()
            }
        }
        other => yaml_flow(other),
    }
}

/// `text` (starting at column `start`) folded onto lines of at most `width` where it can be:
/// at a single space, continuing at column `indent`. YAML folds each such line break back into
/// one space, in a plain scalar as in a quoted one; a plain one is never broken before a word
/// that could begin a YAML indicator or comment.
fn fold(text: &str, plain: bool, start: usize, indent: usize, width: usize) -> String {
    let mut out = String::new();
    let mut col = start;
    for (i, word) in text.split(' ').enumerate() {
        let indicator = plain && word.starts_with(|c: char| "-#?:&*!|>'\"%@`[]{},".contains(c));
        let breakable = i > 0 && !word.is_empty() && !out.ends_with(' ') && !indicator;
        if i > 0 {
            if breakable && col + 1 + word.len() > width {
                out.push('\n');
                out.push_str(&" ".repeat(indent));
                col = indent;
            } else {
                out.push(' ');
                col += 1;
            }
        }
        out.push_str(word);
        col += word.chars().count();
    }
    out
}

/// One description paragraph after `prefix` (`description: ` or `- `) at `indent` spaces.
fn yaml_text(text: &str, indent: usize, prefix: &str) -> String {
    let scalar = yaml_scalar(&Value::String(text.to_string()));
    let plain = scalar == text;
    let body = fold(&scalar, plain, indent + prefix.len(), indent + 2, 100);
    format!("{}{prefix}{body}\n", " ".repeat(indent))
}

/// The sidecar's `  options:` block (under `DOCUMENTATION:`), every option's description, type,
/// elements, required, default, choices, aliases and no_log from the spec.
pub fn sidecar_options(spec: &Value) -> String {
    let mut out = String::from("  options:\n");
    for o in options(spec) {
        out.push_str(&format!("    {}:\n", str_of(&o["name"])));
        let paragraphs: Vec<&str> = str_of(&o["description"]).split('\n').collect();
        if paragraphs.len() == 1 {
            out.push_str(&yaml_text(paragraphs[0], 6, "description: "));
        } else {
            out.push_str("      description:\n");
            for p in paragraphs {
                out.push_str(&yaml_text(p, 8, "- "));
            }
        }
        out.push_str(&format!("      type: {}\n", str_of(&o["type"])));
        if let Some(el) = o.get("elements") {
            out.push_str(&format!("      elements: {}\n", str_of(el)));
        }
        if o["required"] == Value::Bool(true) {
            out.push_str("      required: true\n");
        }
        if let Some(d) = o.get("default") {
            out.push_str(&format!("      default: {}\n", yaml_flow(d)));
        }
        for key in ["choices", "aliases"] {
            if let Some(v) = o.get(key) {
                out.push_str(&format!("      {key}: {}\n", yaml_flow(v)));
            }
        }
        if o["no_log"] == Value::Bool(true) {
            out.push_str("      no_log: true\n");
        }
    }
    out
}

/// `doc` with its `  options:` block (up to the next key of DOCUMENTATION or the next
/// top-level key) replaced by `block`.
pub fn splice_sidecar(doc: &str, block: &str) -> Result<String, String> {
    let lines: Vec<&str> = doc.split_inclusive('\n').collect();
    let start = lines
        .iter()
        .position(|l| l.trim_end() == "  options:")
        .ok_or("no `  options:` line under DOCUMENTATION")?;
    let end = lines[start + 1..]
        .iter()
        .position(|l| {
            let indent = l.len() - l.trim_start().len();
            !l.trim().is_empty() && indent <= 2
        })
        .map(|i| start + 1 + i)
        .unwrap_or(lines.len());
    Ok(format!(
        "{}{block}{}",
        lines[..start].concat(),
        lines[end..].concat()
    ))
}

fn readme_markers(name: &str) -> (String, String) {
    (
        format!("<!-- options {name}: generated from its --spec by `{FIX}` -->\n"),
        "<!-- /options -->\n".to_string(),
    )
}

/// `readme` with the part between the module's markers replaced by `section`.
pub fn splice_readme(readme: &str, name: &str, section: &str) -> Result<String, String> {
    let (open, close) = readme_markers(name);
    let start = readme
        .find(&open)
        .ok_or_else(|| format!("README.md has no marker {}", open.trim_end()))?
        + open.len();
    let end = readme[start..]
        .find(&close)
        .ok_or_else(|| format!("README.md: {name}'s options have no closing {close}"))?
        + start;
    Ok(format!("{}{section}{}", &readme[..start], &readme[end..]))
}

/// A file as it is and as `make docs` would write it, and (for a sidecar) what is wrong with
/// it besides.
pub struct Rendered {
    pub path: PathBuf,
    pub current: String,
    pub wanted: String,
    pub problems: Vec<String>,
}

/// Every generated file's current and wanted text.
pub fn render(root: &Path, library: &Path) -> Result<Vec<Rendered>, String> {
    let readme_path = root.join("README.md");
    let read = |p: &Path| fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()));
    let readme = read(&readme_path)?;
    let mut wanted_readme = readme.clone();
    let mut out = Vec::new();
    for m in modules(root, library)? {
        let spec = spec_of(&m.bin)?;
        for o in options(&spec) {
            if str_of(&o["description"]).trim().is_empty() {
                return Err(format!(
                    "{}: option {} has no description: give it .doc(...) in its spec",
                    m.name,
                    str_of(&o["name"])
                ));
            }
        }
        wanted_readme = splice_readme(&wanted_readme, &m.name, &readme_section(&spec))?;
        let current = read(&m.sidecar)?;
        let wanted = splice_sidecar(&current, &sidecar_options(&spec))
            .map_err(|e| format!("{}: {e}", m.sidecar.display()))?;
        let problems = sidecar_problems(&current, &spec);
        out.push(Rendered {
            path: m.sidecar,
            current,
            wanted,
            problems,
        });
    }
    out.push(Rendered {
        path: readme_path,
        current: readme,
        wanted: wanted_readme,
        problems: Vec::new(),
    });
    Ok(out)
}

/// `make docs`: write every generated file that differs; returns the paths written.
pub fn regenerate(root: &Path, library: &Path) -> Result<Vec<PathBuf>, String> {
    let mut written = Vec::new();
    for r in render(root, library)? {
        if r.current != r.wanted {
            fs::write(&r.path, &r.wanted).map_err(|e| format!("{}: {e}", r.path.display()))?;
            written.push(r.path);
        }
    }
    Ok(written)
}

/// One message per generated file that differs from what `make docs` would write (naming its
/// first differing line), and per problem [`sidecar_problems`] finds.
pub fn drift(root: &Path, library: &Path) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for r in render(root, library)? {
        for p in &r.problems {
            out.push(format!("{}: {p}", r.path.display()));
        }
        if r.current == r.wanted {
            continue;
        }
        let (mut cur, mut want) = (r.current.lines(), r.wanted.lines());
        let mut n = 1;
        let (is, should) = loop {
            match (cur.next(), want.next()) {
                (a, b) if a == b => n += 1,
                (a, b) => break (a.unwrap_or("(end)"), b.unwrap_or("(end)")),
            }
        };
        out.push(format!(
            "{}:{n} differs from the spec: is {is:?}, `{FIX}` writes {should:?}",
            r.path.display()
        ));
    }
    Ok(out)
}

/// What a sidecar must be besides its generated block: the three sections ansible-doc reads,
/// EXAMPLES a list of tasks, and its options reading back (as YAML) exactly as the spec says.
pub fn sidecar_problems(doc_text: &str, spec: &Value) -> Vec<String> {
    let doc: serde_yaml::Value = match serde_yaml::from_str(doc_text) {
        Ok(d) => d,
        Err(e) => return vec![format!("not YAML: {e}")],
    };
    let doc = serde_json::to_value(doc).unwrap_or(Value::Null);
    let mut out = Vec::new();
    for section in ["DOCUMENTATION", "EXAMPLES", "RETURN"] {
        if doc.get(section).is_none() {
            out.push(format!("no {section}"));
        }
    }
    let examples = serde_yaml::from_str::<serde_yaml::Value>(str_of(&doc["EXAMPLES"]));
    if !examples.map(|e| e.is_sequence()).unwrap_or(false) {
        out.push("EXAMPLES is not a YAML list of tasks".to_string());
    }
    let documented = doc["DOCUMENTATION"]["options"].as_object();
    let documented = match documented {
        Some(d) => d,
        None => return [out, vec!["no DOCUMENTATION.options".to_string()]].concat(),
    };
    let mut spec_names: Vec<&str> = options(spec).iter().map(|o| str_of(&o["name"])).collect();
    let mut doc_names: Vec<&str> = documented.keys().map(String::as_str).collect();
    spec_names.sort_unstable();
    doc_names.sort_unstable();
    if spec_names != doc_names {
        out.push(format!(
            "documents {doc_names:?}, the spec has {spec_names:?}"
        ));
    }
    for o in options(spec) {
        let name = str_of(&o["name"]);
        let Some(d) = documented.get(name) else {
            continue;
        };
        let text = match &d["description"] {
            Value::Array(p) => p.iter().map(str_of).collect::<Vec<_>>().join("\n"),
            v => str_of(v).to_string(),
        };
        if text != str_of(&o["description"]) || text.trim().is_empty() {
            out.push(format!(
                "{name}: description {text:?} vs the spec's {:?}",
                o["description"]
            ));
        }
        for key in ["type", "elements", "default", "choices", "aliases"] {
            if d.get(key) != o.get(key) {
                out.push(format!(
                    "{name}: {key} {:?} vs the spec's {:?}",
                    d.get(key),
                    o.get(key)
                ));
            }
        }
        for key in ["required", "no_log"] {
            if (d[key] == Value::Bool(true)) != (o[key] == Value::Bool(true)) {
                out.push(format!("{name}: {key} {} vs the spec's {}", d[key], o[key]));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec() -> Value {
        json!({"name": "m", "options": [
            {"name": "state", "type": "str", "required": false, "default": "present",
             "choices": ["present", "absent"], "no_log": false,
             "description": "C(present) adds: it; C(absent) removes it, which is a long 'quoted' \
             paragraph that must be folded too: -x #y [z] past the width of a line, and again.\nSecond #paragraph."},
            {"name": "ports", "type": "list", "elements": "int", "required": true,
             "no_log": false, "default": [1, 2], "description": "Ports - to open, a long \
             description that goes on and on - and on, well past the width of one line of the \
             sidecar, and then some, so that it must be folded."},
            {"name": "paths", "type": "list", "elements": "path", "required": false,
             "no_log": true, "default": ["/etc/a,b"], "aliases": ["p"], "description": "yes"},
        ], "required_if": [{"key": "state", "value": "absent", "requires": ["ports"], "any": false}],
           "mutually_exclusive": [["ports", "paths"]]})
    }

    #[test]
    fn the_sidecar_block_reads_back_as_the_spec() {
        let doc = format!(
            "DOCUMENTATION:\n  module: m\n{}  attributes: {{}}\nEXAMPLES: |\n  - x: 1\n",
            sidecar_options(&spec())
        );
        let parsed: serde_yaml::Value = serde_yaml::from_str(&doc).expect(&doc);
        let parsed = serde_json::to_value(parsed).unwrap();
        let opts = &parsed["DOCUMENTATION"]["options"];
        for o in spec()["options"].as_array().unwrap() {
            let d = &opts[str_of(&o["name"])];
            let text = match &d["description"] {
                Value::Array(p) => p.iter().map(str_of).collect::<Vec<_>>().join("\n"),
                v => str_of(v).to_string(),
            };
            assert_eq!(text, str_of(&o["description"]), "{doc}");
            for k in ["type", "elements", "default", "choices", "aliases"] {
                assert_eq!(d.get(k), o.get(k), "{k} in {doc}");
            }
            assert_eq!(d["required"] == json!(true), o["required"] == json!(true));
            assert_eq!(d["no_log"] == json!(true), o["no_log"] == json!(true));
        }
        assert!(doc.lines().all(|l| l.len() <= 100), "{doc}");
    }

    #[test]
    fn the_readme_section_states_types_defaults_choices_and_rules() {
        assert_eq!(
            readme_section(&spec()),
            "| option | type | default / choices |\n|---|---|---|\n\
             | `state` | str | default `\"present\"`; `present` \\| `absent` |\n\
             | `ports` | list of int | **required**; default `[1, 2]` |\n\
             | `paths` | list of path | default `[\"/etc/a,b\"]`; aliases `p`; secret |\n\
             \nAll of `ports` required when `state=absent`.\n\
             Mutually exclusive: `ports` / `paths`.\n"
        );
    }

    #[test]
    fn splicing_replaces_only_the_options_block_and_the_marked_part() {
        let doc = "DOCUMENTATION:\n  module: m\n  options:\n    old:\n      type: str\n\n  attributes:\n    x: 1\nEXAMPLES: |\n";
        assert_eq!(
            splice_sidecar(doc, "  options:\n    new: {}\n").unwrap(),
            "DOCUMENTATION:\n  module: m\n  options:\n    new: {}\n  attributes:\n    x: 1\nEXAMPLES: |\n"
        );
        let (open, close) = readme_markers("m");
        let readme = format!("a\n{open}old\n{close}b\n");
        assert_eq!(
            splice_readme(&readme, "m", "new\n").unwrap(),
            format!("a\n{open}new\n{close}b\n")
        );
        assert!(splice_readme("no markers", "m", "x").is_err());
        assert!(splice_sidecar("DOCUMENTATION:\n", "x").is_err());
    }
}
