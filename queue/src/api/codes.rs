//! The one table of error codes. Every crate answers errors with a code
//! from this table, so one condition has one code (and one status)
//! whichever crate refuses it. README's "Error codes" table and the OpenAPI
//! document's `ErrorCode` schema are checked against [`ErrorCode::ALL`] by
//! tests, so the documentation cannot drift from it.

use axum::http::StatusCode;

macro_rules! error_codes {
    ($( $variant:ident = ($code:literal, $status:ident, $meaning:literal), )*) => {
        /// A stable, machine-readable error code, with its HTTP status and
        /// meaning.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $(
                #[doc = $meaning]
                $variant,
            )*
        }

        impl ErrorCode {
            /// Every code, in table order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            /// The code as sent in `error.code`.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $code,)* }
            }

            /// The HTTP status it is answered with.
            pub fn status(self) -> StatusCode {
                match self { $(Self::$variant => StatusCode::$status,)* }
            }

            /// What it means, for the documentation.
            pub fn meaning(self) -> &'static str {
                match self { $(Self::$variant => $meaning,)* }
            }
        }
    };
}

error_codes! {
    InvalidRequest = ("invalid_request", BAD_REQUEST, "The request is malformed in a way no more specific code covers (e.g. a WebSocket route called without an upgrade)."),
    InvalidJson = ("invalid_json", BAD_REQUEST, "The body is not JSON, or not the JSON shape the route takes."),
    InvalidId = ("invalid_id", BAD_REQUEST, "A path parameter (event, hold, order, …) is not a well-formed id once percent-decoded."),
    Unauthenticated = ("unauthenticated", UNAUTHORIZED, "No credentials, or wrong ones (operator or customer sign-in, API key, session)."),
    PaymentDeclined = ("payment_declined", PAYMENT_REQUIRED, "The card was declined (`decline_code` says why); try another card while the hold lasts."),
    CredentialRequired = ("credential_required", UNAUTHORIZED, "The route needs the visitor credential (queue cookie or `X-Queue-Token`) and none was sent."),
    CredentialTooLong = ("credential_too_long", UNAUTHORIZED, "The visitor credential is longer than any we issue."),
    CredentialMalformed = ("credential_malformed", UNAUTHORIZED, "The visitor credential cannot be parsed."),
    CredentialUnknownKey = ("credential_unknown_key", UNAUTHORIZED, "The visitor credential was made with a key this service does not have."),
    CredentialInvalid = ("credential_invalid", UNAUTHORIZED, "The visitor credential's MAC does not match: tampered with or forged."),
    CredentialWrongEvent = ("credential_wrong_event", UNAUTHORIZED, "The visitor credential belongs to another event's queue."),
    AdmissionRequired = ("admission_required", UNAUTHORIZED, "Holding seats needs an admission token (`Authorization: Bearer`)."),
    TokenMalformed = ("token_malformed", UNAUTHORIZED, "The admission token is not a JWT of the expected shape."),
    TokenUnsupportedAlgorithm = ("token_unsupported_algorithm", UNAUTHORIZED, "The admission token names an algorithm other than EdDSA."),
    TokenUnknownKey = ("token_unknown_key", UNAUTHORIZED, "The admission token was signed with a key not in the published set."),
    TokenBadSignature = ("token_bad_signature", UNAUTHORIZED, "The admission token's signature does not verify."),
    TokenExpired = ("token_expired", UNAUTHORIZED, "The admission token has expired."),
    TokenNotYetValid = ("token_not_yet_valid", UNAUTHORIZED, "The admission token is not valid yet."),
    TokenWrongIssuer = ("token_wrong_issuer", UNAUTHORIZED, "The admission token has another issuer."),
    TokenWrongAudience = ("token_wrong_audience", FORBIDDEN, "The admission token is for another service."),
    TokenWrongEvent = ("token_wrong_event", FORBIDDEN, "The admission token is for another event."),
    TokenWrongSession = ("token_wrong_session", FORBIDDEN, "The admission token was issued to another session: it cannot be passed on."),
    Forbidden = ("forbidden", FORBIDDEN, "Authenticated, but not allowed to do this (role, ownership)."),
    EmailUnverified = ("email_unverified", FORBIDDEN, "The account has not confirmed its email yet; follow the link we sent."),
    ForbiddenOrigin = ("forbidden_origin", FORBIDDEN, "A browser request from a foreign origin tried a cookie-authenticated write or socket."),
    CaptchaRequired = ("captcha_required", FORBIDDEN, "Joining needs a solved CAPTCHA; the body carries a fresh `challenge`."),
    TooManyPlaces = ("too_many_places", FORBIDDEN, "The client's network (or account) already holds the most places this queue allows."),
    NotFound = ("not_found", NOT_FOUND, "No such resource or path."),
    UnknownEvent = ("unknown_event", NOT_FOUND, "No waiting room is configured for this event."),
    NotJoined = ("not_joined", NOT_FOUND, "The credential holds no place in this queue; join first."),
    MethodNotAllowed = ("method_not_allowed", METHOD_NOT_ALLOWED, "The path does not take this method (see `Allow`)."),
    Conflict = ("conflict", CONFLICT, "The request conflicts with the current state (e.g. a unique value is taken)."),
    VersionConflict = ("version_conflict", CONFLICT, "The write named an older settings version (`If-Match`); reload and retry."),
    QueueClosed = ("queue_closed", CONFLICT, "The queue does not accept new visitors in its current state."),
    SoldOut = ("sold_out", CONFLICT, "The event sold out and its waitlist takes no new arrivals."),
    OfferExpired = ("offer_expired", CONFLICT, "The waitlist offer expired and passed to the next fan; rejoin the waiting room to wait for another seat."),
    TokenUsed = ("token_used", CONFLICT, "The admission token was already used for a hold."),
    SeatsUnavailable = ("seats_unavailable", CONFLICT, "Some requested seats are taken; `seats` lists them."),
    HoldNotActive = ("hold_not_active", CONFLICT, "The hold has expired, been released or been checked out."),
    SaleClosed = ("sale_closed", CONFLICT, "The event is not on sale."),
    EventCancelled = ("event_cancelled", CONFLICT, "The event is cancelled."),
    NotADraft = ("not_a_draft", CONFLICT, "Only a draft event can be changed this way."),
    AlreadyRefunded = ("already_refunded", CONFLICT, "The order was already refunded (possibly at the payment provider)."),
    RefundRefused = ("refund_refused", CONFLICT, "The payment provider refused the refund; its code is recorded on the order."),
    OrderNotCancellable = ("order_not_cancellable", CONFLICT, "The order is in a state that cannot be cancelled."),
    PayloadTooLarge = ("payload_too_large", PAYLOAD_TOO_LARGE, "The request body is larger than the route accepts."),
    LogoTooLarge = ("logo_too_large", PAYLOAD_TOO_LARGE, "An event's logo is over 256 KiB."),
    UnsupportedMediaType = ("unsupported_media_type", UNSUPPORTED_MEDIA_TYPE, "The body must be `application/json`."),
    ValidationFailed = ("validation_failed", UNPROCESSABLE_ENTITY, "Well-formed input that fails validation; `field` names the input when known."),
    LogoUnsupported = ("logo_unsupported", UNPROCESSABLE_ENTITY, "An event's logo is not a PNG, JPEG or WebP image, judged by its first bytes (SVG is refused: it can carry script)."),
    TooManySeats = ("too_many_seats", UNPROCESSABLE_ENTITY, "More seats than the event allows per fan."),
    RateLimited = ("rate_limited", TOO_MANY_REQUESTS, "Too many requests from this client; see `Retry-After`."),
    TooManyConnections = ("too_many_connections", TOO_MANY_REQUESTS, "Too many open connections or WebSockets from this address; see `Retry-After`."),
    TooManyAttempts = ("too_many_attempts", TOO_MANY_REQUESTS, "Too many failed sign-ins; see `Retry-After`."),
    HeadersTooLarge = ("headers_too_large", REQUEST_HEADER_FIELDS_TOO_LARGE, "The request's headers are larger than the server accepts."),
    Internal = ("internal", INTERNAL_SERVER_ERROR, "Our fault; the message carries an id that is in the logs."),
    PaymentProviderError = ("payment_provider_error", BAD_GATEWAY, "The payment provider refused our request; our fault, logged with the provider's request id."),
    ServiceUnavailable = ("service_unavailable", SERVICE_UNAVAILABLE, "A backend (queue store, database) is unreachable; places are kept; see `Retry-After`."),
    SocketCapacity = ("socket_capacity", SERVICE_UNAVAILABLE, "This process holds all the WebSockets it may (`max_sockets`); reconnect (through the load balancer, to any process) after `Retry-After`, and poll `status` meanwhile."),
    CaptchaUnavailable = ("captcha_unavailable", SERVICE_UNAVAILABLE, "The CAPTCHA provider could not be reached; see `Retry-After`."),
}

