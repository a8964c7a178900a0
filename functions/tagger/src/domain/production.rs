//! What is in production, the hold a rollback sets, and how both read.

use serde::Serialize;

/// Automatic promotion paused by a rollback, until released.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Hold {
    /// When the rollback set it (RFC 3339, UTC).
    pub since: String,
    /// The digest the rollback moved `production` to.
    pub to: String,
    /// The digest `production` held before the rollback, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

/// Where a promoted image came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Promotion {
    /// The commit it was built from, when a push started the execution.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The push sequence, when a push started the execution.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u64>,
    /// The pipeline execution whose Deploy stage promoted it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution: Option<String>,
    /// When it was promoted (RFC 3339, UTC).
    pub promoted_at: String,
}

/// One tag's image, as the status shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TagState {
    pub tag: String,
    pub digest: String,
    /// The image's other tags (its commit tag among them).
    pub tags: Vec<String>,
    /// How the tagger promoted it; `None` when it has no record (promoted
    /// before records were kept, or tagged by hand).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub promotion: Option<Promotion>,
}

/// What `{"status":{}}` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub repository: String,
    pub production: Option<TagState>,
    pub previous: Option<TagState>,
    pub hold: Option<Hold>,
}

/// The command that ends a hold, for messages.
pub const RELEASE_COMMAND: &str = "scripts/production.sh --stack <stack> release";

fn tag_lines(lines: &mut Vec<String>, name: &str, state: Option<&TagState>) {
    let Some(state) = state else {
        lines.push(format!("{name}: no image holds this tag"));
        return;
    };
    lines.push(format!("{name}: {}", state.digest));
    let others: Vec<&str> = state
        .tags
        .iter()
        .map(String::as_str)
        .filter(|t| *t != state.tag)
        .collect();
    if !others.is_empty() {
        lines.push(format!("  tags:        {}", others.join(", ")));
    }
    match &state.promotion {
        Some(p) => {
            let commit = match (&p.commit, p.sequence) {
                (Some(commit), Some(sequence)) => format!("{commit} (push {sequence})"),
                (Some(commit), None) => commit.clone(),
                _ => "none (the execution was started by hand)".to_owned(),
            };
            lines.push(format!("  commit:      {commit}"));
            lines.push(format!("  promoted:    {}", p.promoted_at));
            lines.push(format!(
                "  execution:   {}",
                p.execution.as_deref().unwrap_or("unknown")
            ));
        }
        None => lines.push(
            "  promoted:    no record (tagged before records were kept, or by hand)".to_owned(),
        ),
    }
}

/// The hold's line.
pub fn hold_line(hold: Option<&Hold>) -> String {
    match hold {
        None => "hold: none (each passing build is promoted)".to_owned(),
        Some(hold) => format!(
            "hold: since {} after a rollback to {}{}; builds run and push their commit tags but are not promoted until `{RELEASE_COMMAND}`",
            hold.since,
            hold.to,
            hold.from
                .as_ref()
                .map(|f| format!(" from {f}"))
                .unwrap_or_default()
        ),
    }
}

/// The status as lines a person reads.
pub fn status_report(status: &Status, tag: &str, previous_tag: &str) -> Vec<String> {
    let mut lines = vec![format!("repository: {}", status.repository)];
    tag_lines(&mut lines, tag, status.production.as_ref());
    tag_lines(&mut lines, previous_tag, status.previous.as_ref());
    lines.push(hold_line(status.hold.as_ref()));
    lines
}

/// How every summary of a build that was not promoted begins.
pub const NOT_PROMOTED_PREFIX: &str = "built, not promoted";

/// The job summary of a promotion skipped under a hold.
pub fn held_summary(
    repository: &str,
    digest: &str,
    tag: &str,
    commit: Option<&str>,
    hold: &Hold,
) -> String {
    format!(
        "{NOT_PROMOTED_PREFIX}: {repository}@{digest}{} stays out of {tag}, which is held since {} after a rollback to {}; release the hold with `{RELEASE_COMMAND}`, then push again or start the pipeline again (Release change)",
        commit.map(|c| format!(" (commit {c})")).unwrap_or_default(),
        hold.since,
        hold.to
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const A: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    const COMMIT: &str = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";

    fn hold() -> Hold {
        Hold {
            since: "2026-12-02T01:00:00Z".into(),
            to: A.into(),
            from: Some(B.into()),
        }
    }

    #[test]
    fn the_status_names_digest_commit_time_execution_and_the_hold() {
        let status = Status {
            repository: "images-dev".into(),
            production: Some(TagState {
                tag: "production".into(),
                digest: A.into(),
                tags: vec!["production".into(), COMMIT.into()],
                promotion: Some(Promotion {
                    commit: Some(COMMIT.into()),
                    sequence: Some(3),
                    execution: Some("8e5c2a4e-1b7d-4c55-9c1e-0f2b9d6f1a33".into()),
                    promoted_at: "2026-12-02T00:58:00Z".into(),
                }),
            }),
            previous: None,
            hold: Some(hold()),
        };
        let lines = status_report(&status, "production", "production-previous");
        assert_eq!(lines[0], "repository: images-dev");
        assert_eq!(lines[1], format!("production: {A}"));
        assert_eq!(lines[2], format!("  tags:        {COMMIT}"));
        assert_eq!(lines[3], format!("  commit:      {COMMIT} (push 3)"));
        assert_eq!(lines[4], "  promoted:    2026-12-02T00:58:00Z");
        assert_eq!(
            lines[5],
            "  execution:   8e5c2a4e-1b7d-4c55-9c1e-0f2b9d6f1a33"
        );
        assert_eq!(lines[6], "production-previous: no image holds this tag");
        assert!(
            lines[7].starts_with("hold: since 2026-12-02T01:00:00Z after a rollback to")
                && lines[7].contains(&format!("from {B}"))
                && lines[7].contains(RELEASE_COMMAND),
            "{}",
            lines[7]
        );
        assert_eq!(lines.len(), 8);
    }

    #[test]
    fn an_image_without_a_record_and_no_hold_say_so() {
        let status = Status {
            repository: "images-dev".into(),
            production: Some(TagState {
                tag: "production".into(),
                digest: B.into(),
                tags: vec!["production".into()],
                promotion: None,
            }),
            previous: None,
            hold: None,
        };
        let lines = status_report(&status, "production", "production-previous");
        assert!(lines.iter().any(|l| l.contains("no record")), "{lines:?}");
        assert_eq!(
            lines.last().unwrap(),
            "hold: none (each passing build is promoted)"
        );
    }

    #[test]
    fn a_held_promotion_says_what_was_built_and_how_to_release() {
        let s = held_summary("images-dev", B, "production", Some(COMMIT), &hold());
        assert!(
            s.starts_with("built, not promoted: images-dev@sha256:bbbb"),
            "{s}"
        );
        assert!(s.contains(&format!("(commit {COMMIT})")), "{s}");
        assert!(s.contains("held since 2026-12-02T01:00:00Z"), "{s}");
        assert!(s.contains(RELEASE_COMMAND), "{s}");
    }
}
