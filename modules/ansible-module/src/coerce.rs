//! Ansible's type coercions (module_utils/common/validation.py `check_type_*`), so that
//! `key=value` task syntax, which sends every value as a string, works as it does for Python
//! modules.

use crate::spec::Kind;
use serde_json::{Map, Number, Value};

const TRUE_WORDS: [&str; 6] = ["y", "yes", "on", "1", "true", "t"];
const FALSE_WORDS: [&str; 6] = ["n", "no", "off", "0", "false", "f"];

/// The JSON type name, as an operator reading the error would call it.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// Coerces `v` to `kind`; the error explains why the value does not fit.
pub fn coerce(v: &Value, kind: Kind) -> Result<Value, String> {
    match kind {
        Kind::Raw => Ok(v.clone()),
        Kind::Str => to_str(v).map(Value::String),
        Kind::Path => to_str(v).map(|s| Value::String(expand_path(&s))),
        Kind::Bool => to_bool(v).map(Value::Bool),
        Kind::Int => to_int(v).map(|i| Value::Number(i.into())),
        Kind::Float => to_float(v).and_then(|f| {
            Number::from_f64(f)
                .map(Value::Number)
                .ok_or_else(|| format!("{f} is not a finite number"))
        }),
        Kind::List => to_list(v).map(Value::Array),
        Kind::Dict => to_dict(v).map(Value::Object),
    }
}

fn to_str(v: &Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        // Python's str(True): what AnsibleModule produces for a bool given to a str option.
        Value::Bool(b) => Ok(if *b { "True" } else { "False" }.to_string()),
        other => Err(format!("a {} is not a string", type_name(other))),
    }
}

fn to_bool(v: &Value) -> Result<bool, String> {
    let word = match v {
        Value::Bool(b) => return Ok(*b),
        Value::String(s) => s.trim().to_ascii_lowercase(),
        Value::Number(n) if n.as_f64() == Some(1.0) => return Ok(true),
        Value::Number(n) if n.as_f64() == Some(0.0) => return Ok(false),
        Value::Number(n) => n.to_string(),
        other => return Err(format!("a {} is not a boolean", type_name(other))),
    };
    if TRUE_WORDS.contains(&word.as_str()) {
        Ok(true)
    } else if FALSE_WORDS.contains(&word.as_str()) {
        Ok(false)
    } else {
        Err(format!(
            "'{word}' is not a valid boolean; valid booleans are {} and {}",
            TRUE_WORDS.join(", "),
            FALSE_WORDS.join(", ")
        ))
    }
}

fn to_int(v: &Value) -> Result<i64, String> {
    match v {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Ok(i)
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                if f.fract() == 0.0 && f.abs() < 9.0e15 {
                    Ok(f as i64)
                } else {
                    Err(format!("{n} is not a whole number"))
                }
            }
        }
        Value::String(s) => {
            let t = s.trim().replace('_', "");
            t.parse::<i64>()
                .map_err(|_| format!("'{s}' is not a whole number"))
        }
        other => Err(format!("a {} is not a number", type_name(other))),
    }
}

fn to_float(v: &Value) -> Result<f64, String> {
    match v {
        Value::Number(n) => n.as_f64().ok_or_else(|| format!("{n} is not a number")),
        Value::String(s) => s
            .trim()
            .parse::<f64>()
            .map_err(|_| format!("'{s}' is not a number")),
        other => Err(format!("a {} is not a number", type_name(other))),
    }
}

fn to_list(v: &Value) -> Result<Vec<Value>, String> {
    match v {
        Value::Array(a) => Ok(a.clone()),
        // "a,b,c" is how a list arrives through key=value syntax or a survey field.
        Value::String(s) if s.is_empty() => Ok(Vec::new()),
        Value::String(s) => Ok(s
            .split(',')
            .map(|p| Value::String(p.trim().to_string()))
            .collect()),
        Value::Number(n) => Ok(vec![Value::String(n.to_string())]),
        other => Err(format!("a {} is not a list", type_name(other))),
    }
}

fn to_dict(v: &Value) -> Result<Map<String, Value>, String> {
    match v {
        Value::Object(m) => Ok(m.clone()),
        Value::String(s) if s.trim_start().starts_with('{') => match serde_json::from_str(s) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(other) => Err(format!("JSON {} is not a dict", type_name(&other))),
            Err(e) => Err(format!("invalid JSON: {e}")),
        },
        Value::String(s) => key_value_pairs(s),
        other => Err(format!("a {} is not a dict", type_name(other))),
    }
}

/// `k1=v1, k2=v2` or `k1=v1 k2="v 2"`, as check_type_dict accepts.
fn key_value_pairs(s: &str) -> Result<Map<String, Value>, String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (_, '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => quote = Some(c),
            (None, ',' | ' ' | '\t') => {
                if !cur.is_empty() {
                    fields.push(std::mem::take(&mut cur));
                }
            }
            (None, c) => cur.push(c),
        }
    }
    if quote.is_some() {
        return Err(format!("unterminated quote in '{s}'"));
    }
    if !cur.is_empty() {
        fields.push(cur);
    }
    let mut m = Map::new();
    for f in fields {
        let (k, v) = f
            .split_once('=')
            .ok_or_else(|| format!("'{f}' is not key=value"))?;
        m.insert(k.to_string(), Value::String(v.to_string()));
    }
    Ok(m)
}

