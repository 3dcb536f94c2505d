//! The names of the API document's schemas and shared responses, for the
//! handlers' `#[utoipa::path]` attributes (`body = schemas::Hold`). The
//! attributes and the routers that collect them (utoipa-axum) make the
//! document's operations; the JSON Schema behind each name is in the
//! gateway's `openapi/components.json`, which the gateway lays over the
//! generated document (see `gateway::openapi`).

use std::borrow::Cow;
use utoipa::openapi::{RefOr, Response, Schema};

/// The title of a named schema's placeholder, which the gateway replaces
/// with the component from `components.json`.
pub const PLACEHOLDER: &str = "defined in components.json";

/// Declares schema names: each renders as a `$ref` to its component.
macro_rules! schema_names {
    ($($name:ident),* $(,)?) => {$(
        #[doc = concat!("The `", stringify!($name), "` schema.")]
        #[derive(Debug)]
        pub struct $name;

        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                // A placeholder: the component itself comes from
                // `components.json`.
                RefOr::T(Schema::Object(
                    utoipa::openapi::schema::ObjectBuilder::new()
                        .title(Some(PLACEHOLDER))
                        .build(),
                ))
            }
        }

        impl utoipa::ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    )*};
}

/// Declares shared response names (`response = schemas::RateLimited`).
macro_rules! response_names {
    ($($name:ident),* $(,)?) => {$(
        #[doc = concat!("The shared `", stringify!($name), "` response.")]
        #[derive(Debug)]
        pub struct $name;

        impl<'r> utoipa::ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<Response>) {
                (stringify!($name), RefOr::T(Response::new("")))
            }
        }
    )*};
}

schema_names!(
    Error,
    QueueState,
    WaiterState,
    CaptchaPolicy,
    CaptchaFailure,
    JoinRequest,
    PowSolution,
    QueueStatus,
    Announcement,
    AnnouncementInput,
    AnnouncementState,
    EventLook,
    EventLookInput,
    LogoUpload,
    AdminEventLook,
    TurnContact,
    RoomInfo,
    Jwks,
    CaptchaChallenge,
    ChallengeInfo,
    CaptchaRequired,
    Event,
    EventList,
    Tier,
    SeatMap,
    Hold,
    Checkout,
    OrderStatus,
    Order,
    StripeEvent,
    WebhookAck,
    DevPaymentResult,
    Registration,
    CustomerSession,
    MyOrders,
    Role,
    AdminLoginRequest,
    Operator,
    AdminSession,
    Actor,
    AuditEntry,
    ApiKey,
    CreatedApiKey,
    QueueSettings,
    SeatMapInput,
    NewEvent,
    CreatedEvent,
    OrderCounts,
    SalesSummary,
    EventWithSales,
    SalesReport,
    EventCancelled,
    LiveSample,
    LiveMessage,
    QueueServerMessage,
    Health,
    Readiness,
    SeatMapReplacement,
    ReplacedSeatMap,
    AdminEventEntry,
    JoinRefused,
    WebSocketVersion,
    Cursor,
    DateOrTime,
    TimeOrMillis,
    DevPaymentOutcome,
    QueueAction,
    OpenApiDocument,
);

response_names!(
    RateLimited,
    QueueUnavailable,
    BookingUnavailable,
    Internal,
    AdminUnauthenticated,
    AdminForbidden,
    AdminThrottled,
    AdminUnsupportedMediaType,
);

/// Field schemas the request types share (`#[schema(schema_with = …)]`),
/// stating exactly what the server's checks accept. Whitespace is spelled
/// out as Rust's `char::is_whitespace` has it: `\s` differs between regex
/// engines.
pub mod fields {
    use utoipa::openapi::extensions::ExtensionsBuilder;
    use utoipa::openapi::schema::{
        KnownFormat, Object, ObjectBuilder, SchemaFormat, SchemaType, Type,
    };

    const WS: &str =
        r"\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";
    const CTL: &str = r"\u0000-\u001f\u007f-\u009f";

    fn string(nullable: bool) -> ObjectBuilder {
        let ty = if nullable {
            SchemaType::from_iter([Type::String, Type::Null])
        } else {
            SchemaType::new(Type::String)
        };
        ObjectBuilder::new().schema_type(ty)
    }

    fn text(max: usize, nullable: bool) -> Object {
        string(nullable)
            .min_length(Some(1))
            .max_length(Some(max))
            .pattern(Some(format!("[^{WS}]")))
            .description(Some(format!("1 to {max} characters, not all whitespace.")))
            .build()
    }

    /// What a door scanner read or staff typed: 1 to 4,096 characters,
    /// not all whitespace.
    pub fn scanned_ticket() -> Object {
        text(4096, false)
    }

    /// A gate's name: 1 to 64 characters, none a control character.
    pub fn gate() -> Object {
        string(false)
            .min_length(Some(1))
            .max_length(Some(64))
            .pattern(Some(format!("^[^{CTL}]*$")))
            .description(Some("1 to 64 printable characters.".to_owned()))
            .build()
    }

    /// A name: 1 to 100 characters, not all whitespace.
    pub fn name_100() -> Object {
        text(100, false)
    }

    /// 1 to 200 characters, not all whitespace.
    pub fn text_200() -> Object {
        text(200, false)
    }

    /// [`text_200`], or `null`.
    pub fn text_200_or_null() -> Object {
        text(200, true)
    }

    /// A new password: 8 to 1024 characters.
    pub fn new_password() -> Object {
        string(false)
            .min_length(Some(8))
            .max_length(Some(1024))
            .description(Some("8 to 1024 characters."))
            .build()
    }

    /// [`new_password`], or `null`.
    pub fn new_password_or_null() -> Object {
        string(true)
            .min_length(Some(8))
            .max_length(Some(1024))
            .description(Some("8 to 1024 characters."))
            .build()
    }

