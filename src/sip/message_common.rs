//! The accessors and builders [`super::Request`] and [`super::Response`] share word for word:
//! both keep their header text in `headers`, the validated essentials in `ess` and the body in
//! `body`, so one definition serves both (expanded inside each `impl`).

/// Expands to the shared methods inside `impl Request` or `impl Response`.
macro_rules! message_common {
    () => {
        /// From.
        pub fn from(&self) -> &NameAddr {
            self.ess.from(&self.headers)
        }

        /// To.
        pub fn to(&self) -> &NameAddr {
            self.ess.to(&self.headers)
        }

        /// From without its tag parameters (a dialog's URI): decoded without the tag, not
        /// copied from [`Self::from`], unless From was decoded already.
        // The From header without its tag, not a conversion.
        #[allow(clippy::wrong_self_convention)]
        pub fn from_without_tag(&self) -> NameAddr {
            self.ess.from_without_tag(&self.headers)
        }

        /// To without its tag parameters (see [`Self::from_without_tag`]).
        pub fn to_without_tag(&self) -> NameAddr {
            self.ess.to_without_tag(&self.headers)
        }

        /// The From URI's user, unescaped (`from().uri.user`), without decoding From.
        // The From header's user, not a conversion.
        #[allow(clippy::wrong_self_convention)]
        pub fn from_user(&self) -> Option<std::borrow::Cow<'_, str>> {
            self.ess.from_user(&self.headers)
        }

        /// The From display name, unquoted (`from().display`), without decoding From.
        // The From header's display name, not a conversion.
        #[allow(clippy::wrong_self_convention)]
        pub fn from_display(&self) -> Option<std::borrow::Cow<'_, str>> {
            self.ess.from_display(&self.headers)
        }

        /// The From tag, without decoding From (a span of the received text).
        // The From header's tag, not a conversion.
        #[allow(clippy::wrong_self_convention)]
        pub fn from_tag(&self) -> Option<&str> {
            self.ess.from_tag(&self.headers)
        }

        /// The To tag, without decoding To (a span of the received text).
        pub fn to_tag(&self) -> Option<&str> {
            self.ess.to_tag(&self.headers)
        }

        /// The top Via's branch, without decoding the Via.
        pub fn top_branch(&self) -> Option<&str> {
            self.ess.top_branch(&self.headers)
        }

        /// The top Via's sent-by host (IPv6 in brackets) and port, without decoding the Via
        /// (None only on a built message without a Via).
        pub fn top_sent_by(&self) -> Option<(&str, Option<u16>)> {
            self.ess.top_sent_by(&self.headers)
        }

        /// Call-ID.
        pub fn call_id(&self) -> &str {
            self.ess.call_id(&self.headers)
        }

        /// The body, framed by Content-Length.
        pub fn body(&self) -> &[u8] {
            self.body.bytes(&self.headers)
        }

        /// All header lines in order.
        pub fn headers(&self) -> &Headers {
            &self.headers
        }

        /// Contact values.
        pub fn contacts(&self) -> Result<Vec<Contact>, HeaderError> {
            self.headers.contacts()
        }

        /// Content-Type.
        pub fn content_type(&self) -> Option<&str> {
            self.headers.content_type()
        }

        /// Record-Route values.
        pub fn record_route(&self) -> Result<Vec<NameAddr>, HeaderError> {
            self.headers.record_route()
        }

        /// Appends a header line whose value `write` prints straight into the message (no
        /// temporary String; the same bookkeeping as [`Self::push_header`]). The value must be
        /// trimmed and on one line; Content-Length is not for this (it is computed).
        pub fn push_header_with(&mut self, name: HeaderName, write: impl FnOnce(&mut String)) {
            if name == HeaderName::ContentLength {
                return;
            }
            let note = name.clone();
            let first_via = note == HeaderName::Via && self.headers.get(&HeaderName::Via).is_none();
            let value = self.headers.push_with(name, write);
            self.ess.note(&note, value);
            if first_via {
                self.ess.note_built_via(&self.headers);
            }
        }

        /// Sets the body; `Some(content_type)` also replaces the Content-Type header.
        pub fn set_body(&mut self, content_type: Option<&str>, body: Vec<u8>) {
            if let Some(ct) = content_type {
                self.headers.set(HeaderName::ContentType, ct);
            }
            self.body = super::body::Body::Owned(body);
        }
    };
}
pub(crate) use message_common;