impl ErrorCode {
    /// The code for an error the framework answered itself, by status.
    pub fn for_status(status: StatusCode) -> Self {
        match status {
            StatusCode::UNAUTHORIZED => Self::Unauthenticated,
            StatusCode::FORBIDDEN => Self::Forbidden,
            StatusCode::NOT_FOUND => Self::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => Self::MethodNotAllowed,
            StatusCode::CONFLICT => Self::Conflict,
            StatusCode::PAYLOAD_TOO_LARGE => Self::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Self::UnsupportedMediaType,
            StatusCode::UNPROCESSABLE_ENTITY => Self::ValidationFailed,
            StatusCode::TOO_MANY_REQUESTS => Self::RateLimited,
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => Self::HeadersTooLarge,
            StatusCode::SERVICE_UNAVAILABLE => Self::ServiceUnavailable,
            s if s.is_client_error() => Self::InvalidRequest,
            _ => Self::Internal,
        }
    }

    /// The Markdown table README carries (a test compares the two).
    pub fn markdown_table() -> String {
        let mut out = String::from("| code | status | meaning |\n|---|---|---|\n");
        for c in Self::ALL {
            out.push_str(&format!(
                "| `{}` | {} | {} |\n",
                c.as_str(),
                c.status().as_u16(),
                c.meaning()
            ));
        }
        out
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorCode;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_snake_case() {
        let mut seen = HashSet::new();
        for c in ErrorCode::ALL {
            assert!(seen.insert(c.as_str()), "duplicate code {c}");
            assert!(c
                .as_str()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_'));
            assert!(c.status().is_client_error() || c.status().is_server_error());
        }
    }
}