/// expanduser(expandvars(p)), as AnsibleModule does for `type: path`.
pub fn expand_path(p: &str) -> String {
    let expanded = expand_vars(p);
    match expanded.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => match std::env::var("HOME") {
            Ok(home) => format!("{home}{rest}"),
            Err(_) => expanded,
        },
        _ => expanded,
    }
}

/// `$VAR` and `${VAR}`; unknown variables stay as written, like os.path.expandvars.
fn expand_vars(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    let mut rest = p;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, consumed) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => ("", 0),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        match (name.is_empty(), std::env::var(name)) {
            (false, Ok(val)) => out.push_str(&val),
            _ => out.push_str(&rest[i..i + 1 + consumed]),
        }
        rest = &rest[i + 1 + consumed..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bools_from_ansible_words_in_any_case() {
        for w in ["y", "YES", "On", "1", "true", "T"] {
            assert_eq!(coerce(&json!(w), Kind::Bool), Ok(json!(true)), "{w}");
        }
        for w in ["n", "No", "OFF", "0", "False", "f"] {
            assert_eq!(coerce(&json!(w), Kind::Bool), Ok(json!(false)), "{w}");
        }
        assert_eq!(coerce(&json!(1), Kind::Bool), Ok(json!(true)));
        assert_eq!(coerce(&json!(0), Kind::Bool), Ok(json!(false)));
        assert!(coerce(&json!("maybe"), Kind::Bool)
            .unwrap_err()
            .contains("'maybe' is not a valid boolean"));
        assert!(coerce(&json!(2), Kind::Bool).is_err());
        assert!(coerce(&json!([]), Kind::Bool).is_err());
    }

    #[test]
    fn ints_and_floats_from_numeric_strings() {
        assert_eq!(coerce(&json!("42"), Kind::Int), Ok(json!(42)));
        assert_eq!(coerce(&json!(" -7 "), Kind::Int), Ok(json!(-7)));
        assert_eq!(coerce(&json!(3.0), Kind::Int), Ok(json!(3)));
        assert!(coerce(&json!(3.5), Kind::Int).is_err());
        assert!(coerce(&json!("5s"), Kind::Int)
            .unwrap_err()
            .contains("'5s' is not a whole number"));
        assert_eq!(coerce(&json!("2.5"), Kind::Float), Ok(json!(2.5)));
        assert_eq!(coerce(&json!(2), Kind::Float), Ok(json!(2.0)));
        assert!(coerce(&json!("x"), Kind::Float).is_err());
        assert!(coerce(&json!(true), Kind::Int).is_err());
    }

    #[test]
    fn lists_from_comma_separated_strings() {
        assert_eq!(
            coerce(&json!("a, b,c"), Kind::List),
            Ok(json!(["a", "b", "c"]))
        );
        assert_eq!(coerce(&json!(""), Kind::List), Ok(json!([])));
        assert_eq!(coerce(&json!(5), Kind::List), Ok(json!(["5"])));
        assert_eq!(coerce(&json!(["x"]), Kind::List), Ok(json!(["x"])));
        assert!(coerce(&json!({"a": 1}), Kind::List).is_err());
    }

    #[test]
    fn dicts_from_json_or_key_value_strings() {
        assert_eq!(
            coerce(&json!("{\"a\": 1}"), Kind::Dict),
            Ok(json!({"a": 1}))
        );
        assert_eq!(
            coerce(&json!("a=1, b='x y' c=3"), Kind::Dict),
            Ok(json!({"a": "1", "b": "x y", "c": "3"}))
        );
        assert!(coerce(&json!("novalue"), Kind::Dict).is_err());
        assert!(coerce(&json!("[1]"), Kind::Dict).is_err());
        assert!(coerce(&json!("{bad"), Kind::Dict).is_err());
    }

    #[test]
    fn strings_from_scalars_but_not_containers() {
        assert_eq!(coerce(&json!(5), Kind::Str), Ok(json!("5")));
        assert_eq!(coerce(&json!(true), Kind::Str), Ok(json!("True")));
        assert!(coerce(&json!(["a"]), Kind::Str).is_err());
    }

    #[test]
    fn paths_expand_home_and_variables() {
        let home = std::env::var("HOME").unwrap_or_default();
        assert_eq!(
            coerce(&json!("~/x"), Kind::Path),
            Ok(json!(format!("{home}/x")))
        );
        assert_eq!(
            coerce(&json!("${HOME}/y"), Kind::Path),
            Ok(json!(format!("{home}/y")))
        );
        assert_eq!(
            coerce(&json!("/a/$ETCD_OPS_SURELY_UNSET/b"), Kind::Path),
            Ok(json!("/a/$ETCD_OPS_SURELY_UNSET/b"))
        );
        assert_eq!(coerce(&json!("~user/x"), Kind::Path), Ok(json!("~user/x")));
    }
}
