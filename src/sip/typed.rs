//! Typed accessors decoded on demand from the raw headers (RFC 3261 §20). Each error names
//! its header, so the engine can answer "400 Bad Contact header".

use super::error::HeaderError;
use super::headers::Headers;
use super::name::HeaderName;
use super::name_addr::{Contact, NameAddr};
use super::text::{parse_u32, trim};

fn bad(header: &'static str, what: impl Into<String>) -> HeaderError {
    HeaderError {
        header,
        what: what.into(),
    }
}

impl Headers {
    /// Every Contact value in order (`*` or bindings).
    pub fn contacts(&self) -> Result<Vec<Contact>, HeaderError> {
        self.get_all(&HeaderName::Contact)
            .map(|v| Contact::parse(v).map_err(|e| bad("Contact", e)))
            .collect()
    }

    fn name_addrs(
        &self,
        name: &HeaderName,
        canon: &'static str,
    ) -> Result<Vec<NameAddr>, HeaderError> {
        self.get_all(name)
            .map(|v| NameAddr::parse(v).map_err(|e| bad(canon, e)))
            .collect()
    }

    /// Every Route value in order.
    pub fn route(&self) -> Result<Vec<NameAddr>, HeaderError> {
        self.name_addrs(&HeaderName::Route, "Route")
    }

    /// Every Record-Route value in order.
    pub fn record_route(&self) -> Result<Vec<NameAddr>, HeaderError> {
        self.name_addrs(&HeaderName::RecordRoute, "Record-Route")
    }

    fn seconds(&self, name: &HeaderName, canon: &'static str) -> Result<Option<u32>, HeaderError> {
        match self.get(name) {
            Some(v) => parse_u32(trim(v))
                .map(Some)
                .ok_or_else(|| bad(canon, "not a number of seconds")),
            None => Ok(None),
        }
    }

    /// The Expires header in seconds (past `u32::MAX` is an error).
    pub fn expires(&self) -> Result<Option<u32>, HeaderError> {
        self.seconds(&HeaderName::Expires, "Expires")
    }

    /// The Min-Expires header in seconds.
    pub fn min_expires(&self) -> Result<Option<u32>, HeaderError> {
        self.seconds(&HeaderName::MinExpires, "Min-Expires")
    }

    fn tokens(&self, name: &HeaderName) -> Vec<String> {
        self.get_all(name)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// Option tags of Require.
    pub fn require(&self) -> Vec<String> {
        self.tokens(&HeaderName::Require)
    }

    /// Option tags of Proxy-Require.
    pub fn proxy_require(&self) -> Vec<String> {
        self.tokens(&HeaderName::ProxyRequire)
    }

    /// Option tags of Supported.
    pub fn supported(&self) -> Vec<String> {
        self.tokens(&HeaderName::Supported)
    }

    /// Methods listed in Allow.
    pub fn allow(&self) -> Vec<String> {
        self.tokens(&HeaderName::Allow)
    }

    /// Media ranges listed in Accept.
    pub fn accept(&self) -> Vec<String> {
        self.tokens(&HeaderName::Accept)
    }

    /// The Content-Type value, trimmed.
    pub fn content_type(&self) -> Option<&str> {
        self.get(&HeaderName::ContentType).map(trim)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed() {
        let mut h = Headers::new();
        h.push(
            HeaderName::Contact,
            r#""Bell, A. <x>" <sip:a@b;x=1>;expires=60, <sip:c@d>;q=0.5"#,
        );
        h.push(HeaderName::Contact, "*");
        h.push(HeaderName::Require, "100rel, timer");
        h.push(HeaderName::Expires, "1e100");
        h.push(HeaderName::Route, "<sip:p1;lr>, <sip:p2;lr>");
        let c = h.contacts().unwrap();
        assert_eq!(c.len(), 3);
        match &c[0] {
            Contact::Addr(a) => {
                assert_eq!(a.display.as_deref(), Some("Bell, A. <x>"));
                assert_eq!(a.param("expires"), Some(Some("60")));
            }
            Contact::Star => panic!("expected a binding"),
        }
        assert_eq!(c[2], Contact::Star);
        assert_eq!(h.require(), ["100rel", "timer"]);
        assert_eq!(h.expires().unwrap_err().to_string(), "Bad Expires header");
        assert_eq!(h.route().unwrap().len(), 2);
        assert!(h.record_route().unwrap().is_empty());
        h.push(HeaderName::Contact, "<sip:a@b>;;;");
        assert_eq!(h.contacts().unwrap_err().header, "Contact");
    }
}
