//! The notification's text: one readable message per failed action.

use super::failure::{Commit, Failure};

/// SNS's limit for a subject: 100 characters, ASCII, no line breaks
/// (<https://docs.aws.amazon.com/sns/latest/api/API_Publish.html>).
const MAX_SUBJECT: usize = 100;
/// The action's summary is cut to this many characters.
const MAX_SUMMARY: usize = 1000;

/// One message for the topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub subject: String,
    pub message: String,
}

fn or_unknown(value: Option<&String>) -> &str {
    value.map_or("(unknown)", String::as_str)
}

/// The subject and text announcing `failure` of the execution built from `commit`.
pub fn failure_notice(failure: &Failure, commit: &Commit) -> Notice {
    let pipeline = or_unknown(failure.pipeline.as_ref());
    let subject: String = format!("Pipeline failed: {pipeline}")
        .chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(MAX_SUBJECT)
        .collect();
    let mut lines = vec![format!(
        "Pipeline {pipeline} failed at {}: action {} of stage {}.",
        or_unknown(failure.time.as_ref()),
        or_unknown(failure.action.as_ref()),
        or_unknown(failure.stage.as_ref()),
    )];
    lines.push(match commit {
        Commit::Known {
            id,
            push: Some(push),
        } => format!("Commit {id} (push {push})."),
        Commit::Known { id, push: None } => format!("Commit {id}."),
        Commit::NotRecorded => "Commit: the execution records none.".to_owned(),
        Commit::Unknown(why) => format!("Commit: unknown ({why})."),
    });
    if let Some(summary) = &failure.summary {
        let mut cut: String = summary.chars().take(MAX_SUMMARY).collect();
        if cut.len() < summary.len() {
            cut.push('…');
        }
        lines.push(format!("Reason: {cut}"));
    }
    let execution = or_unknown(failure.execution_id.as_ref());
    match (&failure.pipeline, &failure.execution_id, &failure.region) {
        (Some(p), Some(e), Some(r)) => lines.push(format!(
            "Execution {execution}:\nhttps://{r}.console.aws.amazon.com/codesuite/codepipeline/pipelines/{p}/executions/{e}/timeline?region={r}"
        )),
        _ => lines.push(format!("Execution {execution}.")),
    }
    Notice {
        subject,
        message: lines.join("\n"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const COMMIT: &str = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";
    const EXECUTION: &str = "01234567-0123-0123-0123-012345678901";

    fn failure() -> Failure {
        Failure {
            pipeline: Some("pipeline-dev".into()),
            execution_id: Some(EXECUTION.into()),
            stage: Some("Build".into()),
            action: Some("Build".into()),
            time: Some("2026-12-02T01:14:07Z".into()),
            region: Some("ap-southeast-1".into()),
            summary: None,
        }
    }

    #[test]
    fn the_message_names_the_commit_and_links_the_execution() {
        let commit = Commit::Known {
            id: COMMIT.into(),
            push: Some("12".into()),
        };
        let notice = failure_notice(&failure(), &commit);
        assert_eq!(notice.subject, "Pipeline failed: pipeline-dev");
        assert_eq!(
            notice.message,
            format!(
                "Pipeline pipeline-dev failed at 2026-12-02T01:14:07Z: action Build of stage Build.\n\
                 Commit {COMMIT} (push 12).\n\
                 Execution {EXECUTION}:\n\
                 https://ap-southeast-1.console.aws.amazon.com/codesuite/codepipeline/pipelines/pipeline-dev/executions/{EXECUTION}/timeline?region=ap-southeast-1"
            )
        );
    }

    #[test]
    fn an_unknown_commit_says_why_and_the_reason_is_cut() {
        let mut f = failure();
        f.summary = Some("x".repeat(MAX_SUMMARY + 5));
        let notice = failure_notice(
            &f,
            &Commit::Unknown("GetPipelineExecution failed: AccessDeniedException: no".into()),
        );
        assert!(
            notice.message.contains(
                "Commit: unknown (GetPipelineExecution failed: AccessDeniedException: no)."
            ),
            "{}",
            notice.message
        );
        let reason = notice
            .message
            .lines()
            .find(|l| l.starts_with("Reason: "))
            .unwrap();
        assert_eq!(reason.chars().count(), "Reason: ".len() + MAX_SUMMARY + 1);
        assert!(reason.ends_with('…'));
        let none = failure_notice(&failure(), &Commit::NotRecorded);
        assert!(none.message.contains("Commit: the execution records none."));
    }

    #[test]
    fn a_bare_event_still_gives_a_message_and_a_valid_subject() {
        let notice = failure_notice(&Failure::default(), &Commit::NotRecorded);
        assert_eq!(notice.subject, "Pipeline failed: (unknown)");
        assert!(
            notice.message.ends_with("Execution (unknown)."),
            "{}",
            notice.message
        );
        let mut f = failure();
        f.pipeline = Some(format!("p\n{}", "é".repeat(300)));
        let subject = failure_notice(&f, &Commit::NotRecorded).subject;
        assert!(
            subject.len() <= MAX_SUBJECT
                && subject.chars().all(|c| c.is_ascii_graphic() || c == ' ')
        );
    }
}
