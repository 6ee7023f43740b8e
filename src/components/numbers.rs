//! Number formatting for the dashboard and the server's log lines.
//!
//! These helpers round to an integer and print that, instead of using `{:.2}` on an `f64`:
//! the standard float formatter and parser add about 20 KB to the browser bundle, and the
//! dashboard needs only fixed decimals.

/// Formats `value` with `decimals` digits after the point, rounding halves away from zero.
/// Values that are not finite print as a dash.
pub fn fixed(value: f64, decimals: u32) -> String {
    if !value.is_finite() {
        return "–".to_owned();
    }
    let scale = 10_u64.pow(decimals.min(6));
    // Rounding by adding a half and truncating, because `f64::round` is not in `core`.
    let scaled = (value.abs() * scale as f64 + 0.5) as u64;
    let sign = if value < 0.0 && scaled > 0 { "-" } else { "" };
    let whole = scaled / scale;
    if decimals == 0 {
        return format!("{sign}{whole}");
    }
    let fraction = scaled % scale;
    let width = decimals.min(6) as usize;
    format!("{sign}{whole}.{fraction:0width$}")
}

/// Writes `count` with `noun`, adding an "s" for any count but one, as in "2 sessions".
pub fn count_of(count: u64, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// Formats microseconds as "850 µs" below a millisecond and as "1.25 ms" above.
pub fn duration_us(us: u64) -> String {
    if us < 1000 {
        format!("{us} µs")
    } else {
        // Hundredths of a millisecond, rounded, in integers so that 12,345 µs reads 12.35 ms.
        let hundredths = (us + 5) / 10;
        format!("{}.{:02} ms", hundredths / 100, hundredths % 100)
    }
}

/// Formats seconds since the Unix epoch as the time of day in UTC, such as "16:59:03 UTC".
pub fn utc_time_of_day(unix_seconds: u64) -> String {
    let seconds = unix_seconds % 86_400;
    format!("{:02}:{:02}:{:02} UTC", seconds / 3600, seconds / 60 % 60, seconds % 60)
}

/// Formats a count of seconds as minutes and seconds, such as "14:05", or "expired" at 0.
pub fn countdown(seconds: u64) -> String {
    if seconds == 0 {
        return "expired".to_owned();
    }
    format!("{}:{:02}", seconds / 60, seconds % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_of_adds_plural_s() {
        assert_eq!(count_of(0, "session"), "0 sessions");
        assert_eq!(count_of(1, "refresh token"), "1 refresh token");
        assert_eq!(count_of(2, "session"), "2 sessions");
    }

    #[test]
    fn fixed_rounds_to_the_given_decimals() {
        assert_eq!(fixed(0.0, 2), "0.00");
        assert_eq!(fixed(1.005, 1), "1.0");
        assert_eq!(fixed(2.375, 2), "2.38");
        assert_eq!(fixed(1234.5, 0), "1235");
        assert_eq!(fixed(0.096, 3), "0.096");
        assert_eq!(fixed(-1.25, 1), "-1.3");
        assert_eq!(fixed(-0.001, 1), "0.0");
        assert_eq!(fixed(f64::NAN, 2), "–");
    }

    #[test]
    fn durations_switch_to_milliseconds_at_one_thousand_microseconds() {
        assert_eq!(duration_us(999), "999 µs");
        assert_eq!(duration_us(1000), "1.00 ms");
        assert_eq!(duration_us(12_345), "12.35 ms");
    }

    #[test]
    fn time_of_day_wraps_at_midnight() {
        assert_eq!(utc_time_of_day(0), "00:00:00 UTC");
        assert_eq!(utc_time_of_day(1_796_403_543), "16:59:03 UTC");
        assert_eq!(utc_time_of_day(86_399), "23:59:59 UTC");
    }

    #[test]
    fn countdown_shows_minutes_and_seconds() {
        assert_eq!(countdown(0), "expired");
        assert_eq!(countdown(5), "0:05");
        assert_eq!(countdown(845), "14:05");
        assert_eq!(countdown(3600), "60:00");
    }
}
