//! The function URL handler: one request in, one response out, every path
//! answered.

use aws_lambda_events::http::{HeaderMap, HeaderValue};
use aws_lambda_events::lambda_function_urls::{
    LambdaFunctionUrlRequest, LambdaFunctionUrlResponse,
};
use lambda_runtime::LambdaEvent;
use serde_json::json;

use crate::config::{AllowedEvents, Config};
use crate::delivery::{self, PayloadEncoding};
use crate::error::Error;
use crate::event::{self, Disposition};
use crate::publisher::EventPublisher;
use crate::secret_store::SecretStore;
use crate::signature::{Signature, SIGNATURE_HEADER};

/// A delivery that was accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// `ping` answered (200).
    Pong,
    /// Forwarded to the bus (200).
    Forwarded { event_id: String, trimmed: bool },
    /// Not an allowed event: acknowledged, not forwarded (202).
    Ignored,
}

/// The webhook: the settings, the secret and the bus.
#[derive(Debug)]
pub struct Webhook {
    allowed_events: AllowedEvents,
    event_bus_name: String,
    secrets: SecretStore,
    publisher: EventPublisher,
}

impl Webhook {
    /// Builds the webhook from its settings and adapters.
    pub fn new(config: Config, secrets: SecretStore, publisher: EventPublisher) -> Self {
        Self {
            allowed_events: config.allowed_events,
            event_bus_name: config.event_bus_name,
            secrets,
            publisher,
        }
    }

    /// Entry point for the Lambda runtime. Never fails: every outcome is an
    /// HTTP response.
    pub async fn handle_event(
        &self,
        event: LambdaEvent<LambdaFunctionUrlRequest>,
    ) -> Result<LambdaFunctionUrlResponse, lambda_runtime::Error> {
        Ok(self.handle(&event.payload).await)
    }

    /// Answers one function URL request.
    pub async fn handle(&self, request: &LambdaFunctionUrlRequest) -> LambdaFunctionUrlResponse {
        let event_name = delivery::single_header(&request.headers, delivery::EVENT_HEADER)
            .ok()
            .flatten();
        let delivery_id = delivery::single_header(&request.headers, delivery::DELIVERY_HEADER)
            .ok()
            .flatten()
            .and_then(|id| delivery::delivery_id(Some(id)).ok())
            .unwrap_or("-");
        match self.process(request).await {
            Ok(accepted) => {
                let (status, body) = match &accepted {
                    Accepted::Pong => (200, json!({"message": "pong"})),
                    Accepted::Forwarded { event_id, trimmed } => {
                        tracing::info!(delivery_id, event_id = %event_id, trimmed, "forwarded");
                        (200, json!({"message": "forwarded", "trimmed": trimmed}))
                    }
                    Accepted::Ignored => {
                        tracing::info!(delivery_id, "event type not forwarded");
                        (202, json!({"message": "event type not forwarded"}))
                    }
                };
                tracing::info!(
                    status,
                    delivery_id,
                    event = event_name.unwrap_or("-"),
                    "answered"
                );
                json_response(status, &body)
            }
            Err(error) => {
                let status = error.status();
                let detail = error_chain(&error);
                if error.is_client_error() {
                    tracing::info!(status, delivery_id, error = %detail, "refused");
                } else {
                    tracing::error!(status, delivery_id, error = %detail, "failed");
                }
                json_response(status, &json!({"message": error.public_message()}))
            }
        }
    }

    async fn process(&self, request: &LambdaFunctionUrlRequest) -> Result<Accepted, Error> {
        let method = request.request_context.http.method.as_deref();
        if !method.is_some_and(|m| m.eq_ignore_ascii_case("POST")) {
            return Err(Error::MethodNotAllowed);
        }
        let raw = delivery::raw_body(request.body.as_deref(), request.is_base64_encoded)?;

        // Nothing of the body is looked at before this check passes.
        self.verify(&request.headers, &raw).await?;

        let event_name = delivery::single_header(&request.headers, delivery::EVENT_HEADER)?
            .ok_or(Error::MissingEventName)?;
        match event::classify(event_name, &self.allowed_events) {
            Disposition::Ping => return Ok(Accepted::Pong),
            Disposition::Ignore => return Ok(Accepted::Ignored),
            Disposition::Forward => {}
        }
        let delivery_id = delivery::delivery_id(delivery::single_header(
            &request.headers,
            delivery::DELIVERY_HEADER,
        )?)?;
        let encoding = PayloadEncoding::from_content_type(delivery::single_header(
            &request.headers,
            delivery::CONTENT_TYPE_HEADER,
        )?)?;
        let payload = delivery::parse_payload(encoding, &raw)?;
        let outgoing = event::build_event(payload, event_name, delivery_id, &self.event_bus_name)?;
        let event_id = self.publisher.publish(&outgoing).await?;
        Ok(Accepted::Forwarded {
            event_id,
            trimmed: outgoing.trimmed,
        })
    }

    /// Checks `X-Hub-Signature-256` against the cached secret, and once more
    /// against a re-read secret (rate-limited) in case it was rotated.
    async fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), Error> {
        let header = delivery::single_header(headers, SIGNATURE_HEADER)
            .map_err(|_| Error::SignatureMalformed)?;
        let signature = Signature::parse(header)?;
        let current = self.secrets.current().await?;
        match signature.verify(&current.secret, body) {
            Err(Error::SignatureMismatch) if !current.fresh => {
                match self.secrets.refreshed(&current.secret).await {
                    Some(newer) => signature.verify(&newer, body),
                    None => Err(Error::SignatureMismatch),
                }
            }
            outcome => outcome,
        }
    }
}

/// An error and its sources, for the log: `outer: inner: innermost`.
/// None of the crate's errors carries the secret or a signature.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

/// A response with a JSON body.
fn json_response(status: u16, body: &serde_json::Value) -> LambdaFunctionUrlResponse {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert("cache-control", HeaderValue::from_static("no-store"));
    let mut response = LambdaFunctionUrlResponse::default();
    response.status_code = i64::from(status);
    response.headers = headers;
    response.body = Some(body.to_string());
    response.is_base64_encoded = false;
    response
}
