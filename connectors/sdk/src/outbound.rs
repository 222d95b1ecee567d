//! Where a connection's credentials may go: the hosts its connector declares, widened only by
//! the operator's `[outbound] allowed_hosts`. A base URL is checked when it is saved and again
//! before every call, and a host name is checked once more after DNS resolution, so that neither
//! a tenant-chosen URL nor a name that resolves to an internal address receives a token.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// One entry of an allowed-host list: `host`, `host:port` or `*.suffix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    /// A host on any port.
    Host(String),
    /// A host on one port only.
    HostPort(String, u16),
    /// Any host below a domain (`*.pipedrive.com` takes `acme.pipedrive.com`, not
    /// `pipedrive.com`).
    Suffix(String),
}

impl HostPattern {
    /// Parses one entry; the error says what is wrong with it.
    pub fn parse(entry: &str) -> Result<Self, String> {
        let entry = entry.trim().to_ascii_lowercase();
        let bad = |why: &str| format!("{entry:?} is not a host, host:port or *.suffix: {why}");
        if let Some(suffix) = entry.strip_prefix("*.") {
            if suffix.is_empty() || suffix.contains(['*', ':', '/']) || !suffix.contains('.') {
                return Err(bad("a suffix needs at least two labels and no port"));
            }
            return Ok(Self::Suffix(format!(".{suffix}")));
        }
        let url = Url::parse(&format!("http://{entry}/"))
            .map_err(|e| bad(&e.to_string()))
            .and_then(|u| {
                if u.path() == "/" && u.username().is_empty() && u.query().is_none() {
                    Ok(u)
                } else {
                    Err(bad("only a host and a port may be given"))
                }
            })?;
        let host = host_text(&url).ok_or_else(|| bad("no host"))?;
        if entry.contains('*') {
            return Err(bad("a wildcard may only start the entry, as *.suffix"));
        }
        // `http` URLs drop a port that is the scheme's default; a scheme without one keeps it.
        let port = Url::parse(&format!("x-port://{entry}/"))
            .ok()
            .and_then(|u| u.port());
        Ok(match port {
            Some(port) => Self::HostPort(host, port),
            None => Self::Host(host),
        })
    }

    pub(crate) fn matches(&self, host: &str, port: u16) -> bool {
        match self {
            Self::Host(h) => h == host,
            Self::HostPort(h, p) => h == host && *p == port,
            Self::Suffix(s) => host.ends_with(s.as_str()) && host.len() > s.len(),
        }
    }

    /// Whether the entry names this host itself rather than a domain it is under: only such an
    /// entry lets a host reach loopback or private addresses.
    fn names(&self, host: &str) -> bool {
        match self {
            Self::Host(h) | Self::HostPort(h, _) => h == host,
            Self::Suffix(_) => false,
        }
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Host(h) => f.write_str(h),
            Self::HostPort(h, p) => write!(f, "{h}:{p}"),
            Self::Suffix(s) => write!(f, "*{s}"),
        }
    }
}

/// A host as it is compared: lower case, IPv6 without brackets.
fn host_text(url: &Url) -> Option<String> {
    Some(match url.host()? {
        Host::Domain(d) => d.trim_end_matches('.').to_ascii_lowercase(),
        Host::Ipv4(ip) => ip.to_string(),
        Host::Ipv6(ip) => ip.to_string(),
    })
}

/// Why a destination is refused; safe to show to the client that chose it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refusal {}

/// The hosts one connector's calls may go to.
#[derive(Debug, Clone, Default)]
pub struct OutboundPolicy {
    /// What the connector declares for its vendor; reached over HTTPS only.
    vendor: Vec<HostPattern>,
    /// What the operator allows on top (sandboxes, proxies, test mocks); HTTP allowed.
    operator: Arc<[HostPattern]>,
    /// Every destination allowed: only for unit tests of the client itself.
    unrestricted: bool,
}

impl OutboundPolicy {
    /// The policy of a connector declaring `vendor` hosts (its manifest's), with the
    /// operator's additions.
    pub fn new(vendor: &[HostPattern], operator: Arc<[HostPattern]>) -> Self {
        Self {
            vendor: vendor.to_vec(),
            operator,
            unrestricted: false,
        }
    }