    /// A password to check: at most 1024 characters.
    pub fn password() -> Object {
        string(false)
            .max_length(Some(1024))
            .description(Some("At most 1024 characters."))
            .build()
    }

    /// A page language tag (`en`, `fr-CA`): letters, digits and `-`, at most
    /// 35 characters; any value is accepted and unknown ones read as English.
    pub fn language() -> Object {
        string(true)
            .max_length(Some(35))
            .description(Some(
                "The page's language tag (`en`, `fr`, `de`, `es`, `ja`; any other reads as English).",
            ))
            .build()
    }

    /// A customer's email (`booking`'s check): something `@` a dotted
    /// domain, no whitespace or control characters, at most 254 characters.
    pub fn customer_email() -> Object {
        let c = format!("[^@{WS}{CTL}]");
        let d = format!("[^@.{WS}{CTL}]");
        string(false)
            .max_length(Some(254))
            .pattern(Some(format!(
                "^[{WS}]*{c}+@{d}({c}*{d})?\\.{c}*{d}[{WS}]*$"
            )))
            .description(Some(
                "An email address (`user@domain.tld`), at most 254 characters.",
            ))
            .build()
    }

    /// An operator's email (`admin`'s check): an `@` and no whitespace
    /// inside, at most 254 characters.
    pub fn operator_email() -> Object {
        string(false)
            .max_length(Some(254))
            .pattern(Some(format!("^[{WS}]*[^{WS}]*@[^{WS}]*[{WS}]*$")))
            .description(Some(
                "An address with `@` and no whitespace inside, at most 254 characters.",
            ))
            .build()
    }

    /// An RFC 3339 time, or `null`.
    pub fn date_time_or_null() -> Object {
        string(true)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .description(Some("RFC 3339."))
            .build()
    }

    /// At most 5000 characters, or `null`.
    pub fn long_text_or_null() -> Object {
        string(true)
            .max_length(Some(5000))
            .description(Some("At most 5000 characters."))
            .build()
    }

    /// One line (no control characters) of at most 500 characters.
    pub fn line_500() -> Object {
        string(false)
            .max_length(Some(500))
            .pattern(Some(format!("^[^{CTL}]*$")))
            .default(Some("".into()))
            .description(Some(
                "One line, at most 500 characters; goes into every buyer's email.",
            ))
            .build()
    }

    /// The event id typed again: equal to the path's `event`, a rule the
    /// contract test's hooks keep (`x-same-as-path-parameter`).
    pub fn event_confirmation() -> Object {
        string(false)
            .pattern(Some("^[A-Za-z0-9_-]{1,64}$"))
            .description(Some(
                "The event id typed again (the path's `event`): cancelling refunds every buyer and cannot be undone.",
            ))
            .extensions(Some(
                ExtensionsBuilder::new()
                    .add("x-same-as-path-parameter", "event")
                    .build(),
            ))
            .build()
    }

    /// A whole number Rust's `i64` holds, or `null`.
    pub fn int64_or_null() -> Object {
        ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::Integer, Type::Null]))
            .minimum(Some(i64::MIN))
            .maximum(Some(i64::MAX))
            .build()
    }

    /// Seat ids (each an `i64`), or `null`.
    pub fn seat_ids_or_null() -> utoipa::openapi::schema::Array {
        let id = ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::Integer))
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .minimum(Some(i64::MIN))
            .maximum(Some(i64::MAX));
        utoipa::openapi::schema::ArrayBuilder::new()
            .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
            .items(id)
            .build()
    }

    /// A time in ms since the epoch, or `null` to clear it.
    pub fn millis_or_null() -> Object {
        ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::Integer, Type::Null]))
            .minimum(Some(0))
            .maximum(Some(i64::MAX))
            .description(Some("ms since the epoch; `null` clears it."))
            .build()
    }

    /// The 43 characters of an emailed verification link.
    pub fn link_token() -> Object {
        string(false)
            .pattern(Some(format!("^[{WS}]*[A-Za-z0-9_-]{{43}}[{WS}]*$")))
            .description(Some(
                "The 43 characters after `#verify=` in the emailed link.",
            ))
            .build()
    }
}

/// `schema` (derived from a type) with rules a JSON Schema cannot state,
/// as `x-constraints: {id: rule in words}`; the contract test's hooks keep
/// each rule by its id.
pub fn with_constraints(mut schema: RefOr<Schema>, rules: &[(&str, &str)]) -> RefOr<Schema> {
    if let RefOr::T(Schema::Object(o)) = &mut schema {
        let rules: serde_json::Map<String, serde_json::Value> = rules
            .iter()
            .map(|(id, rule)| ((*id).to_owned(), (*rule).into()))
            .collect();
        let ext = utoipa::openapi::extensions::ExtensionsBuilder::new()
            .add("x-constraints", serde_json::Value::Object(rules))
            .build();
        o.extensions.get_or_insert_with(Default::default).merge(ext);
    }
    schema
}

/// The responses every protected operator route shares: 401, 403, 429 (a
/// client address out of failed-key attempts) and 500
/// (`responses(…, schemas::AdminErrors)`).
#[derive(Debug)]
pub struct AdminErrors;

impl utoipa::IntoResponses for AdminErrors {
    fn responses() -> std::collections::BTreeMap<String, RefOr<Response>> {
        [
            ("401", "AdminUnauthenticated"),
            ("403", "AdminForbidden"),
            ("429", "AdminThrottled"),
            ("500", "Internal"),
        ]
        .into_iter()
        .map(|(status, name)| {
            let shared = utoipa::openapi::Ref::from_response_name(name);
            (status.to_owned(), RefOr::Ref(shared))
        })
        .collect()
    }
}
