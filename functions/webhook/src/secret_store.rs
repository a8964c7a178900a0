//! The webhook secret from Secrets Manager, cached for at most
//! [`SecretStore::max_age`] (5 minutes by default).
//!
//! The secret is read on first use and kept until it is that old; then it is
//! read again before the next check, so a secret revoked in Secrets Manager
//! stops verifying within that time in every warm execution environment. If
//! that read fails, the old copy is not used: the delivery is answered 5xx
//! and GitHub's delivery shows it. When a signature does not
//! match, the caller may ask for a fresh copy (the secret may have been
//! rotated), but Secrets Manager is asked at most once per
//! [`SecretStore::refetch_interval`], whatever the reason: a flood of forged
//! deliveries, or a Secrets Manager outage, costs at most one call per
//! interval.

use std::time::Duration;

use aws_sdk_secretsmanager::Client;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::error::Error;
use crate::signature::WebhookSecret;

/// The default least time between two reads of the secret.
pub const DEFAULT_REFETCH_INTERVAL: Duration = Duration::from_secs(30);
/// The default longest time a read secret is used.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);

/// Reads and caches the webhook secret.
pub struct SecretStore {
    client: Client,
    secret_id: String,
    refetch_interval: Duration,
    max_age: Duration,
    state: Mutex<CacheState>,
}

#[derive(Default)]
struct CacheState {
    secret: Option<WebhookSecret>,
    /// When `secret` was read.
    fetched_at: Option<Instant>,
    /// When a read was last tried.
    last_fetch: Option<Instant>,
}

impl std::fmt::Debug for SecretStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretStore")
            .field("secret_id", &self.secret_id)
            .field("refetch_interval", &self.refetch_interval)
            .field("max_age", &self.max_age)
            .finish_non_exhaustive()
    }
}

/// The secret to check a signature with.
#[derive(Debug, Clone)]
pub struct CurrentSecret {
    pub secret: WebhookSecret,
    /// Whether it was read from Secrets Manager just now (so asking again
    /// cannot give anything newer).
    pub fresh: bool,
}

impl SecretStore {
    /// A store for the secret `secret_id` (ARN or name).
    pub fn new(client: Client, secret_id: impl Into<String>) -> Self {
        Self {
            client,
            secret_id: secret_id.into(),
            refetch_interval: DEFAULT_REFETCH_INTERVAL,
            max_age: DEFAULT_MAX_AGE,
            state: Mutex::new(CacheState::default()),
        }
    }

    /// Sets the least time between two reads of the secret.
    pub fn with_refetch_interval(mut self, interval: Duration) -> Self {
        self.refetch_interval = interval;
        self
    }

    /// The least time between two reads of the secret.
    pub fn refetch_interval(&self) -> Duration {
        self.refetch_interval
    }

    /// Sets the longest time a read secret is used.
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// The longest time a read secret is used.
    pub fn max_age(&self) -> Duration {
        self.max_age
    }

    /// The cached secret, read from Secrets Manager if there is none yet or
    /// it is older than the max age (an expired copy is dropped, never used).
    /// When an earlier read failed less than the refetch interval ago,
    /// answers `SecretBackoff` without asking again.
    pub async fn current(&self) -> Result<CurrentSecret, Error> {
        let mut state = self.state.lock().await;
        let young = state
            .fetched_at
            .is_some_and(|at| at.elapsed() < self.max_age);
        if let (Some(secret), true) = (&state.secret, young) {
            return Ok(CurrentSecret {
                secret: secret.clone(),
                fresh: false,
            });
        }
        if state.secret.take().is_some() {
            tracing::info!("the cached webhook secret expired: reading it again");
        }
        if !self.may_fetch(&state) {
            return Err(Error::SecretBackoff);
        }
        state.last_fetch = Some(Instant::now());
        let secret = self.fetch().await?;
        state.secret = Some(secret.clone());
        state.fetched_at = state.last_fetch;
        Ok(CurrentSecret {
            secret,
            fresh: true,
        })
    }

    /// After a signature failed against `stale`: a different secret if one
    /// is available (read again, rate-limited), else `None`. A failed read
    /// is logged and counts as "nothing newer".
    pub async fn refreshed(&self, stale: &WebhookSecret) -> Option<WebhookSecret> {
        let mut state = self.state.lock().await;
        if let Some(cached) = &state.secret {
            if cached != stale {
                // Another request already picked up a newer secret.
                return Some(cached.clone());
            }
        }
        if !self.may_fetch(&state) {
            return None;
        }
        state.last_fetch = Some(Instant::now());
        match self.fetch().await {
            Ok(secret) if &secret != stale => {
                tracing::info!("webhook secret changed since it was cached");
                state.secret = Some(secret.clone());
                state.fetched_at = state.last_fetch;
                Some(secret)
            }
            Ok(_) => None,
            Err(error) => {
                let detail = crate::handler::error_chain(&error);
                tracing::warn!(error = %detail, "could not re-read the webhook secret");
                None
            }
        }
    }

    fn may_fetch(&self, state: &CacheState) -> bool {
        state
            .last_fetch
            .is_none_or(|at| at.elapsed() >= self.refetch_interval)
    }

    async fn fetch(&self) -> Result<WebhookSecret, Error> {
        let output = self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .send()
            .await
            .map_err(|e| Error::SecretFetch(Box::new(e)))?;
        // The template generates a plain SecretString: the whole string is
        // the secret. A binary secret is taken as its bytes.
        if let Some(text) = output.secret_string {
            WebhookSecret::new(text)
        } else if let Some(blob) = output.secret_binary {
            WebhookSecret::new(blob.into_inner())
        } else {
            Err(Error::SecretEmpty)
        }
    }
}