    /// A policy allowing every host and address, for unit tests of the client alone.
    pub fn allow_all() -> Self {
        Self {
            unrestricted: true,
            ..Self::default()
        }
    }

    /// Checks a URL before anything is sent to it: scheme, host and, for an address written in
    /// the URL, whether it is one the operator named.
    pub fn check(&self, url: &Url) -> Result<(), Refusal> {
        if self.unrestricted {
            return Ok(());
        }
        let host = host_text(url).ok_or_else(|| Refusal("the URL has no host".to_owned()))?;
        let port = url.port_or_known_default().unwrap_or(0);
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Refusal(
                "the URL carries user information; credentials are connection settings".to_owned(),
            ));
        }
        let by_operator = self.operator.iter().any(|p| p.matches(&host, port));
        let by_vendor = self.vendor.iter().any(|p| p.matches(&host, port));
        let scheme_ok = match url.scheme() {
            "https" => true,
            "http" => by_operator,
            _ => false,
        };
        if !(by_operator || by_vendor) {
            return Err(Refusal(format!(
                "{host}:{port} is not one of the hosts this connector may call ({})",
                self.allowed()
            )));
        }
        if !scheme_ok {
            return Err(Refusal(format!(
                "{}:// is refused for {host}; the vendor's hosts are reached over https only",
                url.scheme()
            )));
        }
        if let Ok(ip) = host.parse::<IpAddr>()
            && !is_public(ip)
            && !self.names(&host)
        {
            return Err(Refusal(format!(
                "{ip} is a loopback, private or link-local address; the operator must name it in [outbound] allowed_hosts"
            )));
        }
        Ok(())
    }

    /// Whether the operator names this host itself, which lets it resolve to internal addresses.
    fn names(&self, host: &str) -> bool {
        self.unrestricted || self.operator.iter().any(|p| p.names(host))
    }

    /// The allowed hosts as a list for messages: the connector's, then the operator's.
    pub fn allowed(&self) -> String {
        let all: Vec<String> = self
            .vendor
            .iter()
            .chain(self.operator.iter())
            .map(ToString::to_string)
            .collect();
        if all.is_empty() {
            "none".to_owned()
        } else {
            all.join(", ")
        }
    }

    /// The resolver the policy's client uses, refusing internal addresses for names the
    /// operator did not name.
    pub(crate) fn resolver(&self, lookup: Lookup) -> Arc<PolicyResolver> {
        Arc::new(PolicyResolver {
            policy: self.clone(),
            lookup,
        })
    }
}

/// Whether an address is on the public internet: not loopback, private, link-local, shared,
/// unspecified, multicast or documentation space, in IPv4 or IPv6 (mapped IPv4 included).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8)
        }
    }
}

/// How names become addresses; tests give their own table.
pub type Lookup = Arc<dyn Fn(String) -> Resolving + Send + Sync>;

/// The system's resolver through tokio.
pub(crate) fn system_lookup() -> Lookup {
    Arc::new(|name: String| {
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    })
}

