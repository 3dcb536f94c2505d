//! The names of the API document's schemas and shared responses, for the
//! handlers' `#[utoipa::path]` attributes (`body = schemas::Hold`). The
//! attributes and the routers that collect them (utoipa-axum) make the
//! document's operations; the JSON Schema behind each name is in the
//! gateway's `openapi/components.json`, which the gateway lays over the
//! generated document (see `gateway::openapi`).

use std::borrow::Cow;
use utoipa::openapi::{RefOr, Response, Schema};

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
                RefOr::T(Schema::Object(Default::default()))
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
    RoomInfo,
    Jwks,
    CaptchaChallenge,
    ChallengeInfo,
    CaptchaRequired,
    Event,
    EventList,
    Tier,
    SeatMap,
    HoldRequest,
    Hold,
    CheckoutRequest,
    Checkout,
    OrderStatus,
    Order,
    StripeEvent,
    WebhookAck,
    DevPaymentResult,
    AccountRequest,
    Registration,
    VerifyRequest,
    CustomerSession,
    MyOrders,
    Role,
    AdminLoginRequest,
    Operator,
    AdminSession,
    Actor,
    AuditEntry,
    NewOperator,
    OperatorChange,
    ApiKey,
    CreatedApiKey,
    NewApiKey,
    QueueSettings,
    QueueSettingsPatch,
    SeatMapInput,
    NewEvent,
    CreatedEvent,
    EventPatch,
    CancelEventRequest,
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
    NewAccount,
    JoinRefused,
    WebSocketVersion,
    Cursor,
    DateOrTime,
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
