//! The container's log lines around a failed case: the log as `logs --timestamps` prints it
//! (an RFC 3339 UTC time before each line), cut to the seconds around each failed case, so a
//! human reading the run sees what the server said while it failed the rule. Pure apart from
//! nothing: the caller reads the log and knows the cases' times.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One log line and when the runtime received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub at: SystemTime,
    pub text: String,
}

/// The lines of a `logs --timestamps` output; lines without a readable time are dropped.
pub fn parse(log: &str) -> Vec<LogLine> {
    log.lines()
        .filter_map(|line| {
            let (stamp, text) = line.split_once(' ')?;
            Some(LogLine {
                at: parse_rfc3339_utc(stamp)?,
                text: text.to_owned(),
            })
        })
        .collect()
}

/// The lines from `margin` before `start` to `margin` after `end`, at most `limit` (the last
/// ones).
pub fn around(
    lines: &[LogLine],
    start: SystemTime,
    end: SystemTime,
    margin: Duration,
    limit: usize,
) -> Vec<&LogLine> {
    let from = start.checked_sub(margin).unwrap_or(UNIX_EPOCH);
    let to = end + margin;
    let inside: Vec<&LogLine> = lines
        .iter()
        .filter(|l| l.at >= from && l.at <= to)
        .collect();
    inside[inside.len().saturating_sub(limit)..].to_vec()
}

/// `2026-12-07T17:57:26.284123456Z` or `…+00:00` (Docker and Podman print UTC).
fn parse_rfc3339_utc(stamp: &str) -> Option<SystemTime> {
    let (date, time) = stamp.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let time = time
        .strip_suffix('Z')
        .or_else(|| time.strip_suffix("+00:00"))?;
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.split(':').map(|p| p.parse::<i64>().ok());
    let (h, min, s) = (t.next()??, t.next()??, t.next()??);
    let nanos: u32 = format!("{:0<9}", frac.get(..9).unwrap_or(frac))
        .parse()
        .ok()?;
    let secs = days_from_civil(y, m, day) * 86_400 + h * 3600 + min * 60 + s;
    Some(UNIX_EPOCH + Duration::new(u64::try_from(secs).ok()?, nanos))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_runtimes_stamps_parse_and_lines_are_cut_to_the_window() {
        let log = "2026-12-07T17:57:26.284123456Z first\n\
                   2026-12-07T17:57:27.5+00:00 second\n\
                   not stamped\n\
                   2026-12-07T17:57:40Z third\n";
        let lines = parse(log);
        assert_eq!(lines.len(), 3);
        let first = UNIX_EPOCH + Duration::new(1_796_666_246, 284_123_456);
        assert_eq!(lines[0].at, first);
        let got = around(&lines, first, first, Duration::from_secs(2), 10);
        let texts: Vec<&str> = got.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["first", "second"]);
        assert_eq!(
            around(&lines, first, first, Duration::from_secs(60), 1).len(),
            1
        );
        assert_eq!(days_from_civil(1970, 1, 1), 0);
    }
}
