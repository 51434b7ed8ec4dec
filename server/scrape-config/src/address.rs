//! The address guard: which IP addresses Vitrine may scrape on a user's behalf (SSRF defence).
//!
//! [`AddressPolicy::check`] refuses every address that is not a public unicast address,
//! unless an allow-list CIDR contains it. It is a pure function of the address: resolve the
//! target's host name first, check **every** resolved address, and connect to the address
//! that was checked (not to the name again, or DNS rebinding defeats the check).
//!
//! # What is refused
//!
//! IPv4 (first match wins, so the more specific reason is given):
//!
//! | range | why |
//! | --- | --- |
//! | `0.0.0.0/32`, `0.0.0.0/8` | unspecified / "this network": reaches the server itself |
//! | `127.0.0.0/8` | loopback |
//! | `10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16` | private networks (RFC 1918) |
//! | `100.64.0.0/10` | shared address space / carrier-grade NAT (RFC 6598) |
//! | `169.254.169.254`, `169.254.170.2`, `100.100.100.200` | cloud metadata services |
//! | `169.254.0.0/16` | link-local |
//! | `192.0.0.0/24` | IETF protocol assignments |
//! | `192.0.2.0/24`, `198.51.100.0/24`, `203.0.113.0/24` | documentation (TEST-NET-1/2/3) |
//! | `198.18.0.0/15` | benchmarking |
//! | `192.88.99.0/24` | deprecated 6to4 relay anycast |
//! | `224.0.0.0/4` | multicast |
//! | `255.255.255.255/32` | limited broadcast |
//! | `240.0.0.0/4` | reserved for future use |
//!
//! IPv6:
//!
//! | range | why |
//! | --- | --- |
//! | `::/128`, `::1/128` | unspecified, loopback |
//! | `fd00:ec2::254/128` | the AWS metadata service over IPv6 |
//! | `fc00::/7` | unique local (the IPv6 private networks) |
//! | `fe80::/10`, `fec0::/10` | link-local, deprecated site-local |
//! | `ff00::/8` | multicast |
//! | `100::/64` | discard-only |
//! | `64:ff9b:1::/48` | local-use NAT64 |
//! | `2001:2::/48` | benchmarking |
//! | `2001:db8::/32`, `3fff::/20` | documentation |
//! | everything outside `2000::/3` | not global unicast: reserved or unassigned |
//!
//! IPv6 forms that carry an IPv4 address are checked by that IPv4 address, with the IPv4
//! table above:
//!
//! * IPv4-mapped `::ffff:a.b.c.d` (also written `::ffff:7f00:1`) — what the OS connects to;
//! * NAT64 `64:ff9b::a.b.c.d` (RFC 6052 well-known prefix);
//! * 6to4 `2002:AABB:CCDD::/48` (RFC 3056);
//! * Teredo `2001:0::/32` (RFC 4380): the server address and the (bit-inverted) client address;
//! * IPv4-compatible `::a.b.c.d` and IPv4-translated `::ffff:0:a.b.c.d` (both deprecated):
//!   refused even for a public IPv4 address, with the embedded address's reason when it has one.
//!
//! An allow-list CIDR admits an address if it contains the address itself or, for the
//! forms above, the embedded IPv4 address (`10.0.0.0/8` admits `::ffff:10.1.2.3`).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

pub use ipnet::IpNet;
use thiserror::Error;

