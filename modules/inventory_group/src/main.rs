//! inventory_group: the procedures' "update the inventory" steps, such as moving a host from
//! [new_etcd] to [etcd] after scaleup or dropping a removed member from [etcd]. Runs against
//! the controller's INI inventory (delegate_to: localhost); host variables and comments stay.

use ansible_module::{run, Failure, ModuleSpec, Opt};
use confedit::module::{edit_file, respond};
use confedit::Inventory;

fn spec() -> ModuleSpec {
    ModuleSpec::new(
        "inventory_group",
        "Add a host to or remove it from a group of an INI inventory",
    )
    .option(
        Opt::path("path")
            .doc("The INI inventory file.")
            .required()
            .help("the INI inventory file"),
    )
    .option(
        Opt::str("host")
            .doc(
                "The host name, or for I(state=present) a full host line C(name \
                key=value ...).",
            )
            .required()
            .help(
                "host name, or a full host line `name key=value ...` for \
                state=present",
            ),
    )
    .option(
        Opt::str("group")
            .doc("The group whose C([section]) lists the host.")
            .required()
            .help("the group's [section] name"),
    )
    .option(
        Opt::str("state")
            .doc("Whether the host is listed in the group.")
            .default("present")
            .choices(["present", "absent"])
            .help("whether the host is listed in the group"),
    )
    .option(confedit::module::backup_option())
    .option(confedit::module::create_option())
}

fn main() {
    run(spec(), |m| {
        let p = &m.params;
        let (host, group) = (p.str("host").unwrap_or(""), p.str("group").unwrap_or(""));
        let present = p.str("state") == Some("present");
        if !present && host.split_whitespace().count() != 1 {
            return Err(Failure::new(format!(
                "state=absent takes a host name, not `{host}`"
            )));
        }
        let path = p.path("path").unwrap_or_default();
        let outcome = edit_file(m, &path, Inventory::validate, |text| {
            let mut inv = Inventory::parse(text)?;
            if present {
                inv.add_host(group, host)?;
            } else {
                inv.remove_host(group, host.trim());
            }
            Ok(inv.render())
        })?;
        let hosts = Inventory::parse(&outcome.after)?.hosts(group);
        let msg = format!("[{group}]: {}", hosts.join(", "));
        Ok(respond(&outcome, msg).set("hosts", hosts))
    })
}
