//! The few GitHub REST calls the acceptance run makes on the user's test
//! repository: add the stack's webhook, push an empty commit, remove the webhook.
//!
//! - Webhooks: `POST /repos/{owner}/{repo}/hooks`, `GET` and `DELETE
//!   /repos/{owner}/{repo}/hooks/{hook_id}`
//!   (<https://docs.github.com/en/rest/webhooks/repos>); a fine-grained token
//!   needs the repository permission "Webhooks" (write).
//! - An empty commit: the branch head (`GET /repos/{owner}/{repo}/git/ref/heads/{branch}`,
//!   <https://docs.github.com/en/rest/git/refs>), its tree (`GET
//!   /repos/{owner}/{repo}/git/commits/{sha}`), a new commit with that tree and the
//!   head as its parent (`POST /repos/{owner}/{repo}/git/commits`,
//!   <https://docs.github.com/en/rest/git/commits>), and the branch moved onto it
//!   without force (`PATCH /repos/{owner}/{repo}/git/refs/heads/{branch}`). GitHub
//!   delivers the push to the repository's webhooks like any other. The token needs
//!   "Contents" (write).
//!
//! The API's address is `GITHUB_API_URL` (GitHub Enterprise and GitHub Actions use
//! the same variable), `https://api.github.com` when unset; the token is
//! `GITHUB_TOKEN`.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

/// The REST API version these calls are written against
/// (<https://docs.github.com/en/rest/about-the-rest-api/api-versions>).
const API_VERSION: &str = "2022-11-28";

#[derive(Debug)]
pub struct GitHub {
    http: reqwest::Client,
    api: String,
    token: String,
    /// `owner/name`.
    repo: String,
}

impl GitHub {
    pub fn from_env(http: reqwest::Client, repo: &str) -> Result<Self> {
        let token = std::env::var("GITHUB_TOKEN")
            .ok()
            .filter(|t| !t.trim().is_empty())
            .context("GITHUB_TOKEN is not set: a token with Contents and Webhooks write access to the test repository")?;
        let api = std::env::var("GITHUB_API_URL")
            .ok()
            .filter(|a| !a.is_empty())
            .unwrap_or_else(|| "https://api.github.com".to_owned());
        match repo.split_once('/') {
            Some((owner, name)) if !owner.is_empty() && !name.is_empty() && !name.contains('/') => {
            }
            _ => bail!("the repository {repo:?} is not OWNER/NAME"),
        }
        Ok(Self {
            http,
            api: api.trim_end_matches('/').to_owned(),
            token,
            repo: repo.to_owned(),
        })
    }

    /// One call; the status and the parsed body (`null` when empty).
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value)> {
        let url = format!("{}/repos/{}{path}", self.api, self.repo);
        let mut request = self
            .http
            .request(method.clone(), &url)
            .header("accept", "application/vnd.github+json")
            .header("authorization", format!("Bearer {}", self.token))
            .header("x-github-api-version", API_VERSION)
            .header("user-agent", "container-pipeline-acceptance")
            .timeout(Duration::from_secs(30));
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(serde_json::to_vec(body)?);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("{method} {url}"))?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await?;
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Ok((status, value))
    }

    async fn expect(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        wanted: u16,
    ) -> Result<Value> {
        let (status, value) = self.call(method.clone(), path, body).await?;
        if status != wanted {
            bail!(
                "GitHub {method} /repos/{}{path}: HTTP {status}, expected {wanted}: {}",
                self.repo,
                message_of(&value)
            );
        }
        Ok(value)
    }

    /// Adds a webhook for push events to `url`, signed with `secret`; its id.
    pub async fn create_hook(&self, url: &str, secret: &str) -> Result<u64> {
        let body = json!({
            "name": "web",
            "active": true,
            "events": ["push"],
            "config": { "url": url, "content_type": "json", "secret": secret, "insecure_ssl": "0" }
        });
        let hook = self
            .expect(reqwest::Method::POST, "/hooks", Some(&body), 201)
            .await?;
        hook["id"]
            .as_u64()
            .with_context(|| format!("the created webhook has no id: {hook}"))
    }

    /// Removes the webhook; one that is already gone counts as removed.
    pub async fn delete_hook(&self, id: u64) -> Result<()> {
        let path = format!("/hooks/{id}");
        let (status, value) = self.call(reqwest::Method::DELETE, &path, None).await?;
        match status {
            204 | 404 => Ok(()),
            _ => bail!(
                "GitHub DELETE /repos/{}{path}: HTTP {status}: {}",
                self.repo,
                message_of(&value)
            ),
        }
    }

    /// The ids of the repository's webhooks that deliver to `url` (first 100).
    pub async fn hooks_to(&self, url: &str) -> Result<Vec<u64>> {
        let hooks = self
            .expect(reqwest::Method::GET, "/hooks?per_page=100", None, 200)
            .await?;
        Ok(hooks
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter(|h| h["config"]["url"] == url)
            .filter_map(|h| h["id"].as_u64())
            .collect())
    }

    pub async fn hook_exists(&self, id: u64) -> Result<bool> {
        let path = format!("/hooks/{id}");
        let (status, value) = self.call(reqwest::Method::GET, &path, None).await?;
        match status {
            200 => Ok(true),
            404 => Ok(false),
            _ => bail!(
                "GitHub GET /repos/{}{path}: HTTP {status}: {}",
                self.repo,
                message_of(&value)
            ),
        }
    }

    /// Pushes a commit with the head's tree onto `branch`; the new commit's sha.
    pub async fn push_empty_commit(&self, branch: &str, message: &str) -> Result<String> {
        let reference = format!("/git/ref/heads/{branch}");
        let head = self
            .expect(reqwest::Method::GET, &reference, None, 200)
            .await?;
        let parent = head["object"]["sha"]
            .as_str()
            .with_context(|| format!("branch {branch} has no head commit: {head}"))?
            .to_owned();
        let commit = self
            .expect(
                reqwest::Method::GET,
                &format!("/git/commits/{parent}"),
                None,
                200,
            )
            .await?;
        let tree = commit["tree"]["sha"]
            .as_str()
            .with_context(|| format!("commit {parent} has no tree: {commit}"))?;
        let created = self
            .expect(
                reqwest::Method::POST,
                "/git/commits",
                Some(&json!({ "message": message, "tree": tree, "parents": [parent] })),
                201,
            )
            .await?;
        let sha = created["sha"]
            .as_str()
            .with_context(|| format!("the created commit has no sha: {created}"))?
            .to_owned();
        self.expect(
            reqwest::Method::PATCH,
            &format!("/git/refs/heads/{branch}"),
            Some(&json!({ "sha": sha, "force": false })),
            200,
        )
        .await?;
        Ok(sha)
    }
}

fn message_of(value: &Value) -> String {
    value["message"]
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned)
}