/// The kind of range a refused address belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RangeKind {
    /// `0.0.0.0` or `::`.
    Unspecified,
    /// `0.0.0.0/8`.
    ThisNetwork,
    /// `127.0.0.0/8` or `::1`.
    Loopback,
    /// RFC 1918 private networks.
    Private,
    /// `100.64.0.0/10`, carrier-grade NAT.
    SharedAddressSpace,
    /// A cloud provider's instance metadata service.
    CloudMetadata,
    /// `169.254.0.0/16` or `fe80::/10`.
    LinkLocal,
    /// `192.0.0.0/24`.
    ProtocolAssignments,
    /// Documentation ranges.
    Documentation,
    /// Benchmarking ranges.
    Benchmarking,
    /// `192.88.99.0/24`.
    SixToFourRelay,
    /// `224.0.0.0/4` or `ff00::/8`.
    Multicast,
    /// `255.255.255.255`.
    Broadcast,
    /// `240.0.0.0/4` and IPv6 outside global unicast.
    Reserved,
    /// `fc00::/7`.
    UniqueLocal,
    /// `fec0::/10`.
    SiteLocal,
    /// `100::/64`.
    DiscardOnly,
    /// `64:ff9b:1::/48`.
    LocalNat64,
    /// `::a.b.c.d` and `::ffff:0:a.b.c.d` with a public IPv4 address.
    DeprecatedIpv4Embedding,
}

impl RangeKind {
    /// A short name for the range.
    pub const fn name(self) -> &'static str {
        match self {
            RangeKind::Unspecified => "unspecified address",
            RangeKind::ThisNetwork => "\"this network\"",
            RangeKind::Loopback => "loopback",
            RangeKind::Private => "private network",
            RangeKind::SharedAddressSpace => "carrier-grade NAT",
            RangeKind::CloudMetadata => "cloud metadata service",
            RangeKind::LinkLocal => "link-local",
            RangeKind::ProtocolAssignments => "IETF protocol assignments",
            RangeKind::Documentation => "documentation",
            RangeKind::Benchmarking => "benchmarking",
            RangeKind::SixToFourRelay => "6to4 relay anycast",
            RangeKind::Multicast => "multicast",
            RangeKind::Broadcast => "broadcast",
            RangeKind::Reserved => "reserved",
            RangeKind::UniqueLocal => "unique local",
            RangeKind::SiteLocal => "site-local",
            RangeKind::DiscardOnly => "discard-only",
            RangeKind::LocalNat64 => "local-use NAT64",
            RangeKind::DeprecatedIpv4Embedding => "deprecated IPv4 embedding",
        }
    }

    /// Why such addresses are refused, in plain words.
    pub const fn reason(self) -> &'static str {
        match self {
            RangeKind::Unspecified => "it means \"this host\", so connecting to it reaches the Vitrine server itself",
            RangeKind::ThisNetwork => "these addresses mean \"this network\" and can reach the Vitrine server itself",
            RangeKind::Loopback => {
                "loopback addresses reach the Vitrine server itself, not the machine you want to monitor"
            }
            RangeKind::Private => {
                "private addresses belong to internal networks, which Vitrine must not reach on anyone's behalf"
            }
            RangeKind::SharedAddressSpace => "this range is internal to an internet provider's network",
            RangeKind::CloudMetadata => {
                "this is a cloud metadata service, which hands out the server's own credentials"
            }
            RangeKind::LinkLocal => "link-local addresses only reach machines on the server's own network segment",
            RangeKind::ProtocolAssignments => "this range is reserved for special protocol uses, not for servers",
            RangeKind::Documentation => "this range is reserved for examples in documentation; no real server uses it",
            RangeKind::Benchmarking => "this range is reserved for network benchmark tests",
            RangeKind::SixToFourRelay => "this range was used by 6to4 relays and is deprecated",
            RangeKind::Multicast => "multicast addresses name a group of hosts, not one server that can be scraped",
            RangeKind::Broadcast => "the broadcast address reaches every host on the local network",
            RangeKind::Reserved => "this range is reserved and not routable on the internet",
            RangeKind::UniqueLocal => {
                "unique local addresses are the IPv6 private networks, internal to an organisation"
            }
            RangeKind::SiteLocal => "site-local addresses are internal to a site (and deprecated)",
            RangeKind::DiscardOnly => "this prefix exists only to discard traffic",
            RangeKind::LocalNat64 => "this NAT64 prefix translates to addresses inside a local network",
            RangeKind::DeprecatedIpv4Embedding => {
                "this deprecated way of writing an IPv4 address inside IPv6 is not routable; use the IPv4 address"
            }
        }
    }
}

