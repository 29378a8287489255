//! Sizes as operators read them in etcdctl's table output, for every module's messages.

pub fn human(n: i64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::human;

    #[test]
    fn sizes_read_like_etcdctl_table_output() {
        assert_eq!(human(512), "512 B");
        assert_eq!(human(24576), "24.0 KiB");
        assert_eq!(human(3 * 1024 * 1024 + 512 * 1024), "3.5 MiB");
    }
}
