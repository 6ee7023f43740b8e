//! The check that keeps all traffic on loopback.

use std::fmt;

use url::{Host, Url};

/// Reason a target URL was rejected.
#[derive(Debug, PartialEq, Eq)]
pub enum TargetError {
    /// The scheme is not `http`.
    Scheme(String),
    /// The host is a name, which is not resolved, so it could lead anywhere.
    HostName(String),
    /// The host is an IP address outside 127.0.0.0/8 and ::1.
    NotLoopback(String),
    /// The URL has no host.
    MissingHost,
}

impl fmt::Display for TargetError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Scheme(scheme) => write!(
                formatter,
                "the URL scheme {scheme:?} is not supported; use http://127.0.0.1:PORT"
            ),
            Self::HostName(name) => write!(
                formatter,
                "the host {name:?} is a name, and names are not resolved; use a loopback IP address such as 127.0.0.1 or [::1]"
            ),
            Self::NotLoopback(address) => write!(
                formatter,
                "the address {address} is not a loopback address; this tool sends load only to 127.0.0.0/8 or [::1]"
            ),
            Self::MissingHost => write!(formatter, "the URL has no host; use http://127.0.0.1:PORT"),
        }
    }
}

impl std::error::Error for TargetError {}

/// Accepts only `http://` URLs whose host is a loopback IP literal: 127.0.0.0/8 or ::1.
pub fn check_loopback(url: &Url) -> Result<(), TargetError> {
    if url.scheme() != "http" {
        return Err(TargetError::Scheme(url.scheme().to_owned()));
    }
    match url.host() {
        Some(Host::Ipv4(address)) if address.is_loopback() => Ok(()),
        Some(Host::Ipv6(address)) if address.is_loopback() => Ok(()),
        Some(Host::Ipv4(address)) => Err(TargetError::NotLoopback(address.to_string())),
        Some(Host::Ipv6(address)) => Err(TargetError::NotLoopback(address.to_string())),
        Some(Host::Domain(name)) => Err(TargetError::HostName(name.to_owned())),
        None => Err(TargetError::MissingHost),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(url: &str) -> Result<(), TargetError> {
        check_loopback(&Url::parse(url).expect("test URLs parse"))
    }

    #[test]
    fn loopback_addresses_pass() {
        for url in [
            "http://127.0.0.1:3990",
            "http://127.1.2.3/",
            "http://[::1]:3990",
        ] {
            assert_eq!(check(url), Ok(()), "{url}");
        }
    }

    #[test]
    fn other_addresses_fail() {
        for url in [
            "http://10.0.0.1:3990",
            "http://192.168.1.10/",
            "http://169.254.169.254/",
            "http://0.0.0.0:3990",
            "http://[::ffff:127.0.0.1]:3990",
            "http://[2001:db8::1]/",
        ] {
            assert!(
                matches!(check(url), Err(TargetError::NotLoopback(_))),
                "{url}"
            );
        }
    }

    #[test]
    fn host_names_fail() {
        assert_eq!(
            check("http://localhost:3990"),
            Err(TargetError::HostName("localhost".into()))
        );
        assert!(matches!(
            check("http://example.com/"),
            Err(TargetError::HostName(_))
        ));
    }

    #[test]
    fn other_schemes_fail() {
        assert_eq!(
            check("https://127.0.0.1/"),
            Err(TargetError::Scheme("https".into()))
        );
    }
}