/// Resolves through `lookup`, then keeps only addresses the policy allows for the name.
pub struct PolicyResolver {
    policy: OutboundPolicy,
    lookup: Lookup,
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().trim_end_matches('.').to_ascii_lowercase();
        let named = self.policy.names(&host);
        let lookup = (self.lookup)(host.clone());
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = lookup
                .await?
                .filter(|a| named || is_public(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(Box::new(Refusal(format!(
                    "{host} resolves to no public address; the operator must name it in [outbound] allowed_hosts to reach an internal one"
                )))
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(vendor: &[&str], operator: &[&str]) -> OutboundPolicy {
        let parse = |entries: &[&str]| -> Vec<HostPattern> {
            entries
                .iter()
                .map(|e| HostPattern::parse(e).unwrap())
                .collect()
        };
        OutboundPolicy::new(&parse(vendor), parse(operator).into())
    }

    fn check(policy: &OutboundPolicy, url: &str) -> Result<(), Refusal> {
        policy.check(&Url::parse(url).unwrap())
    }

    #[test]
    fn entries_parse_into_hosts_ports_and_suffixes() {
        assert_eq!(
            HostPattern::parse("API.HubApi.com").unwrap(),
            HostPattern::Host("api.hubapi.com".into())
        );
        assert_eq!(
            HostPattern::parse("127.0.0.1:8080").unwrap(),
            HostPattern::HostPort("127.0.0.1".into(), 8080)
        );
        assert_eq!(
            HostPattern::parse("localhost:80").unwrap(),
            HostPattern::HostPort("localhost".into(), 80)
        );
        assert_eq!(
            HostPattern::parse("[::1]:9000").unwrap(),
            HostPattern::HostPort("::1".into(), 9000)
        );
        assert_eq!(
            HostPattern::parse("[::1]").unwrap(),
            HostPattern::Host("::1".into())
        );
        assert_eq!(
            HostPattern::parse("*.pipedrive.com").unwrap(),
            HostPattern::Suffix(".pipedrive.com".into())
        );
        for bad in [
            "",
            "*.com",
            "*.a.com:80",
            "a.*.com",
            "http://a.com",
            "a.com/x",
            "u@a.com",
            "a.com:x",
        ] {
            assert!(HostPattern::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn vendor_hosts_take_https_only_and_suffixes_take_subdomains_only() {
        let p = policy(&["api.pipedrive.com", "*.pipedrive.com"], &[]);
        assert!(check(&p, "https://api.pipedrive.com").is_ok());
        assert!(check(&p, "https://acme.pipedrive.com/").is_ok());
        assert!(check(&p, "https://ACME.Pipedrive.com./api").is_ok());
        assert!(check(&p, "http://api.pipedrive.com").is_err());
        assert!(check(&p, "https://pipedrive.com").is_err());
        assert!(check(&p, "https://evilpipedrive.com").is_err());
        assert!(check(&p, "https://api.pipedrive.com.evil.io").is_err());
        assert!(check(&p, "https://user:pw@api.pipedrive.com").is_err());
        assert!(check(&p, "ftp://api.pipedrive.com").is_err());
        let refusal = check(&p, "https://127.0.0.1:9999").unwrap_err();
        assert!(
            refusal.0.contains("api.pipedrive.com, *.pipedrive.com"),
            "{refusal}"
        );
    }

    #[test]
    fn internal_addresses_need_the_operator_to_name_them() {
        let p = policy(&["api.hubapi.com"], &["127.0.0.1:8080", "*.corp.example"]);
        assert!(check(&p, "http://127.0.0.1:8080/mock").is_ok());
        assert!(check(&p, "http://127.0.0.1:8081/").is_err());
        assert!(check(&p, "http://crm.corp.example").is_ok());
        let p = policy(&[], &["*.0.0.1"]);
        assert!(
            check(&p, "http://127.0.0.1/").is_err(),
            "a suffix never names an address"
        );
    }

    #[test]
    fn public_addresses_are_told_from_internal_ones() {
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "::",
            "fc00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(internal.parse().unwrap()), "{internal}");
        }
        for public in ["104.16.0.1", "8.8.8.8", "2606:4700::1111"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    fn table(addr: &'static str) -> Lookup {
        Arc::new(move |_| {
            let addrs: Vec<SocketAddr> = vec![addr.parse().unwrap()];
            Box::pin(async move { Ok(Box::new(addrs.into_iter()) as Addrs) })
        })
    }

    async fn resolve(
        p: &OutboundPolicy,
        lookup: Lookup,
        name: &str,
    ) -> Result<Vec<SocketAddr>, String> {
        p.resolver(lookup)
            .resolve(name.parse().unwrap())
            .await
            .map(Iterator::collect)
            .map_err(|e| e.to_string())
    }

    #[tokio::test]
    async fn names_resolving_to_internal_addresses_are_refused_unless_named() {
        let p = policy(&["*.pipedrive.com"], &["mock.local"]);
        let err = resolve(&p, table("10.0.0.7:0"), "evil.pipedrive.com")
            .await
            .unwrap_err();
        assert!(err.contains("no public address"), "{err}");
        assert_eq!(
            resolve(&p, table("127.0.0.1:0"), "mock.local")
                .await
                .unwrap(),
            ["127.0.0.1:0".parse::<SocketAddr>().unwrap()]
        );
        assert!(
            resolve(&p, table("104.16.0.1:0"), "acme.pipedrive.com")
                .await
                .is_ok()
        );
    }
}
