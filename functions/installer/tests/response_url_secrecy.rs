//! The CloudFormation ResponseURL is a credential: it never appears in the
//! logs, nor in errors. Alone in its binary, so that its log capture is the
//! only subscriber.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};

use aws_smithy_mocks::mock;
use common::mocks::{json_error, Aws, Extra};
use common::{create_event, deadline_in, fast_settings, properties, ResponseListener};
use installer::{Error, Installer};
use serde_json::Value;

fn create(url: &str) -> Value {
    let mut event = create_event(url, properties("logs", "123456789012"));
    event["ResponseURL"] = Value::String(url.to_owned());
    event
}

/// A writer collecting everything logged, to check what never is.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn the_response_url_is_never_logged() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tracing::subscriber::with_default(subscriber, || {
        runtime.block_on(async {
            // A failing run (so errors are logged) whose answer is refused
            // twice, then a URL nobody listens on (transport errors).
            let aws = Aws::empty();
            let project = mock!(aws_sdk_codebuild::Client::create_project)
                .then_http_response(|| json_error("AccessDeniedException", "denied"));
            let clients = aws.clients(Extra {
                codebuild: vec![&project],
                ..Extra::default()
            });
            let installer = Installer::new(clients, fast_settings()).unwrap();
            let listener = ResponseListener::answering(&[500, 500, 500]).await;
            let _ = installer
                .handle(create(&listener.url), deadline_in(60), "stream")
                .await;
            let closed = "http://127.0.0.1:9/cloudformation-response/secret-token?X-Amz-Signature=abc123secret";
            let result = installer
                .handle(create(closed), deadline_in(60), "stream")
                .await;
            assert!(matches!(result, Err(Error::Respond(_))), "{result:?}");
            let message = result.err().map(|e| e.to_string()).unwrap_or_default();
            assert!(!message.contains("secret-token"), "{message}");
        });
    });
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("custom resource request"),
        "nothing was logged"
    );
    assert!(logs.contains("could not deliver the response"), "{logs}");
    assert!(!logs.contains("secret-token"), "{logs}");
    assert!(!logs.contains("abc123secret"), "{logs}");
    assert!(!logs.contains("ResponseURL\":"), "{logs}");
}
