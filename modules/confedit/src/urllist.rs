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
        self.apply_with(current, &Aliases::default())
            .map(|a| a.list)
    }

    /// [`ListEdit::apply`] knowing the other URLs each member goes by. A member is matched by
    /// any of its URLs, so removing it by its IP URL takes out the host name URL the file has;
    /// adding one that is listed under another form changes nothing; and a URL the file does
    /// not have yet is written in the file's style (host names or IPs) when the member has a
    /// URL of that style. An exact list keeps the form the file already has for each member.
    pub fn apply_with(&self, current: &[String], aliases: &Aliases) -> Result<Applied> {
        let style = Style::of(current);
        let mut out: Vec<String> = Vec::new();
        let mut push = |url: &str| {
            if !out.iter().any(|u| aliases.same_member(u, url)) {
                out.push(url.to_string());
            }
        };
        let in_file = |url: &str| current.iter().find(|c| aliases.same_member(c, url));
        let mut unmatched = Vec::new();
        match self {
            ListEdit::Exact(list) => {
                for u in list {
                    match in_file(u) {
                        Some(c) => push(c),
                        None => push(&aliases.form_for(u, style)),
                    }
                }
            }
            ListEdit::Change { add, remove } => {
                let removed = |u: &str| remove.iter().any(|r| aliases.same_member(r, u));
                current.iter().filter(|u| !removed(u)).for_each(|u| push(u));
                for a in add.iter().filter(|u| !removed(u)) {
                    match in_file(a) {
                        Some(c) => push(c),
                        None => push(&aliases.form_for(a, style)),
                    }
                }
                unmatched = remove
                    .iter()
                    .filter(|r| in_file(r).is_none())
                    .cloned()
                    .collect();
            }
        }
        if out.is_empty() {
            return Err(Error::invalid("the edit would leave no URLs; refusing"));
        }
        for url in &out {
            validate_url(url)?;
        }
        Ok(Applied {
            list: out,
            unmatched,
        })
    }
}

/// What [`ListEdit::apply_with`] made of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub list: Vec<String>,
    /// URLs to remove that matched no entry, by any of their forms: a removal that did nothing,
    /// which the modules report as a warning.
    pub unmatched: Vec<String>,
}

/// Every URL each member is known by, e.g. `https://10.0.0.3:2379` (what etcd's member list
/// reports) and `https://ose3-etcd3.example.com:2379` (what openshift-ansible wrote).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Aliases(Vec<Vec<String>>);

impl Aliases {
    /// One list of URLs per member; every URL is validated and may name one member only.
    pub fn new(groups: Vec<Vec<String>>) -> Result<Aliases> {
        for (i, group) in groups.iter().enumerate() {
            for url in group {
                validate_url(url).map_err(|e| Error::invalid(format!("url_aliases[{i}]: {e}")))?;
            }
            for (j, other) in groups.iter().enumerate().skip(i + 1) {
                if let Some(u) = group.iter().find(|u| other.iter().any(|o| same_url(o, u))) {
                    return Err(Error::invalid(format!(
                        "url_aliases: {u} is listed for two members (entries {i} and {j})"
                    )));
                }
            }
        }
        Ok(Aliases(groups))
    }

    /// The URLs `url`'s member goes by, `url` first.
    pub fn forms_of(&self, url: &str) -> Vec<String> {
        let mut forms = vec![url.to_string()];
        if let Some(g) = self.0.iter().find(|g| g.iter().any(|u| same_url(u, url))) {
            forms.extend(g.iter().filter(|u| !same_url(u, url)).cloned());
        }
        forms
    }

    fn same_member(&self, a: &str, b: &str) -> bool {
        same_url(a, b)
            || self
                .0
                .iter()
                .any(|g| g.iter().any(|u| same_url(u, a)) && g.iter().any(|u| same_url(u, b)))
    }

    /// The member's URL in the file's style, or `url` as given.
    fn form_for(&self, url: &str, style: Option<Style>) -> String {
        let forms = self.forms_of(url);
        style
            .and_then(|s| forms.iter().find(|f| Style::of_url(f) == Some(s)))
            .unwrap_or(&forms[0])
            .clone()
    }
}

