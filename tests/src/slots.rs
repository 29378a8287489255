//! Address slots: slot `s` owns 127.0.s.11 ..= 127.0.s.17 (ports 2379/2380), so labs running
//! in parallel (cargo runs tests on many threads, and several test binaries at once) never share
//! an address.
//!
//! A slot is claimed by an exclusive `flock` on `/tmp/etcd-ops-lab/slot-<s>.lock`, held for the
//! life of the [`SlotLock`]; the kernel drops it when the process dies, so a crashed test frees
//! its slot. A crashed test may still have left etcds listening, so a slot is also only taken
//! when nothing listens on any of its addresses.

use crate::error::{Context, Error, Result};
use std::fs::{File, OpenOptions};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener};
use std::path::PathBuf;

/// Reserved for `make lab` / `make demo`; tests never claim it implicitly.
pub const RESERVED_SLOT: u8 = 0;
/// Slots handed out by [`claim_any`].
pub const AUTO_SLOTS: std::ops::RangeInclusive<u8> = 1..=250;
/// Most hosts a lab can have (members + spares): 127.0.s.11 ..= 127.0.s.17.
pub const MAX_HOSTS: usize = 7;
/// etcd's client port.
pub const CLIENT_PORT: u16 = 2379;
/// etcd's peer port.
pub const PEER_PORT: u16 = 2380;

const LOCK_DIR: &str = "/tmp/etcd-ops-lab";

/// The loopback address of host `index` (1-based) in `slot`. Only ever 127.0.0.0/8.
pub fn host_ip(slot: u8, index: usize) -> Ipv4Addr {
    assert!(
        (1..=MAX_HOSTS).contains(&index),
        "host index {index} out of 1..={MAX_HOSTS}"
    );
    Ipv4Addr::new(127, 0, slot, 10 + index as u8)
}

/// The management address of host `index` in `slot`, 127.0.s.(100+i): a machine's sshd listens
/// there too and etcd does not, as on hosts that Ansible reaches by a management network.
pub fn management_ip(slot: u8, index: usize) -> Ipv4Addr {
    assert!(
        (1..=MAX_HOSTS).contains(&index),
        "host index {index} out of 1..={MAX_HOSTS}"
    );
    Ipv4Addr::new(127, 0, slot, 100 + index as u8)
}

/// An exclusive claim on a slot; dropping it (or exiting) releases the slot.
#[derive(Debug)]
pub struct SlotLock {
    slot: u8,
    _file: File,
}

impl SlotLock {
    /// The claimed slot.
    pub fn slot(&self) -> u8 {
        self.slot
    }
}

/// Claims exactly `slot`, failing if another lab holds it or its addresses are in use.
pub fn claim(slot: u8) -> Result<SlotLock> {
    try_claim(slot)?.with_context(|| {
        format!(
            "slot {slot} is held by another lab (lock {})",
            lock_path(slot).display()
        )
    })
}

/// Claims the first free slot in [`AUTO_SLOTS`], starting at an offset derived from the pid so
/// that parallel test binaries do not all race for slot 1.
pub fn claim_any() -> Result<SlotLock> {
    let n = AUTO_SLOTS.count();
    let start = std::process::id() as usize % n;
    let mut last_err = None;
    for i in 0..n {
        let slot = *AUTO_SLOTS.start() + ((start + i) % n) as u8;
        match try_claim(slot) {
            Ok(Some(lock)) => return Ok(lock),
            Ok(None) => {}
            Err(e) => last_err = Some(e),
        }
    }
    Err(match last_err {
        Some(e) => Error::msg(format!(
            "no free lab slot in {AUTO_SLOTS:?}; last error: {e}"
        )),
        None => Error::msg(format!("no free lab slot in {AUTO_SLOTS:?}")),
    })
}

/// `Ok(None)` when the lock is held elsewhere; an error when the lock is ours but an address
/// is busy (the lock is released again before returning).
fn try_claim(slot: u8) -> Result<Option<SlotLock>> {
    std::fs::create_dir_all(LOCK_DIR).with_context(|| format!("creating {LOCK_DIR}"))?;
    let path = lock_path(slot);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(Error::msg(format!("locking {}: {e}", path.display())))
        }
    }
    if let Some(busy) = busy_address(slot) {
        return Err(Error::msg(format!(
            "slot {slot}: {busy} is already in use (an etcd left running by an earlier lab? \
             try `etcd-lab down --dir <its dir>`)"
        )));
    }
    Ok(Some(SlotLock { slot, _file: file }))
}

/// Binding is the reliable "does anything listen here" probe: it also catches a listener on
/// 0.0.0.0 and does not depend on the other side accepting connections.
fn busy_address(slot: u8) -> Option<SocketAddrV4> {
    (1..=MAX_HOSTS)
        .flat_map(|i| [CLIENT_PORT, PEER_PORT].map(|p| SocketAddrV4::new(host_ip(slot, i), p)))
        .find(|addr| TcpListener::bind(addr).is_err())
}

fn lock_path(slot: u8) -> PathBuf {
    PathBuf::from(LOCK_DIR).join(format!("slot-{slot}.lock"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_loopback() {
        assert_eq!(host_ip(0, 1), Ipv4Addr::new(127, 0, 0, 11));
        assert_eq!(host_ip(250, 7), Ipv4Addr::new(127, 0, 250, 17));
        assert!(host_ip(7, 3).is_loopback());
    }

    #[test]
    fn a_held_slot_is_not_claimed_twice() {
        let a = claim_any().unwrap();
        assert!(try_claim(a.slot()).unwrap().is_none());
        let b = claim_any().unwrap();
        assert_ne!(a.slot(), b.slot());
    }
}
