//! The URLs the server announces at start. On a wildcard address (0.0.0.0 or ::) these are one
//! URL per address of the machine's network interfaces, so that a workshop host can read out
//! the one the room should open. The interfaces are only listed: nothing is sent to them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// A URL the server can be reached at, with the interface that has its address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServingUrl {
    pub url: String,
    /// The interface name, or "loopback" for the loopback address.
    pub interface: String,
}

/// Logs the URLs of a server listening on `bound`, with `tracing` and on standard output, and
/// returns them, the addresses of other interfaces first. The first line, "Session Journey is
/// serving http://{bound}", keeps its form for scripts that wait for it.
pub fn announce(bound: SocketAddr) -> Vec<ServingUrl> {
    tracing::info!("Session Journey is serving http://{bound}");
    let interfaces = if bound.ip().is_unspecified() {
        match if_addrs::get_if_addrs() {
            Ok(interfaces) => interfaces.into_iter().map(|interface| (interface.name.clone(), interface.ip())).collect(),
            Err(error) => {
                tracing::warn!(%error, "failed to list the network interfaces; only the loopback URL is shown");
                Vec::new()
            }
        }
    } else {
        Vec::new()
    };
    let urls = serving_urls(bound, &interfaces);
    println!("Open Session Journey at:");
    for url in &urls {
        tracing::info!(url = %url.url, interface = %url.interface, "open Session Journey at");
        println!("  {}  ({})", url.url, url.interface);
    }
    urls
}

/// Returns the URLs for a server listening on `bound`, given the interface addresses as
/// (name, address) pairs: one URL per usable non-loopback address, then the loopback URL, when
/// `bound` is a wildcard address, and otherwise the URL of `bound` alone.
///
/// NOTE: on `::` the IPv4 addresses are listed too. They work only while the system accepts
/// IPv4 on IPv6 sockets (Linux's default, `net.ipv6.bindv6only = 0`).
pub fn serving_urls(bound: SocketAddr, interfaces: &[(String, IpAddr)]) -> Vec<ServingUrl> {
    let port = bound.port();
    let url = |ip: IpAddr| format!("http://{}", SocketAddr::new(ip, port));
    if !bound.ip().is_unspecified() {
        return vec![ServingUrl {
            url: url(bound.ip()),
            interface: if bound.ip().is_loopback() { "loopback" } else { "the configured address" }.to_owned(),
        }];
    }

    let ipv6 = bound.is_ipv6();
    let mut urls: Vec<ServingUrl> = interfaces
        .iter()
        .filter(|(_, ip)| !ip.is_loopback() && (ipv6 || ip.is_ipv4()) && !needs_zone(ip))
        .map(|(name, ip)| ServingUrl {
            url: url(*ip),
            interface: name.clone(),
        })
        .collect();
    urls.dedup();
    let loopback = if ipv6 { IpAddr::V6(Ipv6Addr::LOCALHOST) } else { IpAddr::V4(Ipv4Addr::LOCALHOST) };
    urls.push(ServingUrl {
        url: url(loopback),
        interface: "loopback".to_owned(),
    });
    urls
}

/// Returns whether `ip` is an IPv6 link-local address (fe80::/10), which a URL can only name
/// with a zone ID that browsers do not accept.
fn needs_zone(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80,
        IpAddr::V4(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interfaces() -> Vec<(String, IpAddr)> {
        vec![
            ("lo".to_owned(), "127.0.0.1".parse().unwrap()),
            ("wlan0".to_owned(), "192.168.1.23".parse().unwrap()),
            ("lo".to_owned(), "::1".parse().unwrap()),
            ("wlan0".to_owned(), "fe80::1".parse().unwrap()),
            ("wlan0".to_owned(), "2001:db8::23".parse().unwrap()),
        ]
    }

    fn urls(bound: &str) -> Vec<String> {
        let bound: SocketAddr = bound.parse().unwrap();
        serving_urls(bound, &interfaces()).into_iter().map(|url| url.url).collect()
    }

    #[test]
    fn ipv4_wildcard_lists_ipv4_addresses() {
        assert_eq!(urls("0.0.0.0:3000"), ["http://192.168.1.23:3000", "http://127.0.0.1:3000"]);
    }

    #[test]
    fn ipv6_wildcard_puts_addresses_in_brackets() {
        assert_eq!(
            urls("[::]:3000"),
            ["http://192.168.1.23:3000", "http://[2001:db8::23]:3000", "http://[::1]:3000"]
        );
    }

    #[test]
    fn specific_address_lists_only_itself() {
        assert_eq!(urls("192.168.1.23:8080"), ["http://192.168.1.23:8080"]);
        assert_eq!(urls("[2001:db8::23]:8080"), ["http://[2001:db8::23]:8080"]);
    }

    #[test]
    fn interface_names_are_kept() {
        let bound: SocketAddr = "0.0.0.0:3000".parse().unwrap();
        let names: Vec<String> = serving_urls(bound, &interfaces()).into_iter().map(|url| url.interface).collect();
        assert_eq!(names, ["wlan0", "loopback"]);
    }
}
