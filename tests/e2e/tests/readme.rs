//! Every command README.md shows is run by the test command: by
//! `scripts/readme.sh`, word for word inside single quotes, or, for the few the
//! README names as what another script does, by that script.
#![allow(clippy::expect_used)]

const README: &str = include_str!("../../../README.md");
const README_SCRIPT: &str = include_str!("../../../scripts/readme.sh");
const TOOLS_LOCK: &str = include_str!("../../../scripts/tools.lock");

/// Commands the README names as what another file runs, with that file.
const RUN_ELSEWHERE: [(&str, &str, &str); 4] = [
    ("make test", ".ci/run", include_str!("../../../.ci/run")),
    (
        "make local",
        "scripts/test.sh",
        include_str!("../../../scripts/test.sh"),
    ),
    (
        "sam deploy --config-env sandbox",
        "scripts/local.sh",
        include_str!("../../../scripts/local.sh"),
    ),
    (
        "sam delete --config-env sandbox",
        "scripts/local.sh",
        include_str!("../../../scripts/local.sh"),
    ),
];

const TOOLS: [&str; 5] = ["make", "sam", "aws", "cargo", "pip"];

/// The commands of a Markdown text: each line of a `sh` code block (a trailing
/// comment dropped, `\` continuations joined) and each inline code span of
/// several words that starts with a tool's name.
fn commands(markdown: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut prose = String::new();
    let mut fence: Option<String> = None;
    let mut pending = String::new();
    for line in markdown.lines() {
        let trimmed = line.trim();
        if let Some(info) = trimmed.strip_prefix("```") {
            fence = match fence {
                None => Some(info.trim().to_owned()),
                Some(_) => None,
            };
            continue;
        }
        match fence.as_deref() {
            Some("sh") => {
                let command = trimmed.split(" #").next().unwrap_or_default().trim();
                if let Some(head) = command.strip_suffix('\\') {
                    pending.push_str(head.trim());
                    pending.push(' ');
                } else if !command.is_empty() || !pending.is_empty() {
                    found.push(format!("{pending}{command}").trim().to_owned());
                    pending.clear();
                }
            }
            Some(_) => {}
            None => {
                prose.push_str(trimmed);
                prose.push(' ');
            }
        }
    }
    for (i, span) in prose.split('`').enumerate() {
        let words: Vec<&str> = span.split_whitespace().collect();
        if i % 2 == 1 && words.len() > 1 && TOOLS.contains(&words[0]) {
            found.push(words.join(" "));
        }
    }
    found
}

/// The commands of `markdown` that nothing runs.
fn not_run(markdown: &str) -> Vec<String> {
    commands(markdown)
        .into_iter()
        .filter(
            |command| match RUN_ELSEWHERE.iter().find(|(c, _, _)| c == command) {
                Some((_, _, text)) => !text.contains(command.as_str()),
                None => !README_SCRIPT.contains(&format!("'{command}'")),
            },
        )
        .collect()
}

#[test]
fn the_readme_shows_commands_and_every_one_is_run() {
    let all = commands(README);
    for expected in [
        "make test",
        "sam deploy --guided",
        "sam logs --stack-name container-pipeline -n WebhookFunction --tail",
        "cargo lambda invoke installer --data-file events/installer-create.json",
    ] {
        assert!(
            all.iter().any(|c| c == expected),
            "{expected} not found in {all:?}"
        );
    }
    assert_eq!(
        not_run(README),
        Vec::<String>::new(),
        "README commands nothing runs"
    );
}

#[test]
fn a_command_added_to_the_readme_and_not_run_is_reported() {
    let block = format!("{README}\n```sh\nsam sync --watch\n```\n");
    assert_eq!(not_run(&block), ["sam sync --watch"]);
    let inline = format!("{README}\nThen run `aws s3 ls --recursive`.\n");
    assert_eq!(not_run(&inline), ["aws s3 ls --recursive"]);
    let continued = format!("{README}\n```sh\nmake \\\n  bench-all\n```\n");
    assert_eq!(not_run(&continued), ["make bench-all"]);
}

#[test]
fn the_readme_installs_the_cargo_lambda_the_project_is_tested_with() {
    let pinned = TOOLS_LOCK
        .lines()
        .find_map(|line| line.strip_prefix("cargo-lambda "))
        .expect("scripts/tools.lock pins cargo-lambda")
        .trim();
    let install = commands(README)
        .into_iter()
        .find(|c| c.starts_with("pip install cargo-lambda"))
        .expect("the README shows how to install cargo-lambda");
    assert_eq!(install, format!("pip install {pinned}"));
}
