//! Masks secrets in results like AnsibleModule.remove_values: Ansible does not do it for
//! binary modules, so a key path or password echoed in a message would reach the log.

use serde_json::Value;
use std::sync::{Mutex, OnceLock};

/// The secrets of the running module, for the panic hook: a panic inside the module's body
/// happens after validation found them, and its message must be masked as a result would be.
static REMEMBERED: OnceLock<Mutex<Vec<String>>> = OnceLock::new();

/// Validation's secrets (every no_log option, however it was named), kept for [`remembered`].
pub fn remember(secrets: &[String]) {
    if let Ok(mut s) = REMEMBERED.get_or_init(Default::default).lock() {
        *s = secrets.to_vec();
    }
}

/// What [`remember`] kept; nothing before validation ran.
pub fn remembered() -> Vec<String> {
    REMEMBERED
        .get()
        .and_then(|m| m.lock().ok().map(|s| s.clone()))
        .unwrap_or_default()
}

pub const MASK: &str = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER";
const PARTIAL: &str = "********";

pub fn mask(v: &mut Value, secrets: &[String]) {
    if secrets.is_empty() {
        return;
    }
    match v {
        Value::String(s) => *s = mask_str(s, secrets),
        Value::Number(n) => {
            if secrets.contains(&n.to_string()) {
                *v = Value::String(MASK.to_string());
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|x| mask(x, secrets)),
        Value::Object(m) => m.values_mut().for_each(|x| mask(x, secrets)),
        Value::Null | Value::Bool(_) => {}
    }
}

pub fn mask_str(s: &str, secrets: &[String]) -> String {
    if secrets.iter().any(|x| x == s) {
        return MASK.to_string();
    }
    let mut out = s.to_string();
    // Longest first, so that a secret containing another is masked whole.
    let mut sorted: Vec<&String> = secrets.iter().collect();
    sorted.sort_by_key(|x| std::cmp::Reverse(x.len()));
    for secret in sorted {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), PARTIAL);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn whole_values_and_substrings_are_masked_everywhere() {
        let secrets = vec!["s3cret".to_string(), "1234".to_string()];
        let mut v = json!({
            "a": "s3cret",
            "b": ["x", "the password s3cret leaked"],
            "c": {"d": 1234, "e": "pin 1234"},
            "f": true,
        });
        mask(&mut v, &secrets);
        assert_eq!(
            v,
            json!({
                "a": MASK,
                "b": ["x", "the password ******** leaked"],
                "c": {"d": MASK, "e": "pin ********"},
                "f": true,
            })
        );
    }

    #[test]
    fn nothing_to_mask_leaves_the_value() {
        let mut v = json!({"a": "b"});
        mask(&mut v, &[]);
        assert_eq!(v, json!({"a": "b"}));
    }
}
