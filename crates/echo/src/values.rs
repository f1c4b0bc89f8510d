//! The values the echo server's and the load generator's flags take, parsed one way for
//! both, so that `4K` or `2s` means the same to each: counts, sizes (parse-size's forms,
//! K, M and G powers of 1024) and durations (humantime's forms, or a bare number of
//! seconds). The error is the sentence clap prints after the flag and the value, so it
//! says what the value must be; a negative value says it must be positive (the flags let
//! a leading `-` reach the parser).

use std::str::FromStr;
use std::time::Duration;

/// A whole number of at least 1, within `T`.
///
/// # Errors
/// What the value must be, or that it is too large for `T`.
pub fn count<T: FromStr + PartialOrd + From<u8>>(s: &str) -> Result<T, String> {
    match s.parse::<T>() {
        Ok(n) if n >= T::from(1) => Ok(n),
        Err(_) if s.parse::<u128>().is_ok() => Err(format!("`{s}` is too large")),
        _ => Err("must be a whole number, at least 1".into()),
    }
}

/// A size in bytes, at least 1: `262144`, `256K`, `256KiB`, `1.5M`, `1G`.
///
/// # Errors
/// A zero, negative or unreadable size.
pub fn size(s: &str) -> Result<usize, String> {
    let bytes = parse_size::Config::new().with_binary().parse_size(s).ok();
    match bytes.and_then(|b| usize::try_from(b).ok()) {
        Some(0) => Err("the size must be at least 1 byte".into()),
        Some(n) => Ok(n),
        None if s.starts_with('-') => Err("the size must be positive".into()),
        None => Err(format!("`{s}` is not a size (e.g. 4096, 4K, 256KiB, 1M)")),
    }
}

/// A duration of zero or more: `500ms`, `1.5s`, `2m`, `1h 30m`, or `10` (seconds).
///
/// # Errors
/// A negative or unreadable duration.
pub fn duration(s: &str) -> Result<Duration, String> {
    let parsed = match s.parse::<f64>() {
        Ok(seconds) => Duration::try_from_secs_f64(seconds).ok(),
        Err(_) => humantime::parse_duration(s).ok(),
    };
    match parsed {
        Some(d) => Ok(d),
        None if s.starts_with('-') => Err("the duration must be positive".into()),
        None => Err(format!("`{s}` is not a duration (e.g. 500ms, 30s, 2m, 1h 30m)")),
    }
}

/// A duration above zero, for what a loop waits for or a run measures: zero would turn a
/// timer into a busy loop, close at once, or measure nothing.
///
/// # Errors
/// Those of [`duration`], and zero.
pub fn positive_duration(s: &str) -> Result<Duration, String> {
    match duration(s)? {
        d if d.is_zero() => Err("the duration must be more than zero".into()),
        d => Ok(d),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(size("262144"), Ok(262144));
        assert_eq!(size("256K"), Ok(256 << 10));
        assert_eq!(size("256KiB"), Ok(256 << 10));
        assert_eq!(size("1MiB"), Ok(1 << 20));
        assert_eq!(size("0"), Err("the size must be at least 1 byte".into()));
        assert_eq!(size("-4K"), Err("the size must be positive".into()));
        assert!(size("12X").is_err());
        assert!(size("K").is_err());
    }

    #[test]
    fn counts() {
        assert_eq!(count::<usize>("3"), Ok(3));
        assert!(count::<usize>("0").is_err());
        assert!(count::<usize>("-1").is_err());
        assert_eq!(count::<u16>("70000"), Err("`70000` is too large".into()));
    }

    #[test]
    fn durations() {
        assert_eq!(duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(duration("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(duration("0"), Ok(Duration::ZERO));
        assert_eq!(duration("-1s"), Err("the duration must be positive".into()));
        assert_eq!(duration("-1"), Err("the duration must be positive".into()));
        assert!(duration("inf").is_err());
        assert!(duration("soon").is_err());
        assert_eq!(positive_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(positive_duration("0s"), Err("the duration must be more than zero".into()));
        assert!(positive_duration("-1").is_err());
    }
}