/// Whether a list names its members by host name or by IP address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    HostNames,
    Ips,
}

impl Style {
    fn of_url(url: &str) -> Option<Style> {
        let host = crate::url::validate_url(url).ok()?.host;
        Some(if host.parse::<std::net::IpAddr>().is_ok() {
            Style::Ips
        } else {
            Style::HostNames
        })
    }

    /// The style every entry shares; none for an empty or mixed list.
    fn of(list: &[String]) -> Option<Style> {
        let mut styles = list.iter().map(|u| Style::of_url(u));
        let first = styles.next()??;
        styles.all(|s| s == Some(first)).then_some(first)
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

    fn aliases() -> Aliases {
        Aliases::new(vec![
            v(&[
                "https://10.0.0.3:2379",
                "https://ose3-etcd3.example.com:2379",
            ]),
            v(&[
                "https://ose3-etcd4.example.com:2379",
                "https://10.0.0.4:2379",
            ]),
        ])
        .unwrap()
    }

    const NAMED: [&str; 3] = [
        "https://ose3-etcd1.example.com:2379",
        "https://ose3-etcd2.example.com:2379",
        "https://ose3-etcd3.example.com:2379",
    ];

    #[test]
    fn a_member_is_matched_by_any_of_its_urls() {
        let edit = ListEdit::Change {
            add: v(&["https://10.0.0.4:2379"]),
            remove: v(&["https://10.0.0.3:2379"]),
        };
        let a = edit.apply_with(&v(&NAMED), &aliases()).unwrap();
        // Removed by its IP URL; the new member written by host name, like the file.
        assert_eq!(
            a.list,
            v(&[NAMED[0], NAMED[1], "https://ose3-etcd4.example.com:2379"])
        );
        assert!(a.unmatched.is_empty());
        // Without aliases the IP URL matches nothing, and says so.
        let a = edit.apply_with(&v(&NAMED), &Aliases::default()).unwrap();
        assert_eq!(a.unmatched, v(&["https://10.0.0.3:2379"]));
        assert_eq!(a.list[..3], v(&NAMED)[..]);
        // An IP-style file gets the IP form.
        let ips = v(&["https://10.0.0.1:2379", "https://10.0.0.3:2379"]);
        let add = ListEdit::Change {
            add: v(&["https://ose3-etcd4.example.com:2379"]),
            remove: vec![],
        };
        assert_eq!(
            add.apply_with(&ips, &aliases()).unwrap().list,
            v(&[
                "https://10.0.0.1:2379",
                "https://10.0.0.3:2379",
                "https://10.0.0.4:2379"
            ])
        );
        // Adding a member listed under its other form, or an exact list of IPs for a file
        // of names, keeps the file as it is.
        let again = ListEdit::Change {
            add: v(&["https://10.0.0.3:2379"]),
            remove: vec![],
        };
        assert_eq!(
            again.apply_with(&v(&NAMED), &aliases()).unwrap().list,
            v(&NAMED)
        );
        let exact = ListEdit::Exact(v(&[NAMED[0], NAMED[1], "https://10.0.0.3:2379"]));
        assert_eq!(
            exact.apply_with(&v(&NAMED), &aliases()).unwrap().list,
            v(&NAMED)
        );
    }

    #[test]
    fn aliases_are_validated() {
        let e = Aliases::new(vec![v(&["https://a:1", "10.0.0.1:2379"])]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "url_aliases[0]: invalid URL `10.0.0.1:2379`: expected http:// or https://"
        );
        let e = Aliases::new(vec![
            v(&["https://a:1", "https://b:1"]),
            v(&["https://b:1/"]),
        ])
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "url_aliases: https://b:1 is listed for two members (entries 0 and 1)"
        );
    }

    #[test]
    fn split() {
        assert_eq!(split_list(" a, b,,c ,"), v(&["a", "b", "c"]));
        assert!(split_list("").is_empty());
    }
}
