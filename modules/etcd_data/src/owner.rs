//! A user or group by name or number, from the host's /etc/passwd and /etc/group (a static
//! binary has no NSS; etcd's user is a local one, made by its package).

use std::fs;

/// The id of `name` in a passwd- or group-format `table` (`name:x:id:...`); a number is its
/// own id.
pub fn id_in(table: &str, name: &str) -> Option<u32> {
    if let Ok(n) = name.parse() {
        return Some(n);
    }
    table.lines().find_map(|l| {
        let mut f = l.split(':');
        (f.next()? == name).then_some(())?;
        f.nth(1)?.parse().ok()
    })
}

/// `user` and `group` (the user's name for the group when it is not given) as ids.
pub fn resolve(user: &str, group: Option<&str>) -> Result<(u32, u32), String> {
    let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
    let groups = fs::read_to_string("/etc/group").unwrap_or_default();
    let uid = id_in(&passwd, user)
        .ok_or_else(|| format!("owner {user:?}: no such user in /etc/passwd"))?;
    let group = group.unwrap_or(user);
    let gid = id_in(&groups, group)
        .ok_or_else(|| format!("group {group:?}: no such group in /etc/group"))?;
    Ok((uid, gid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers_are_ids() {
        let t = "root:x:0:0:root:/root:/bin/bash\netcd:x:998:996:etcd user:/var/lib/etcd:/sbin/nologin\n";
        assert_eq!(id_in(t, "etcd"), Some(998));
        assert_eq!(id_in(t, "root"), Some(0));
        assert_eq!(id_in(t, "1234"), Some(1234));
        assert_eq!(id_in(t, "etc"), None);
        assert_eq!(id_in("etcd:x:996:\n", "etcd"), Some(996));
    }
}
