//! The server's memory, read from `/proc/PID/status` (Linux only).

use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;

/// How often the sampler reads the server's resident set size.
const SAMPLE_EVERY: Duration = Duration::from_millis(200);

/// Resident set sizes of the server process, in KiB.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MemoryReading {
    /// `VmRSS`: resident now.
    pub rss_kib: u64,
    /// `VmHWM`: the peak resident set size since the process started, kept by the kernel.
    pub hwm_kib: u64,
}

/// Reads `VmRSS` and `VmHWM` of process `pid`.
pub fn read(pid: u32) -> std::io::Result<MemoryReading> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    parse_status(&status).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("/proc/{pid}/status has no VmRSS or VmHWM line"),
        )
    })
}

fn parse_status(status: &str) -> Option<MemoryReading> {
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
    };
    Some(MemoryReading {
        rss_kib: field("VmRSS:")?,
        hwm_kib: field("VmHWM:")?,
    })
}

/// Reads the server's `VmRSS` every [`SAMPLE_EVERY`] until `stop` becomes true, and returns
/// the highest value seen, in KiB. Failed reads are skipped.
pub async fn sample_peak_rss(pid: u32, mut stop: watch::Receiver<bool>) -> u64 {
    let mut peak = 0;
    let mut ticks = tokio::time::interval(SAMPLE_EVERY);
    loop {
        tokio::select! {
            _ = stop.wait_for(|stopped| *stopped) => return peak,
            _ = ticks.tick() => {
                if let Ok(reading) = read(pid) {
                    peak = peak.max(reading.rss_kib);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_fields_parse() {
        let status = "Name:\tsession-journey\nVmPeak:\t  900000 kB\nVmHWM:\t   51234 kB\nVmRSS:\t   48000 kB\n";
        assert_eq!(
            parse_status(status),
            Some(MemoryReading {
                rss_kib: 48_000,
                hwm_kib: 51_234
            })
        );
    }

    #[test]
    fn missing_field_is_none() {
        assert_eq!(parse_status("Name:\tx\nVmRSS:\t1 kB\n"), None);
    }

    #[test]
    fn own_process_is_readable() {
        let reading = read(std::process::id()).expect("this process's status is readable");
        assert!(reading.rss_kib > 0);
        assert!(reading.hwm_kib >= reading.rss_kib);
    }
}
