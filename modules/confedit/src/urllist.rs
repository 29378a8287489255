//! Lists of etcd client URLs kept in config files (flanneld's `FLANNEL_ETCD_ENDPOINTS`, the
//! master's `etcdClientInfo.urls`): either replaced by an exact list, or edited by adding and
//! removing entries while the operator's order stays. Every URL the result holds is validated,
//! so a file is never written with an entry the daemon would dial on a default port.

use crate::error::{Error, Result};
use crate::url::validate_url;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListEdit {
    /// Make the list exactly this, in this order (duplicates dropped).
    Exact(Vec<String>),
    /// Keep the current list in its order, drop `remove`, then append the `add` not yet there.
    Change {
        add: Vec<String>,
        remove: Vec<String>,
    },
}

impl ListEdit {
    /// The edit a module's options ask for: `exact` excludes `add`/`remove`, and something must
    /// be asked for. `names` are the option names, for the error messages.
    pub fn from_options(
        names: [&str; 3],
        exact: Option<Vec<String>>,
        add: Vec<String>,
        remove: Vec<String>,
    ) -> Result<ListEdit> {
        let [exact_name, add_name, remove_name] = names;
        match exact {
            Some(_) if !add.is_empty() || !remove.is_empty() => Err(Error::invalid(format!(
                "{exact_name} sets the whole list; it cannot be combined with {add_name} or {remove_name}"
            ))),
            Some(list) => Ok(ListEdit::Exact(list)),
            None if add.is_empty() && remove.is_empty() => Err(Error::invalid(format!(
                "nothing to do: give {exact_name}, or {add_name} and/or {remove_name}"
            ))),
            None => Ok(ListEdit::Change { add, remove }),
        }
    }

    /// The list after the edit, validated; an edit that would leave it empty is refused, since
    /// an empty endpoint list stops the daemon rather than reconfiguring it.
    pub fn apply(&self, current: &[String]) -> Result<Vec<String>> {
        let mut out: Vec<String> = Vec::new();
        let mut push = |url: &str| {
            if !out.iter().any(|u| same_url(u, url)) {
                out.push(url.to_string());
            }
        };
        match self {
            ListEdit::Exact(list) => list.iter().for_each(|u| push(u)),
            ListEdit::Change { add, remove } => {
                current
                    .iter()
                    .filter(|u| !remove.iter().any(|r| same_url(r, u)))
                    .for_each(|u| push(u));
                add.iter()
                    .filter(|u| !remove.iter().any(|r| same_url(r, u)))
                    .for_each(|u| push(u));
            }
        }
        if out.is_empty() {
            return Err(Error::invalid("the edit would leave no URLs; refusing"));
        }
        for url in &out {
            validate_url(url)?;
        }
        Ok(out)
    }
}

/// A trailing slash does not make a different endpoint.
fn same_url(a: &str, b: &str) -> bool {
    a.strip_suffix('/').unwrap_or(a) == b.strip_suffix('/').unwrap_or(b)
}

/// A comma-separated value as its items, blanks dropped (`a, b,` is `[a, b]`).
pub fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    const NAMES: [&str; 3] = ["endpoints", "add", "remove"];

    #[test]
    fn options_are_exclusive_and_required() {
        let e = ListEdit::from_options(NAMES, Some(v(&["http://a:1"])), v(&["http://b:1"]), vec![])
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "endpoints sets the whole list; it cannot be combined with add or remove"
        );
        let e = ListEdit::from_options(NAMES, None, vec![], vec![]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "nothing to do: give endpoints, or add and/or remove"
        );
    }

    #[test]
    fn change_keeps_order_and_drops_duplicates() {
        let current = v(&["http://a:1", "http://b:1", "http://a:1/", "http://c:1"]);
        let edit = ListEdit::Change {
            add: v(&["http://d:1", "http://b:1"]),
            remove: v(&["http://c:1/"]),
        };
        assert_eq!(
            edit.apply(&current).unwrap(),
            v(&["http://a:1", "http://b:1", "http://d:1"])
        );
        let exact = ListEdit::Exact(v(&["http://z:1", "http://z:1", "http://y:1"]));
        assert_eq!(
            exact.apply(&current).unwrap(),
            v(&["http://z:1", "http://y:1"])
        );
    }

    #[test]
    fn result_is_validated_and_never_empty() {
        let edit = ListEdit::Change {
            add: v(&["10.0.0.1:2379"]),
            remove: vec![],
        };
        let e = edit.apply(&[]).unwrap_err().to_string();
        assert!(e.contains("invalid URL `10.0.0.1:2379`"), "{e}");
        let edit = ListEdit::Change {
            add: vec![],
            remove: v(&["http://a:1"]),
        };
        let e = edit.apply(&v(&["http://a:1"])).unwrap_err().to_string();
        assert_eq!(e, "the edit would leave no URLs; refusing");
    }

    #[test]
    fn split() {
        assert_eq!(split_list(" a, b,,c ,"), v(&["a", "b", "c"]));
        assert!(split_list("").is_empty());
    }
}
