//! The request and response types every fjord app speaks.
//!
//! Apps are tower services `Request -> Response` with an infallible error
//! (errors are responses). [`Body`] is a boxed body so that the server,
//! middleware and loader agree on one type whatever the app returns.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, combinators::UnsyncBoxBody};

/// Error type carried inside a [`Body`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The HTTP body used by fjord apps: any body of [`Bytes`] chunks, boxed.
pub type Body = UnsyncBoxBody<Bytes, BoxError>;

/// A request as an app receives it.
pub type Request = http::Request<Body>;

/// A response as an app returns it.
pub type Response = http::Response<Body>;

/// An application: a cloneable tower service from [`Request`] to [`Response`].
/// Errors are turned into responses by the app itself (or by the
/// catch-errors middleware), hence `Infallible`.
pub type App = tower::util::BoxCloneService<Request, Response, std::convert::Infallible>;

/// A body holding `data` in full.
pub fn full(data: impl Into<Bytes>) -> Body {
    Full::new(data.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// An empty body.
pub fn empty() -> Body {
    full(Bytes::new())
}

/// Boxes any body of [`Bytes`] chunks into a [`Body`].
pub fn boxed<B>(body: B) -> Body
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    body.map_err(Into::into).boxed_unsync()
}