/// An IPv6 form that carries an IPv4 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Embedding {
    /// `::ffff:a.b.c.d`.
    Ipv4Mapped,
    /// `::a.b.c.d` (deprecated).
    Ipv4Compatible,
    /// `::ffff:0:a.b.c.d` (SIIT).
    Ipv4Translated,
    /// `64:ff9b::a.b.c.d`.
    Nat64,
    /// `2002:aabb:ccdd::/48`.
    SixToFour,
    /// `2001:0:<server>::<inverted client>`; the embedded address is the one refused.
    Teredo,
}

impl Embedding {
    /// A plain description of the form.
    pub const fn description(self) -> &'static str {
        match self {
            Embedding::Ipv4Mapped => "an IPv4-mapped IPv6 address",
            Embedding::Ipv4Compatible => "an IPv4-compatible IPv6 address",
            Embedding::Ipv4Translated => "an IPv4-translated IPv6 address",
            Embedding::Nat64 => "a NAT64 address",
            Embedding::SixToFour => "a 6to4 address",
            Embedding::Teredo => "a Teredo address",
        }
    }
}

/// An address the policy refuses, with the range and the reason.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub struct Forbidden {
    /// The address that was checked.
    pub address: IpAddr,
    /// For IPv6 forms that carry an IPv4 address: the form and the IPv4 address that was refused.
    pub embedded: Option<(Embedding, Ipv4Addr)>,
    /// The refused range the address (or the embedded address) is in.
    pub range: IpNet,
    /// What kind of range that is.
    pub kind: RangeKind,
}

impl fmt::Display for Forbidden {
    /// For example: `127.0.0.1 is not allowed: it is in 127.0.0.0/8 (loopback): loopback
    /// addresses reach the Vitrine server itself, not the machine you want to monitor`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} is not allowed: ", self.address)?;
        if let Some((embedding, v4)) = self.embedded {
            write!(f, "it is {} for {v4}, which ", embedding.description())?;
        } else {
            f.write_str("it ")?;
        }
        write!(f, "is in {} ({}): {}", self.range, self.kind.name(), self.kind.reason())
    }
}

/// Why an allow-list entry was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PolicyError {
    /// Not an IP address or CIDR.
    #[error("{0:?} is not an IP address or CIDR range (e.g. 10.20.0.0/16 or fd12:3456::/48)")]
    InvalidCidr(String),
}

/// Which addresses may be scraped: public unicast addresses, plus whatever the allow-list
/// contains. The default allows nothing extra.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    allow: Vec<IpNet>,
}

impl AddressPolicy {
    /// A policy with these allow-list ranges.
    pub fn new(allow: Vec<IpNet>) -> AddressPolicy {
        AddressPolicy { allow }
    }

