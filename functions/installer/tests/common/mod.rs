//! Test support: CloudFormation's ResponseURL served on 127.0.0.1, and
//! custom resource events.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod mocks;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use installer::aws::propagation::Backoff;
use installer::respond::RespondPolicy;
use installer::Settings;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request the response listener received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    /// Header names lowercased.
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub at: tokio::time::Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("the response body is JSON")
    }
}

/// CloudFormation's side of the ResponseURL: a listener on 127.0.0.1 that
/// records every request and answers with the statuses it is given (then 200).
#[derive(Debug, Clone)]
pub struct ResponseListener {
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
    statuses: Arc<Mutex<VecDeque<u16>>>,
    task: Arc<tokio::task::JoinHandle<()>>,
}

impl ResponseListener {
    pub async fn start() -> Self {
        Self::answering(&[]).await
    }

    /// Answers the first requests with `statuses`, the rest with 200.
    pub async fn answering(statuses: &[u16]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let statuses = Arc::new(Mutex::new(
            statuses.iter().copied().collect::<VecDeque<_>>(),
        ));
        let (rec, st) = (received.clone(), statuses.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (rec, st) = (rec.clone(), st.clone());
                tokio::spawn(async move {
                    let _ = serve(stream, rec, st).await;
                });
            }
        });
        Self {
            url: format!(
                "http://127.0.0.1:{port}/cloudformation-response/secret-token?X-Amz-Signature=abc123secret"
            ),
            received,
            statuses,
            task: Arc::new(task),
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// The one answer received; fails if there were none or several.
    pub fn only_answer(&self) -> Value {
        let received = self.received();
        assert_eq!(
            received.len(),
            1,
            "expected exactly one answer: {received:?}"
        );
        received[0].json()
    }
}

impl Drop for ResponseListener {
    fn drop(&mut self) {
        if Arc::strong_count(&self.task) == 1 {
            self.task.abort();
        }
    }
}

async fn serve(
    mut stream: TcpStream,
    received: Arc<Mutex<Vec<Received>>>,
    statuses: Arc<Mutex<VecDeque<u16>>>,
) -> std::io::Result<()> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(position) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break position + 4;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..header_end]).to_string();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while buffer.len() < header_end + length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buffer[header_end..]).to_string();
    received.lock().unwrap().push(Received {
        method,
        path,
        headers,
        body,
        at: tokio::time::Instant::now(),
    });
    let status = statuses.lock().unwrap().pop_front().unwrap_or(200);
    let reply = format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
    stream.write_all(reply.as_bytes()).await?;
    stream.shutdown().await
}

/// A TCP listener on 127.0.0.1 that accepts connections and never answers:
/// an AWS endpoint that hangs.
pub async fn hanging_endpoint() -> (String, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    (format!("http://127.0.0.1:{port}"), task)
}

/// Short timings for tests.
pub fn fast_settings() -> Settings {
    Settings {
        backoff: Backoff {
            first_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(40),
            budget: Duration::from_secs(2),
        },
        cleanup_reserve: Duration::from_millis(500),
        respond: RespondPolicy {
            attempts: 3,
            first_delay: Duration::from_millis(20),
            attempt_timeout: Duration::from_secs(2),
        },
    }
}

pub const STACK_ID: &str =
    "arn:aws:cloudformation:ap-southeast-1:123456789012:stack/ci-test/5b0a7c10-9a1e-11ef-8f3b-0a1b2c3d4e5f";

/// The template's properties for a suffix, with the given account in role
/// ARNs (the local cloud's CodePipeline checks roles by ARN).
pub fn properties(suffix: &str, account: &str) -> Value {
    json!({
        "ServiceToken": format!("arn:aws:lambda:ap-southeast-1:{account}:function:installer-{suffix}"),
        "ServiceTimeout": "900",
        "EnvironmentSuffix": suffix,
        "ProjectName": format!("build-{suffix}"),
        "PipelineName": format!("pipeline-{suffix}"),
        "RuleName": format!("github-push-{suffix}"),
        "EventBusName": format!("github-events-{suffix}"),
        "CodeBuildRoleArn": format!("arn:aws:iam::{account}:role/codebuild-role-{suffix}"),
        "PipelineRoleArn": format!("arn:aws:iam::{account}:role/codepipeline-role-{suffix}"),
        "StarterFunctionArn": format!("arn:aws:lambda:ap-southeast-1:{account}:function:starter-{suffix}"),
        "DeadLetterQueueArn": format!("arn:aws:sqs:ap-southeast-1:{account}:push-dead-letters-{suffix}"),
        "ArtifactBucket": format!("artifacts-{suffix}-{account}"),
        "RepositoryName": format!("images-{suffix}"),
        "RepositoryUri": format!("{account}.dkr.ecr.ap-southeast-1.amazonaws.com/images-{suffix}"),
        "ConnectionArn": format!("arn:aws:codeconnections:ap-southeast-1:{account}:connection/7d3f1b2a-4c5e-4f60-8a9b-0c1d2e3f4a5b"),
        "GitHubOwner": "octo-org",
        "GitHubRepo": "hello-service",
        "GitHubBranch": "main",
        "DockerfilePath": "Dockerfile",
        "BuildKitImage": "public.ecr.aws/vend/moby/buildkit:buildx-stable-1",
        "TaggerFunctionName": format!("tagger-{suffix}"),
        "BuildLogGroupName": format!("/aws/codebuild/build-{suffix}"),
        "Tags": [
            {"Key": "Environment", "Value": "production"},
            {"Key": "Team", "Value": "devops"}
        ]
    })
}

pub fn physical_id(suffix: &str) -> String {
    format!("installer:build-{suffix}:pipeline-{suffix}:github-push-{suffix}")
}

fn envelope(kind: &str, url: &str, request_id: &str) -> Value {
    json!({
        "RequestType": kind,
        "ServiceToken": "arn:aws:lambda:ap-southeast-1:123456789012:function:installer-test",
        "ResponseURL": url,
        "StackId": STACK_ID,
        "RequestId": request_id,
        "ResourceType": "Custom::Installer",
        "LogicalResourceId": "Installer",
    })
}

pub fn create_event(url: &str, properties: Value) -> Value {
    let mut event = envelope("Create", url, "11111111-2222-4333-8444-555555555555");
    event["ResourceProperties"] = properties;
    event
}

pub fn update_event(url: &str, physical_id: &str, properties: Value, old: Value) -> Value {
    let mut event = envelope("Update", url, "22222222-2222-4333-8444-555555555555");
    event["PhysicalResourceId"] = json!(physical_id);
    event["ResourceProperties"] = properties;
    event["OldResourceProperties"] = old;
    event
}

pub fn delete_event(url: &str, physical_id: &str, properties: Value) -> Value {
    let mut event = envelope("Delete", url, "33333333-2222-4333-8444-555555555555");
    event["PhysicalResourceId"] = json!(physical_id);
    event["ResourceProperties"] = properties;
    event
}

pub fn deadline_in(seconds: u64) -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_secs(seconds)
}
