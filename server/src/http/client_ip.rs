//! The client's address behind reverse proxies (`trusted_proxies`): when the connection
//! comes from a trusted proxy, `X-Forwarded-For` is read from right to left, skipping
//! trusted proxies; the first address that is not one is the client. Without trusted
//! proxies, or from any other peer, the header is ignored (anyone can send it).

use axum::http::HeaderMap;
use std::net::IpAddr;
use vitrine_scrape_config::IpNet;

#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Addresses or CIDR ranges, e.g. `127.0.0.1, 10.0.0.0/8`.
    pub fn parse(entries: &[String]) -> Result<TrustedProxies, String> {
        entries
            .iter()
            .map(|e| {
                e.parse::<IpNet>()
                    .or_else(|_| e.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("{e:?} is neither an IP address nor a CIDR range such as 10.0.0.0/8"))
            })
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client of a request that arrived from `peer`.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let mut client = peer;
        // Every X-Forwarded-For header, in order, as one list; each proxy appends the
        // address it received the request from.
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        for hop in hops.into_iter().rev() {
            let Ok(ip) = hop.parse::<IpAddr>() else {
                // A malformed entry: what is left of it cannot be trusted.
                return client;
            };
            client = canonical(ip);
            if !self.trusts(client) {
                return client;
            }
        }
        client
    }
}

/// IPv4-mapped IPv6 addresses as IPv4, so `10.0.0.0/8` covers `::ffff:10.0.0.1`.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_header_counts_only_from_a_trusted_proxy() {
        let none = TrustedProxies::default();
        let spoofed = headers(&["203.0.113.9"]);
        assert_eq!(none.client(ip("198.51.100.7"), &spoofed), ip("198.51.100.7"));
        let proxies = TrustedProxies::parse(&["10.0.0.0/8".into(), "127.0.0.1".into()]).unwrap();
        assert_eq!(proxies.client(ip("198.51.100.7"), &spoofed), ip("198.51.100.7"));
        assert_eq!(proxies.client(ip("127.0.0.1"), &spoofed), ip("203.0.113.9"));
    }

    #[test]
    fn read_from_the_right_skipping_trusted_proxies() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/8".into()]).unwrap();
        // The client put a fake first entry; the two proxies appended what they saw.
        let h = headers(&["1.2.3.4, 203.0.113.9", "10.0.0.2"]);
        assert_eq!(proxies.client(ip("10.0.0.1"), &h), ip("203.0.113.9"));
        // Only proxies: the leftmost is the client.
        let h = headers(&["10.0.0.3, 10.0.0.2"]);
        assert_eq!(proxies.client(ip("::ffff:10.0.0.1"), &h), ip("10.0.0.3"));
        // Garbage stops the walk at the last good address.
        let h = headers(&["203.0.113.9, not-an-ip, 10.0.0.2"]);
        assert_eq!(proxies.client(ip("10.0.0.1"), &h), ip("10.0.0.2"));
        assert!(TrustedProxies::parse(&["10.0.0.0/33".into()]).is_err());
    }
}
