//! Certificate times as Unix seconds and ISO 8601 UTC strings. OpenSSL only compares and
//! diffs ASN1_TIMEs; results and reasons need calendar dates and whole days.

use crate::error::{Error, Result};
use openssl::asn1::{Asn1Time, Asn1TimeRef};
use std::time::{SystemTime, UNIX_EPOCH};

pub const DAY: i64 = 86_400;

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

pub fn unix_seconds(t: &Asn1TimeRef) -> Result<i64> {
    let epoch = Asn1Time::from_unix(0).map_err(|e| Error::openssl("building the epoch", e))?;
    let d = epoch
        .diff(t)
        .map_err(|e| Error::openssl("reading a certificate time", e))?;
    Ok(i64::from(d.days) * DAY + i64::from(d.secs))
}

pub fn asn1(secs: i64) -> Result<Asn1Time> {
    Asn1Time::from_unix(secs as _).map_err(|e| Error::openssl("building a certificate time", e))
}

/// `2030-11-23T11:19:00Z`.
pub fn iso8601(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(DAY), secs.rem_euclid(DAY));
    let (y, m, d) = confedit::utc::civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Whole days from `now` to `until`, rounded toward negative infinity, so a certificate
/// that expired an hour ago has -1 days left, not 0.
pub fn whole_days(now: i64, until: i64) -> i64 {
    (until - now).div_euclid(DAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_dates() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso8601(1_735_689_599), "2024-12-31T23:59:59Z");
        assert_eq!(iso8601(4_102_444_800), "2100-01-01T00:00:00Z");
    }

    #[test]
    fn round_trips_through_asn1() {
        for secs in [
            0,
            1_700_000_000,
            2_524_608_000, /* 2050: GeneralizedTime */
        ] {
            assert_eq!(unix_seconds(&asn1(secs).unwrap()).unwrap(), secs);
        }
    }

    #[test]
    fn whole_days_round_down() {
        assert_eq!(whole_days(0, DAY * 10 - 1), 9);
        assert_eq!(whole_days(0, DAY * 10), 10);
        assert_eq!(whole_days(0, -1), -1);
    }
}