    /// A policy from allow-list entries written as CIDRs (`10.20.0.0/16`) or single addresses.
    ///
    /// ```
    /// use vitrine_scrape_config::AddressPolicy;
    /// let policy = AddressPolicy::parse(["10.20.0.0/16", "fd12::7"]).unwrap();
    /// assert!(policy.check("10.20.3.4".parse().unwrap()).is_ok());
    /// assert!(policy.check("10.21.3.4".parse().unwrap()).is_err());
    /// assert!(policy.check("8.8.8.8".parse().unwrap()).is_ok());
    /// ```
    pub fn parse<'a>(entries: impl IntoIterator<Item = &'a str>) -> Result<AddressPolicy, PolicyError> {
        let allow = entries
            .into_iter()
            .map(|e| {
                let e = e.trim();
                e.parse::<IpNet>()
                    .or_else(|_| e.parse::<IpAddr>().map(IpNet::from))
                    .map(|n| n.trunc())
                    .map_err(|_| PolicyError::InvalidCidr(e.to_owned()))
            })
            .collect::<Result<_, _>>()?;
        Ok(AddressPolicy { allow })
    }

    /// The allow-list.
    pub fn allow_list(&self) -> &[IpNet] {
        &self.allow
    }

    /// `Ok` if `ip` may be scraped, otherwise which range refuses it and why.
    ///
    /// ```
    /// use vitrine_scrape_config::AddressPolicy;
    /// let err = AddressPolicy::default().check("169.254.169.254".parse().unwrap()).unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "169.254.169.254 is not allowed: it is in 169.254.169.254/32 (cloud metadata service): \
    ///      this is a cloud metadata service, which hands out the server's own credentials"
    /// );
    /// ```
    pub fn check(&self, ip: IpAddr) -> Result<(), Forbidden> {
        let Some(forbidden) = classify(ip) else {
            return Ok(());
        };
        let allowed = self
            .allow
            .iter()
            .any(|net| net.contains(&ip) || forbidden.embedded.is_some_and(|(_, v4)| net.contains(&IpAddr::V4(v4))));
        if allowed { Ok(()) } else { Err(forbidden) }
    }
}

/// Why `ip` would be refused by a policy with an empty allow-list, or `None` for a public
/// unicast address.
pub fn classify(ip: IpAddr) -> Option<Forbidden> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4).map(|(range, kind)| Forbidden {
            address: ip,
            embedded: None,
            range,
            kind,
        }),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn table(entries: &[(&str, RangeKind)]) -> Vec<(IpNet, RangeKind)> {
    entries
        .iter()
        .map(|(cidr, kind)| (cidr.parse().expect("built-in CIDR"), *kind))
        .collect()
}

fn v4_table() -> &'static [(IpNet, RangeKind)] {
    static TABLE: OnceLock<Vec<(IpNet, RangeKind)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        use RangeKind::*;
        table(&[
            ("0.0.0.0/32", Unspecified),
            ("0.0.0.0/8", ThisNetwork),
            ("10.0.0.0/8", Private),
            ("100.100.100.200/32", CloudMetadata),
            ("100.64.0.0/10", SharedAddressSpace),
            ("127.0.0.0/8", Loopback),
            ("169.254.169.254/32", CloudMetadata),
            ("169.254.170.2/32", CloudMetadata),
            ("169.254.0.0/16", LinkLocal),
            ("172.16.0.0/12", Private),
            ("192.0.0.0/24", ProtocolAssignments),
            ("192.0.2.0/24", Documentation),
            ("192.88.99.0/24", SixToFourRelay),
            ("192.168.0.0/16", Private),
            ("198.18.0.0/15", Benchmarking),
            ("198.51.100.0/24", Documentation),
            ("203.0.113.0/24", Documentation),
            ("224.0.0.0/4", Multicast),
            ("255.255.255.255/32", Broadcast),
            ("240.0.0.0/4", Reserved),
        ])
    })
}

fn v6_table() -> &'static [(IpNet, RangeKind)] {
    static TABLE: OnceLock<Vec<(IpNet, RangeKind)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        use RangeKind::*;
        table(&[
            ("::/128", Unspecified),
            ("::1/128", Loopback),
            ("fd00:ec2::254/128", CloudMetadata),
            ("fc00::/7", UniqueLocal),
            ("fe80::/10", LinkLocal),
            ("fec0::/10", SiteLocal),
            ("ff00::/8", Multicast),
            ("100::/64", DiscardOnly),
            ("64:ff9b:1::/48", LocalNat64),
            ("2001:2::/48", Benchmarking),
            ("2001:db8::/32", Documentation),
            ("3fff::/20", Documentation),
        ])
    })
}

fn classify_v4(ip: Ipv4Addr) -> Option<(IpNet, RangeKind)> {
    let ip = IpAddr::V4(ip);
    v4_table().iter().find(|(net, _)| net.contains(&ip)).copied()
}

