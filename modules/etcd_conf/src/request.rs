//! The edits a task asks for, read and checked from the options before the file is opened, so
//! a bad option fails without touching anything and the edit itself cannot half-apply.

use crate::checks::{check_value, FORCE_NEW_CLUSTER, INITIAL_CLUSTER};
use ansible_module::coerce::type_name;
use ansible_module::{Failure, Params};
use confedit::{EnvFile, Error, InitialCluster};
use serde_json::Value;

pub struct Request {
    /// KEY and its new value; None removes the key.
    settings: Vec<(String, Option<String>)>,
    /// Member name and the peer URLs it must have.
    cluster_add: Vec<(String, Vec<String>)>,
    /// Member names or peer URLs.
    cluster_remove: Vec<String>,
    force_new_cluster: Option<bool>,
}

impl Request {
    pub fn from_params(p: &Params) -> Result<Request, Failure> {
        let settings = match p.dict("settings") {
            Some(map) => map
                .iter()
                .map(|(k, v)| setting(k, v).map(|v| (k.clone(), v)))
                .collect::<Result<Vec<_>, _>>()?,
            None => Vec::new(),
        };
        let cluster_add = match p.get("initial_cluster_add") {
            Some(v) => confedit::module::initial_cluster_members("initial_cluster_add", v)?,
            None => Vec::new(),
        };
        let cluster_remove = p.strings("initial_cluster_remove");
        let force_new_cluster = p.opt_bool("force_new_cluster");
        let sets = |key: &str| settings.iter().any(|(k, _)| k == key);
        if sets(INITIAL_CLUSTER) && (!cluster_add.is_empty() || !cluster_remove.is_empty()) {
            return Err(Failure::new(
                "settings.ETCD_INITIAL_CLUSTER and initial_cluster_add/initial_cluster_remove are mutually exclusive",
            ));
        }
        if sets(FORCE_NEW_CLUSTER) && force_new_cluster.is_some() {
            return Err(Failure::new(
                "settings.ETCD_FORCE_NEW_CLUSTER and force_new_cluster are mutually exclusive",
            ));
        }
        if settings.is_empty()
            && cluster_add.is_empty()
            && cluster_remove.is_empty()
            && force_new_cluster.is_none()
        {
            return Err(Failure::new(
                "nothing to do: give settings, initial_cluster_add, initial_cluster_remove or force_new_cluster",
            ));
        }
        Ok(Request {
            settings,
            cluster_add,
            cluster_remove,
            force_new_cluster,
        })
    }

    pub fn apply(&self, conf: &mut EnvFile) -> confedit::Result<()> {
        for (key, value) in &self.settings {
            match value {
                Some(v) => {
                    conf.set(key, v)
                        .map_err(|e| Error::invalid(format!("settings.{key}: {e}")))?;
                }
                None => {
                    conf.remove(key);
                }
            }
        }
        self.apply_cluster(conf)?;
        match self.force_new_cluster {
            Some(true) => {
                conf.set(FORCE_NEW_CLUSTER, "true")?;
            }
            // Deleting the line, rather than writing false, is what the procedures ask for
            // once the member has restarted: the file goes back to how the operator had it.
            Some(false) => {
                conf.remove(FORCE_NEW_CLUSTER);
            }
            None => {}
        }
        Ok(())
    }

    fn apply_cluster(&self, conf: &mut EnvFile) -> confedit::Result<()> {
        if self.cluster_add.is_empty() && self.cluster_remove.is_empty() {
            return Ok(());
        }
        let current = conf.get(INITIAL_CLUSTER).map(str::to_string);
        let mut cluster = match &current {
            Some(v) => InitialCluster::parse(v).map_err(|e| {
                let at = conf.line_of(INITIAL_CLUSTER).unwrap_or(0);
                Error::parse(at, format!("{INITIAL_CLUSTER}: {e}"))
            })?,
            None => InitialCluster::default(),
        };
        for gone in &self.cluster_remove {
            if gone.contains("://") {
                cluster.remove_peer_url(gone);
            } else {
                cluster.remove_member(gone);
            }
        }
        for (name, urls) in &self.cluster_add {
            cluster
                .set_member(name, urls)
                .map_err(|e| Error::invalid(format!("initial_cluster_add: {e}")))?;
        }
        if cluster.is_empty() {
            if current.is_none() {
                return Ok(());
            }
            return Err(Error::invalid(format!(
                "initial_cluster_remove would leave {INITIAL_CLUSTER} empty; refusing"
            )));
        }
        let rendered = cluster.render();
        if current.as_deref() != Some(rendered.as_str()) {
            conf.set(INITIAL_CLUSTER, &rendered)?;
        }
        Ok(())
    }
}

/// A settings value as the env file holds it; null means remove.
fn setting(key: &str, v: &Value) -> Result<Option<String>, Failure> {
    let text = match v {
        Value::Null => return Ok(None),
        Value::String(s) => s.clone(),
        // etcd wants lowercase true/false, not Python's True.
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => {
            return Err(Failure::new(format!(
                "settings.{key}: a value of type {} cannot be written to an env file (give a string, number, bool or null)",
                type_name(other)
            )))
        }
    };
    check_value(key, &text).map_err(|why| Failure::new(format!("settings.{key}: {why}")))?;
    Ok(Some(text))
}
