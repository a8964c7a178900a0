//! Test support: an isolated local cloud for one test binary.
//!
//! [`Sandbox::start`] runs `scripts/sandbox.sh serve`, which starts MiniStack
//! and moto on free ports of 127.0.0.1 and prints the client environment.
//! Dropping the [`Sandbox`] closes the script's standard input; the script then
//! stops exactly the emulators it started. If the test process dies, the pipe
//! closes all the same.
//!
//! A test that needs the local cloud and cannot start it fails with the
//! script's message: it never passes or skips silently.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

/// Why the local cloud could not be started.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("could not run {script}: {source}")]
    Spawn {
        script: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the local cloud did not start (run `make setup` if the tools are missing): {0}")]
    NotReady(String),
}

/// A running local cloud. Stopped when dropped.
#[derive(Debug)]
pub struct Sandbox {
    env: BTreeMap<String, String>,
    child: Child,
    stdin: Option<ChildStdin>,
}

/// The repository root: two levels above the package under test (every
/// workspace member sits two levels down). Read from the `CARGO_MANIFEST_DIR`
/// that `cargo test` sets when it runs a test, and only without one from this
/// crate's own, fixed when it was compiled: cargo reuses a compiled workspace
/// crate for another checkout of the same workspace in a shared target
/// directory when that checkout's files are older, and the compiled-in path
/// may then name a checkout that is gone.
pub fn repo_root() -> PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

impl Sandbox {
    /// Starts MiniStack and moto and waits until both answer.
    pub fn start() -> Result<Self, Error> {
        let script = repo_root().join("scripts/sandbox.sh");
        let mut child = Command::new("bash")
            .arg(&script)
            .arg("serve")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|source| Error::Spawn {
                script: script.clone(),
                source,
            })?;
        let stdin = child.stdin.take();
        let Some(stdout) = child.stdout.take() else {
            return Err(Error::NotReady("no standard output from the script".into()));
        };
        let mut env = BTreeMap::new();
        let mut ready = false;
        for line in BufReader::new(stdout).lines() {
            let line = line.map_err(|e| Error::NotReady(e.to_string()))?;
            if line == "READY" {
                ready = true;
                break;
            }
            if let Some((name, value)) = line.split_once('=') {
                env.insert(name.to_owned(), value.to_owned());
            }
        }
        let sandbox = Self { env, child, stdin };
        if !ready {
            return Err(Error::NotReady(
                "scripts/sandbox.sh serve exited before READY (its message is above)".into(),
            ));
        }
        Ok(sandbox)
    }

    /// Starts the local cloud or fails the test with the reason.
    pub fn start_or_fail() -> Self {
        match Self::start() {
            Ok(sandbox) => sandbox,
            Err(error) => panic!("this test needs the local cloud: {error}"),
        }
    }

    /// The client environment (endpoints, dummy credentials, region).
    pub fn env(&self) -> &BTreeMap<String, String> {
        &self.env
    }

    /// One variable of the client environment, or "" when absent.
    pub fn var(&self, name: &str) -> &str {
        self.env.get(name).map(String::as_str).unwrap_or("")
    }

    /// MiniStack's endpoint URL.
    pub fn endpoint(&self) -> &str {
        self.var("AWS_ENDPOINT_URL")
    }

    /// moto's endpoint URL (CodePipeline).
    pub fn codepipeline_endpoint(&self) -> &str {
        self.var("AWS_ENDPOINT_URL_CODEPIPELINE")
    }

    /// The file into which moto's stand-in records PutJobSuccessResult and
    /// PutJobFailureResult calls, one JSON object a line.
    pub fn job_results_file(&self) -> PathBuf {
        PathBuf::from(self.var("SANDBOX_JOB_RESULTS"))
    }

    /// The region every client of the sandbox uses.
    pub fn region(&self) -> &str {
        self.var("AWS_REGION")
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // Closing standard input tells the script to stop its emulators.
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

impl Sandbox {
    /// An SDK configuration for MiniStack: its endpoint, the sandbox region
    /// and the dummy credentials. CodePipeline clients take
    /// [`Sandbox::codepipeline_endpoint`] on top of it.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(self.endpoint())
            .region(aws_config::Region::new(self.region().to_owned()))
            .test_credentials()
            .load()
            .await
    }
}

impl Sandbox {
    /// Creates a table like the stack's deliveries table (on demand,
    /// partition key `pk`, a string) in MiniStack and answers a client for it.
    /// Panics with the reason when it cannot: a test that needs it fails.
    pub async fn deliveries_table(&self, name: &str) -> aws_sdk_dynamodb::Client {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        };
        let dynamodb = aws_sdk_dynamodb::Client::new(&self.sdk_config().await);
        let key = |name: &str| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(KeyType::Hash)
                .build()
        };
        let attribute = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
        };
        let (Ok(key), Ok(attribute)) = (key("pk"), attribute("pk")) else {
            panic!("the key schema of {name} could not be built");
        };
        if let Err(error) = dynamodb
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attribute)
            .key_schema(key)
            .send()
            .await
        {
            panic!(
                "could not create the table {name} in the local cloud: {}",
                aws_sdk_dynamodb::error::DisplayErrorContext(error)
            );
        }
        dynamodb
    }
}
