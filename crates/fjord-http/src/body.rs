//! The request and response types every fjord app speaks.
//!
//! Apps are tower services `Request -> Response` with an infallible error
//! (errors are responses). [`Body`] is one type whatever the app returns,
//! so that the server, middleware and loader agree on it: a body held in
//! full (most API answers: no allocation, no dynamic dispatch) or any
//! other body of [`Bytes`] chunks, boxed.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use http_body_util::{BodyExt, combinators::UnsyncBoxBody};

/// Error type carried inside a [`Body`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The HTTP body used by fjord apps: bytes held in full, or any body of
/// [`Bytes`] chunks, boxed ([`Body::new`]). It implements
/// [`http_body::Body`], so `http_body_util::BodyExt` (`collect`, `frame`,
/// ...) works on it.
pub struct Body(Inner);

enum Inner {
    /// All of it; empty once sent (or when empty to begin with).
    Full(Bytes),
    Boxed(UnsyncBoxBody<Bytes, BoxError>),
}

impl Body {
    /// A body holding `data` in full.
    pub fn full(data: impl Into<Bytes>) -> Self {
        Body(Inner::Full(data.into()))
    }

    /// An empty body.
    pub fn empty() -> Self {
        Body(Inner::Full(Bytes::new()))
    }

    /// Any body of [`Bytes`] chunks (a stream, a body read from a request),
    /// boxed.
    pub fn new<B>(body: B) -> Self
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        Body(Inner::Boxed(body.map_err(Into::into).boxed_unsync()))
    }
}

impl Default for Body {
    fn default() -> Self {
        Body::empty()
    }
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Inner::Full(data) => f.debug_tuple("Body::Full").field(&data.len()).finish(),
            Inner::Boxed(_) => f.write_str("Body::Boxed"),
        }
    }
}

impl From<Bytes> for Body {
    fn from(data: Bytes) -> Self {
        Body::full(data)
    }
}

impl From<String> for Body {
    fn from(data: String) -> Self {
        Body::full(data)
    }
}

impl From<&'static str> for Body {
    fn from(data: &'static str) -> Self {
        Body::full(data)
    }
}

impl From<Vec<u8>> for Body {
    fn from(data: Vec<u8>) -> Self {
        Body::full(data)
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match &mut self.get_mut().0 {
            Inner::Full(data) if data.is_empty() => Poll::Ready(None),
            Inner::Full(data) => Poll::Ready(Some(Ok(Frame::data(std::mem::take(data))))),
            Inner::Boxed(body) => Pin::new(body).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.0 {
            Inner::Full(data) => data.is_empty(),
            Inner::Boxed(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.0 {
            Inner::Full(data) => SizeHint::with_exact(data.len() as u64),
            Inner::Boxed(body) => body.size_hint(),
        }
    }
}

/// A request as an app receives it.
pub type Request = http::Request<Body>;

/// A response as an app returns it.
pub type Response = http::Response<Body>;

/// An application: a cloneable tower service from [`Request`] to [`Response`].
/// Errors are turned into responses by the app itself (or by the
/// catch-errors middleware), hence `Infallible`.
pub type App = tower::util::BoxCloneService<Request, Response, std::convert::Infallible>;

/// A body holding `data` in full ([`Body::full`]).
pub fn full(data: impl Into<Bytes>) -> Body {
    Body::full(data)
}

/// An empty body ([`Body::empty`]).
pub fn empty() -> Body {
    Body::empty()
}

/// Boxes any body of [`Bytes`] chunks into a [`Body`] ([`Body::new`]).
pub fn boxed<B>(body: B) -> Body
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    Body::new(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_body_is_one_frame_then_ends() {
        let mut body = Body::full("Hello");
        assert!(!http_body::Body::is_end_stream(&body));
        assert_eq!(http_body::Body::size_hint(&body).exact(), Some(5));
        let frame = body.frame().await.unwrap().unwrap();
        assert_eq!(frame.into_data().unwrap(), "Hello");
        assert!(http_body::Body::is_end_stream(&body));
        assert!(body.frame().await.is_none());
    }

    #[tokio::test]
    async fn an_empty_body_has_ended() {
        let mut body = Body::default();
        assert!(http_body::Body::is_end_stream(&body));
        assert_eq!(http_body::Body::size_hint(&body).exact(), Some(0));
        assert!(body.frame().await.is_none());
    }

    #[tokio::test]
    async fn a_boxed_body_passes_frames_and_errors_through() {
        let chunks = futures_util::stream::iter(vec![
            Ok::<_, std::io::Error>(Frame::data(Bytes::from("a"))),
            Err(std::io::Error::other("broken")),
        ]);
        let mut body = Body::new(http_body_util::StreamBody::new(chunks));
        assert_eq!(
            body.frame().await.unwrap().unwrap().into_data().unwrap(),
            "a"
        );
        let err = body.frame().await.unwrap().unwrap_err();
        assert_eq!(err.to_string(), "broken");
    }
}