/// The IPv4 address an IPv6 address carries, and in which form.
fn embedded_v4(ip: Ipv6Addr) -> Option<(Embedding, Ipv4Addr)> {
    let s = ip.segments();
    let o = ip.octets();
    let last = Ipv4Addr::new(o[12], o[13], o[14], o[15]);
    match s {
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some((Embedding::Ipv4Mapped, last)),
        [0, 0, 0, 0, 0xffff, 0, _, _] => Some((Embedding::Ipv4Translated, last)),
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some((Embedding::Nat64, last)),
        // `::` and `::1` are themselves, not embeddings.
        [0, 0, 0, 0, 0, 0, 0, 0 | 1] => None,
        [0, 0, 0, 0, 0, 0, _, _] => Some((Embedding::Ipv4Compatible, last)),
        [0x2002, _, _, ..] => Some((Embedding::SixToFour, Ipv4Addr::new(o[2], o[3], o[4], o[5]))),
        _ => None,
    }
}

fn classify_v6(ip: Ipv6Addr) -> Option<Forbidden> {
    let address = IpAddr::V6(ip);
    let refuse = |range: IpNet, kind, embedded| {
        Some(Forbidden {
            address,
            embedded,
            range,
            kind,
        })
    };
    if let Some((embedding, v4)) = embedded_v4(ip) {
        if let Some((range, kind)) = classify_v4(v4) {
            return refuse(range, kind, Some((embedding, v4)));
        }
        return match embedding {
            Embedding::Ipv4Compatible => refuse(
                "::/96".parse().expect("CIDR"),
                RangeKind::DeprecatedIpv4Embedding,
                Some((embedding, v4)),
            ),
            Embedding::Ipv4Translated => refuse(
                "::ffff:0:0:0/96".parse().expect("CIDR"),
                RangeKind::DeprecatedIpv4Embedding,
                Some((embedding, v4)),
            ),
            _ => None,
        };
    }
    let [a, b, server_hi, server_lo, _, _, client_hi, client_lo] = ip.segments();
    if a == 0x2001 && b == 0 {
        // Teredo: the server's address in bits 32–63, the client's inverted in bits 96–127.
        let server = Ipv4Addr::from((u32::from(server_hi) << 16) | u32::from(server_lo));
        let client = Ipv4Addr::from(!((u32::from(client_hi) << 16) | u32::from(client_lo)));
        for v4 in [client, server] {
            if let Some((range, kind)) = classify_v4(v4) {
                return refuse(range, kind, Some((Embedding::Teredo, v4)));
            }
        }
        return None;
    }
    let ip_addr = IpAddr::V6(ip);
    if let Some((range, kind)) = v6_table().iter().find(|(net, _)| net.contains(&ip_addr)).copied() {
        return refuse(range, kind, None);
    }
    // Only 2000::/3 is global unicast; everything else is reserved or unassigned.
    if a & 0xe000 != 0x2000 {
        let masked = Ipv6Addr::from(u128::from(ip) & !(u128::MAX >> 3));
        let range = IpNet::new(IpAddr::V6(masked), 3).expect("a prefix of 3 is valid");
        return refuse(range, RangeKind::Reserved, None);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn refused(s: &str) -> Forbidden {
        AddressPolicy::default().check(ip(s)).expect_err(s)
    }

    fn kind(s: &str) -> RangeKind {
        refused(s).kind
    }

    fn allowed(s: &str) -> bool {
        AddressPolicy::default().check(ip(s)).is_ok()
    }

    #[test]
    fn public_addresses_pass() {
        for ok in [
            "8.8.8.8",
            "1.1.1.1",
            "93.184.216.34",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.167.255.255",
            "192.169.0.0",
            "169.253.255.255",
            "11.0.0.0",
            "126.255.255.255",
            "128.0.0.0",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
            "2606:4700:4700::1111",
            "2001:4860:4860::8888",
            "2a00:1450:4001:80b::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::8.8.8.8",
            "2002:0808:0808::1",
        ] {
            assert!(allowed(ok), "{ok}: {:?}", classify(ip(ok)));
        }
    }

    #[test]
    fn ipv4_ranges() {
        use RangeKind::*;
        for (addr, expected) in [
            ("0.0.0.0", Unspecified),
            ("0.1.2.3", ThisNetwork),
            ("127.0.0.1", Loopback),
            ("127.255.255.254", Loopback),
            ("10.0.0.1", Private),
            ("10.255.255.255", Private),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("192.168.1.1", Private),
            ("100.64.0.1", SharedAddressSpace),
            ("100.127.255.255", SharedAddressSpace),
            ("169.254.0.1", LinkLocal),
            ("169.254.169.254", CloudMetadata),
            ("169.254.170.2", CloudMetadata),
            ("100.100.100.200", CloudMetadata),
            ("192.0.0.8", ProtocolAssignments),
            ("192.0.2.1", Documentation),
            ("198.51.100.7", Documentation),
            ("203.0.113.255", Documentation),
            ("198.18.0.1", Benchmarking),
            ("198.19.255.255", Benchmarking),
            ("192.88.99.1", SixToFourRelay),
            ("224.0.0.1", Multicast),
            ("239.255.255.250", Multicast),
            ("240.0.0.1", Reserved),
            ("255.255.255.254", Reserved),
            ("255.255.255.255", Broadcast),
        ] {
            assert_eq!(kind(addr), expected, "{addr}");
        }
    }

    #[test]
    fn ipv6_ranges() {
        use RangeKind::*;
        for (addr, expected) in [
            ("::", Unspecified),
            ("::1", Loopback),
            ("fe80::1", LinkLocal),
            ("febf:ffff::1", LinkLocal),
            ("fec0::1", SiteLocal),
            ("fc00::1", UniqueLocal),
            ("fd12:3456:789a::1", UniqueLocal),
            ("fd00:ec2::254", CloudMetadata),
            ("ff02::1", Multicast),
            ("ff05::1:3", Multicast),
            ("100::1", DiscardOnly),
            ("64:ff9b:1::10.0.0.1", LocalNat64),
            ("2001:2::1", Benchmarking),
            ("2001:db8::1", Documentation),
            ("3fff::1", Documentation),
            ("4000::1", Reserved),
            ("5f00::1", Reserved),
            ("e000::1", Reserved),
            ("::2:0:0:0:1", Reserved),
            ("1::", Reserved),
        ] {
            assert_eq!(kind(addr), expected, "{addr}");
        }
        assert_eq!(refused("4000::1").range, "4000::/3".parse::<IpNet>().unwrap());
        assert_eq!(refused("1::").range, "::/3".parse::<IpNet>().unwrap());
    }

    #[test]
    fn ipv4_mapped_forms_are_checked_as_ipv4() {
        for (addr, v4) in [
            ("::ffff:127.0.0.1", [127, 0, 0, 1]),
            ("::ffff:7f00:1", [127, 0, 0, 1]),
            ("0:0:0:0:0:ffff:7f00:0001", [127, 0, 0, 1]),
            ("::FFFF:127.0.0.2", [127, 0, 0, 2]),
        ] {
            let f = refused(addr);
            assert_eq!(f.kind, RangeKind::Loopback, "{addr}");
            assert_eq!(f.embedded, Some((Embedding::Ipv4Mapped, Ipv4Addr::from(v4))), "{addr}");
            assert_eq!(f.range, "127.0.0.0/8".parse::<IpNet>().unwrap());
        }
        assert_eq!(kind("::ffff:169.254.169.254"), RangeKind::CloudMetadata);
        assert_eq!(kind("::ffff:a9fe:a9fe"), RangeKind::CloudMetadata);
        assert_eq!(kind("::ffff:10.0.0.1"), RangeKind::Private);
        assert_eq!(kind("::ffff:192.168.0.1"), RangeKind::Private);
        assert_eq!(kind("::ffff:0.0.0.0"), RangeKind::Unspecified);
        assert_eq!(kind("::ffff:100.64.0.1"), RangeKind::SharedAddressSpace);
        assert_eq!(kind("::ffff:224.0.0.1"), RangeKind::Multicast);
        assert_eq!(kind("::ffff:255.255.255.255"), RangeKind::Broadcast);
    }

    #[test]
    fn other_embeddings() {
        let f = refused("::127.0.0.1");
        assert_eq!(
            (f.kind, f.embedded.map(|e| e.0)),
            (RangeKind::Loopback, Some(Embedding::Ipv4Compatible))
        );
        let f = refused("::8.8.8.8");
        assert_eq!(
            (f.kind, f.embedded.map(|e| e.0)),
            (RangeKind::DeprecatedIpv4Embedding, Some(Embedding::Ipv4Compatible))
        );
        let f = refused("::ffff:0:127.0.0.1");
        assert_eq!(
            (f.kind, f.embedded.map(|e| e.0)),
            (RangeKind::Loopback, Some(Embedding::Ipv4Translated))
        );
        let f = refused("::ffff:0:8.8.8.8");
        assert_eq!(
            (f.kind, f.embedded.map(|e| e.0)),
            (RangeKind::DeprecatedIpv4Embedding, Some(Embedding::Ipv4Translated))
        );
        let f = refused("64:ff9b::127.0.0.1");
        assert_eq!(
            (f.kind, f.embedded.map(|e| e.0)),
            (RangeKind::Loopback, Some(Embedding::Nat64))
        );
        let f = refused("64:ff9b::a9fe:a9fe");
        assert_eq!(
            (f.kind, f.embedded.map(|e| e.0)),
            (RangeKind::CloudMetadata, Some(Embedding::Nat64))
        );
        let f = refused("2002:7f00:0001::1");
        assert_eq!(f.embedded, Some((Embedding::SixToFour, Ipv4Addr::new(127, 0, 0, 1))));
        assert_eq!(kind("2002:c0a8:0101::1"), RangeKind::Private);
        assert_eq!(kind("2002:a9fe:a9fe::"), RangeKind::CloudMetadata);
        // Teredo: client 10.0.0.1 inverted is f5ff:fffe.
        let f = refused("2001:0:4136:e378:8000:63bf:f5ff:fffe");
        assert_eq!(
            (f.kind, f.embedded),
            (
                RangeKind::Private,
                Some((Embedding::Teredo, Ipv4Addr::new(10, 0, 0, 1)))
            )
        );
        // Teredo server in a private range.
        assert_eq!(kind("2001:0:c0a8:0101::f7f7:f7f7"), RangeKind::Private);
        // Teredo with public server and client (8.8.8.8 inverted is f7f7:f7f7).
        assert!(allowed("2001:0:4136:e378:8000:63bf:f7f7:f7f7"));
    }

    #[test]
    fn allow_list_admits_exactly_its_ranges() {
        let policy = AddressPolicy::parse(["10.20.0.0/16", "192.168.1.5", "fd12:3456::/32", " 127.0.0.1/32 "]).unwrap();
        assert!(policy.check(ip("10.20.0.1")).is_ok());
        assert!(policy.check(ip("10.20.255.255")).is_ok());
        assert_eq!(policy.check(ip("10.21.0.1")).unwrap_err().kind, RangeKind::Private);
        assert!(policy.check(ip("192.168.1.5")).is_ok());
        assert!(policy.check(ip("192.168.1.6")).is_err());
        assert!(policy.check(ip("fd12:3456::1")).is_ok());
        assert!(policy.check(ip("fd12:3457::1")).is_err());
        assert!(policy.check(ip("127.0.0.1")).is_ok());
        assert!(policy.check(ip("127.0.0.2")).is_err());
        // The embedded IPv4 address counts for the allow-list too.
        assert!(policy.check(ip("::ffff:10.20.1.1")).is_ok());
        assert!(policy.check(ip("::ffff:127.0.0.1")).is_ok());
        assert!(policy.check(ip("::ffff:10.21.1.1")).is_err());
        // Public addresses need no allow-list entry.
        assert!(policy.check(ip("8.8.4.4")).is_ok());
        // Host bits are ignored: 10.30.1.2/16 means 10.30.0.0/16.
        let p = AddressPolicy::parse(["10.30.1.2/16"]).unwrap();
        assert_eq!(p.allow_list(), &["10.30.0.0/16".parse::<IpNet>().unwrap()]);
        assert!(p.check(ip("10.30.200.1")).is_ok());
        // An explicit IPv6 form on the allow-list.
        let p = AddressPolicy::new(vec!["::ffff:0:0/96".parse().unwrap()]);
        assert!(p.check(ip("::ffff:127.0.0.1")).is_ok());
        assert!(p.check(ip("127.0.0.1")).is_err());
    }

    #[test]
    fn allow_list_errors() {
        assert_eq!(
            AddressPolicy::parse(["10.0.0.0/33"]),
            Err(PolicyError::InvalidCidr("10.0.0.0/33".into()))
        );
        assert_eq!(
            AddressPolicy::parse(["intranet"]),
            Err(PolicyError::InvalidCidr("intranet".into()))
        );
        assert_eq!(
            AddressPolicy::parse(["x"]).unwrap_err().to_string(),
            "\"x\" is not an IP address or CIDR range (e.g. 10.20.0.0/16 or fd12:3456::/48)"
        );
        assert_eq!(AddressPolicy::parse([]), Ok(AddressPolicy::default()));
    }

    #[test]
    fn messages_say_which_range_and_why() {
        assert_eq!(
            refused("127.0.0.1").to_string(),
            "127.0.0.1 is not allowed: it is in 127.0.0.0/8 (loopback): loopback addresses reach the Vitrine \
             server itself, not the machine you want to monitor"
        );
        assert_eq!(
            refused("::ffff:7f00:1").to_string(),
            "::ffff:127.0.0.1 is not allowed: it is an IPv4-mapped IPv6 address for 127.0.0.1, which is in \
             127.0.0.0/8 (loopback): loopback addresses reach the Vitrine server itself, not the machine you want \
             to monitor"
        );
        assert_eq!(
            refused("192.168.0.10").to_string(),
            "192.168.0.10 is not allowed: it is in 192.168.0.0/16 (private network): private addresses belong to \
             internal networks, which Vitrine must not reach on anyone's behalf"
        );
        assert!(refused("fe80::1").to_string().contains("fe80::/10 (link-local)"));
        // Every kind has a name and a reason.
        for addr in [
            "0.1.0.0",
            "100.64.0.1",
            "192.0.0.1",
            "198.18.0.1",
            "192.88.99.2",
            "255.255.255.255",
            "100::1",
            "64:ff9b:1::1",
        ] {
            let text = refused(addr).to_string();
            assert!(text.len() > 60, "{text}");
        }
    }

    #[test]
    fn classify_agrees_with_std_where_std_is_stable() {
        // Cross-check a sweep of IPv4 addresses against the standard library's predicates.
        for a in (0u32..=255).map(|i| i << 24 | 0x01_02_03) {
            let v4 = Ipv4Addr::from(a);
            let std_internal = v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_unspecified();
            if std_internal {
                assert!(classify(IpAddr::V4(v4)).is_some(), "{v4}");
            }
            let v6 = IpAddr::V6(v4.to_ipv6_mapped());
            assert_eq!(
                classify(v6).map(|f| f.kind),
                classify(IpAddr::V4(v4)).map(|f| f.kind),
                "{v6}"
            );
        }
    }
}
