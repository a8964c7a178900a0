//! The Build stage's buildspec (`buildspec.yml`, embedded in the CodeBuild
//! project by the installer).
//!
//! The buildspec is parsed the way CodeBuild reads it; then its phase commands
//! run under bash through `tests/buildspec/codebuild.sh`, which follows
//! CodeBuild's phase rules, with `docker` and `aws` replaced on PATH by the
//! recording stand-ins in `tests/buildspec/bin/`. The source tree is a copy of
//! the sample app in `examples/hello`. What only a real CodeBuild run can show
//! is listed in docs/build.md.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Deserialize;

const BUILDSPEC: &str = include_str!("../buildspec.yml");
const RUNNER: &str = include_str!("buildspec/codebuild.sh");
const AWS_STAND_IN: &str = include_str!("buildspec/bin/aws");
const DOCKER_STAND_IN: &str = include_str!("buildspec/bin/docker");
const SAMPLE_DOCKERFILE: &str = include_str!("../../../examples/hello/Dockerfile");
const SAMPLE_DOCKERIGNORE: &str = include_str!("../../../examples/hello/.dockerignore");
const SAMPLE_INDEX: &str = include_str!("../../../examples/hello/public/index.html");

const COMMIT: &str = "3f9c2a7e5b8d41c09e6f2a1b7c4d8e9f0a1b2c3d";
const TAG: &str = "3f9c2a7e5b8d";
const REGION: &str = "ap-southeast-1";
const REGISTRY: &str = "123456789012.dkr.ecr.ap-southeast-1.amazonaws.com";
const REPOSITORY_URI: &str = "123456789012.dkr.ecr.ap-southeast-1.amazonaws.com/images-test";
/// The digest the stand-in's push reports.
const PUSHED: &str = "sha256:9b2e6f1c0d4a7b3e8f5c2d1a0b9e8f7c6d5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c";
/// The digest an earlier run pushed for the same commit.
const EXISTING: &str = "sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";
const TOKEN: &str = "stub-ecr-password";

/// CodeBuild's phases, in the order it runs them.
const PHASE_ORDER: [&str; 4] = ["install", "pre_build", "build", "post_build"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Buildspec {
    version: serde_norway::Value,
    env: Env,
    phases: BTreeMap<String, Phase>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Env {
    shell: String,
    #[serde(default)]
    variables: BTreeMap<String, String>,
    #[serde(default)]
    exported_variables: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Phase {
    on_failure: Option<String>,
    commands: Vec<String>,
}

fn buildspec() -> Buildspec {
    serde_norway::from_str(BUILDSPEC).expect("buildspec.yml is a CodeBuild buildspec")
}

/// A directory under the system temp dir, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "installer-buildspec-{}-{}-{name}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn write(path: &Path, content: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap();
}

fn write_executable(path: &Path, content: &str) {
    write(path, content);
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// How the runner executes commands (see `tests/buildspec/codebuild.sh`).
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// Each command its own bash process; only exported variables carry over.
    Separate,
    /// All commands in one bash process.
    Shared,
}

impl Mode {
    fn as_str(self) -> &'static str {
        match self {
            Mode::Separate => "separate",
            Mode::Shared => "shared",
        }
    }
}

/// One CodeBuild run of the buildspec: the project's environment, what the
/// stand-ins answer, and the source tree.
#[derive(Debug, Clone)]
struct Build {
    name: &'static str,
    env: BTreeMap<String, String>,
    files: BTreeMap<String, String>,
}

#[derive(Debug)]
struct Outcome {
    succeeded: bool,
    /// Everything the build printed, as in the CodeBuild log.
    log: String,
    /// Each `aws`/`docker` call with its arguments, in order.
    calls: Vec<Vec<String>>,
    /// What `docker login` read on stdin.
    login_password: Option<String>,
    /// The exported variables after the last phase (absent when a shared-mode
    /// build ended the runner's shell).
    exported: Option<BTreeMap<String, String>>,
}

impl Build {
    fn new(name: &'static str) -> Self {
        let env = [
            // Set on the project by the installer.
            ("REPOSITORY_URI", REPOSITORY_URI),
            ("DOCKERFILE_PATH", "Dockerfile"),
            ("CACHE_TAG", "buildcache"),
            // Provided by CodeBuild.
            ("AWS_REGION", REGION),
            ("AWS_DEFAULT_REGION", REGION),
            ("CODEBUILD_RESOLVED_SOURCE_VERSION", COMMIT),
            ("CODEBUILD_BUILD_NUMBER", "7"),
            // What the stand-ins answer.
            ("STUB_PUSH_DIGEST", PUSHED),
        ];
        let files = [
            ("Dockerfile", SAMPLE_DOCKERFILE),
            (".dockerignore", SAMPLE_DOCKERIGNORE),
            ("public/index.html", SAMPLE_INDEX),
        ];
        Self {
            name,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            files: files
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn set(mut self, name: &str, value: &str) -> Self {
        self.env.insert(name.to_string(), value.to_string());
        self
    }

    fn unset(mut self, name: &str) -> Self {
        self.env.remove(name);
        self
    }

    fn file(mut self, path: &str, content: &str) -> Self {
        self.files.insert(path.to_string(), content.to_string());
        self
    }

    fn without_file(mut self, path: &str) -> Self {
        self.files.remove(path);
        self
    }

    fn run(&self, mode: Mode) -> Outcome {
        let spec = buildspec();
        let scratch = Scratch::new(self.name);
        let root = &scratch.0;

        let bin = root.join("bin");
        write_executable(&bin.join("aws"), AWS_STAND_IN);
        write_executable(&bin.join("docker"), DOCKER_STAND_IN);
        let runner = root.join("codebuild.sh");
        write_executable(&runner, RUNNER);

        let src = root.join("src");
        fs::create_dir_all(&src).unwrap();
        for (path, content) in &self.files {
            write(&src.join(path), content);
        }

        let work = root.join("work");
        for (index, name) in PHASE_ORDER.iter().enumerate() {
            let Some(phase) = spec.phases.get(*name) else {
                continue;
            };
            let dir = work.join("phases").join(format!("{index:02}-{name}"));
            for (number, command) in phase.commands.iter().enumerate() {
                write(&dir.join(format!("{number:02}.sh")), command);
            }
            if let Some(on_failure) = &phase.on_failure {
                write(&dir.join("on-failure"), on_failure);
            }
        }
        let mut names = spec.env.exported_variables.join("\n");
        names.push('\n');
        write(&work.join("exported-variables"), &names);

        let tmp = root.join("tmp");
        let home = root.join("home");
        fs::create_dir_all(&tmp).unwrap();
        fs::create_dir_all(&home).unwrap();
        let calls_log = root.join("calls.log");

        // CodeBuild's precedence: the project's value over the buildspec's.
        let mut env = spec.env.variables.clone();
        env.extend(self.env.clone());
        let paths = [
            ("PATH", format!("{}:/usr/bin:/bin", bin.display())),
            ("HOME", home.display().to_string()),
            ("TMPDIR", tmp.display().to_string()),
            ("CODEBUILD_SRC_DIR", src.display().to_string()),
            ("STUB_LOG", calls_log.display().to_string()),
        ];
        env.extend(paths.into_iter().map(|(k, v)| (k.to_string(), v)));
        env.insert("LANG".to_string(), "C".to_string());

        let output = Command::new("bash")
            .arg(&runner)
            .arg(mode.as_str())
            .arg(&work)
            .current_dir(&src)
            .env_clear()
            .envs(&env)
            .output()
            .expect("bash runs");

        let log = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let calls = fs::read_to_string(&calls_log)
            .unwrap_or_default()
            .lines()
            .map(|line| {
                let mut call: Vec<String> = line.split('\x1f').map(str::to_string).collect();
                normalize_metadata_file(&mut call, &tmp);
                call
            })
            .collect();
        let login_password = fs::read_to_string(root.join("calls.log.password")).ok();
        let exported = fs::read_to_string(work.join("exported.env"))
            .ok()
            .map(|text| {
                text.lines()
                    .map(|line| {
                        let (name, value) = line.split_once('=').unwrap();
                        (name.to_string(), value.to_string())
                    })
                    .collect()
            });
        Outcome {
            succeeded: output.status.success(),
            log,
            calls,
            login_password,
            exported,
        }
    }
}

/// The metadata file is a fresh temp file: check that, then name it.
fn normalize_metadata_file(call: &mut [String], tmp: &Path) {
    if let Some(index) = call.iter().position(|arg| arg == "--metadata-file") {
        let path = &call[index + 1];
        assert!(
            Path::new(path).starts_with(tmp),
            "metadata file {path} is not a temp file"
        );
        call[index + 1] = "<metadata-file>".to_string();
    }
}

impl Outcome {
    fn assert_failed_with(&self, message: &str) {
        assert!(!self.succeeded, "the build should fail:\n{}", self.log);
        assert!(
            self.log.contains(message),
            "the log should say {message:?}:\n{}",
            self.log
        );
        if let Some(exported) = &self.exported {
            assert_eq!(exported.get("IMAGE_DIGEST").map(String::as_str), Some(""));
        }
        assert!(
            !self.log.contains("Entering phase POST_BUILD"),
            "a failed build must not reach post_build:\n{}",
            self.log
        );
    }

    fn exported(&self, name: &str) -> String {
        let exported = self.exported.as_ref().expect("exported variables");
        exported.get(name).cloned().unwrap_or_default()
    }

    fn has_call(&self, prefix: &[&str]) -> bool {
        self.calls
            .iter()
            .any(|call| call.len() >= prefix.len() && call.iter().zip(prefix).all(|(a, b)| a == b))
    }

    fn build_call(&self) -> &[String] {
        self.calls
            .iter()
            .find(|call| {
                call.starts_with(&[
                    "docker".to_string(),
                    "buildx".to_string(),
                    "build".to_string(),
                ])
            })
            .expect("a docker buildx build call")
    }
}

/// The value that follows `name` in a call.
fn option<'a>(call: &'a [String], name: &str) -> &'a str {
    let index = call
        .iter()
        .position(|arg| arg == name)
        .unwrap_or_else(|| panic!("{name} in {call:?}"));
    &call[index + 1]
}

fn call(args: &[&str]) -> Vec<String> {
    args.iter().map(|arg| arg.to_string()).collect()
}

fn login_and_lookup_calls() -> Vec<Vec<String>> {
    vec![
        call(&["aws", "ecr", "get-login-password", "--region", REGION]),
        call(&[
            "docker",
            "login",
            "--username",
            "AWS",
            "--password-stdin",
            REGISTRY,
        ]),
        call(&[
            "aws",
            "ecr",
            "describe-images",
            "--region",
            REGION,
            "--repository-name",
            "images-test",
            "--image-ids",
            &format!("imageTag={TAG}"),
            "--query",
            "imageDetails[0].imageDigest",
            "--output",
            "text",
        ]),
    ]
}

#[test]
fn buildspec_is_version_0_2_in_bash_and_exports_the_pipeline_variables() {
    let spec = buildspec();
    assert_eq!(spec.version.as_f64(), Some(0.2));
    assert_eq!(spec.env.shell, "bash");
    assert_eq!(spec.env.exported_variables, ["IMAGE_DIGEST", "IMAGE_TAG"]);
    let phases: Vec<&str> = spec.phases.keys().map(String::as_str).collect();
    assert_eq!(phases, ["build", "post_build", "pre_build"]);
    for name in &phases {
        assert!(
            PHASE_ORDER.contains(name),
            "{name} is not a CodeBuild phase"
        );
    }
    // A failed login or push must not run the later phases.
    assert_eq!(
        spec.phases["pre_build"].on_failure.as_deref(),
        Some("ABORT")
    );
    assert_eq!(spec.phases["build"].on_failure.as_deref(), Some("ABORT"));
    for (name, phase) in &spec.phases {
        assert!(!phase.commands.is_empty(), "{name} has no commands");
        for command in &phase.commands {
            assert_eq!(
                command.lines().next(),
                Some("set -euo pipefail"),
                "every {name} command starts in strict mode"
            );
        }
    }
    let defaults: Vec<(&str, &str)> = spec
        .env
        .variables
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        defaults,
        [
            (
                "BUILDKIT_IMAGE",
                "public.ecr.aws/vend/moby/buildkit:buildx-stable-1"
            ),
            ("CACHE_TAG", "buildcache"),
            ("DOCKERFILE_PATH", "Dockerfile"),
        ]
    );
}

#[test]
fn a_new_commit_is_built_with_the_registry_cache_pushed_and_its_digest_exported() {
    for mode in [Mode::Separate, Mode::Shared] {
        let outcome = Build::new("fresh").run(mode);
        assert!(outcome.succeeded, "{mode:?}:\n{}", outcome.log);

        let mut expected = login_and_lookup_calls();
        expected.push(call(&["docker", "buildx", "version"]));
        expected.push(call(&[
            "docker",
            "buildx",
            "create",
            "--name",
            "pipeline-builder",
            "--driver",
            "docker-container",
            "--driver-opt",
            "image=public.ecr.aws/vend/moby/buildkit:buildx-stable-1",
            "--bootstrap",
        ]));
        expected.push(call(&[
            "docker",
            "buildx",
            "build",
            "--builder",
            "pipeline-builder",
            "--progress",
            "plain",
            "--file",
            "Dockerfile",
            "--tag",
            &format!("{REPOSITORY_URI}:{TAG}"),
            "--label",
            &format!("org.opencontainers.image.revision={COMMIT}"),
            "--cache-from",
            &format!("type=registry,ref={REPOSITORY_URI}:buildcache"),
            "--cache-to",
            &format!(
                "type=registry,ref={REPOSITORY_URI}:buildcache,mode=max,image-manifest=true,oci-mediatypes=true"
            ),
            "--provenance=false",
            "--metadata-file",
            "<metadata-file>",
            "--push",
            ".",
        ]));
        assert_eq!(outcome.calls, expected, "{mode:?}");
        assert_eq!(outcome.login_password.as_deref(), Some(TOKEN), "{mode:?}");
        assert_eq!(outcome.exported("IMAGE_DIGEST"), PUSHED, "{mode:?}");
        assert_eq!(outcome.exported("IMAGE_TAG"), TAG, "{mode:?}");
        assert!(
            outcome
                .log
                .contains("Phase complete: POST_BUILD State: SUCCEEDED"),
            "{mode:?}:\n{}",
            outcome.log
        );
    }
}

#[test]
fn a_retry_of_a_pushed_commit_exports_the_existing_digest_without_building() {
    for mode in [Mode::Separate, Mode::Shared] {
        let outcome = Build::new("retry")
            .set("STUB_EXISTING_DIGEST", EXISTING)
            .run(mode);
        assert!(outcome.succeeded, "{mode:?}:\n{}", outcome.log);
        assert_eq!(outcome.calls, login_and_lookup_calls(), "{mode:?}");
        assert_eq!(outcome.exported("IMAGE_DIGEST"), EXISTING, "{mode:?}");
        assert_eq!(outcome.exported("IMAGE_TAG"), TAG, "{mode:?}");
        assert!(
            outcome.log.contains("was pushed by an earlier run"),
            "{}",
            outcome.log
        );
    }
}

#[test]
fn the_buildspec_defaults_apply_unless_the_project_sets_its_own() {
    let defaults = Build::new("defaults")
        .unset("DOCKERFILE_PATH")
        .unset("CACHE_TAG")
        .run(Mode::Separate);
    assert!(defaults.succeeded, "{}", defaults.log);
    let build = defaults.build_call();
    assert_eq!(option(build, "--file"), "Dockerfile");
    assert_eq!(
        option(build, "--cache-from"),
        format!("type=registry,ref={REPOSITORY_URI}:buildcache")
    );

    let buildkit = format!("{REGISTRY}/buildkit:v0.19.0");
    let custom = Build::new("custom")
        .without_file("Dockerfile")
        .file("docker/web.Dockerfile", SAMPLE_DOCKERFILE)
        .set("DOCKERFILE_PATH", "docker/web.Dockerfile")
        .set("CACHE_TAG", "cache-main")
        .set("BUILDKIT_IMAGE", &buildkit)
        .run(Mode::Separate);
    assert!(custom.succeeded, "{}", custom.log);
    let build = custom.build_call();
    assert_eq!(option(build, "--file"), "docker/web.Dockerfile");
    assert_eq!(
        option(build, "--cache-from"),
        format!("type=registry,ref={REPOSITORY_URI}:cache-main")
    );
    assert_eq!(
        option(build, "--cache-to"),
        format!("type=registry,ref={REPOSITORY_URI}:cache-main,mode=max,image-manifest=true,oci-mediatypes=true")
    );
    assert!(custom.has_call(&[
        "docker",
        "buildx",
        "create",
        "--name",
        "pipeline-builder",
        "--driver",
        "docker-container",
        "--driver-opt",
        &format!("image={buildkit}"),
    ]));
    assert_eq!(custom.exported("IMAGE_DIGEST"), PUSHED);
}

#[test]
fn a_refused_push_fails_the_build_and_says_what_to_fix() {
    let cases = [
        (
            "refused",
            "ECR refused the push to 123456789012.dkr.ecr.ap-southeast-1.amazonaws.com/images-test",
            "ecr:PutImage",
        ),
        (
            "immutable",
            "a tag already exists and is immutable",
            "retry the stage",
        ),
        (
            "build-error",
            "the image build failed",
            "docker buildx build --file Dockerfile .",
        ),
    ];
    for (push, message, hint) in cases {
        for mode in [Mode::Separate, Mode::Shared] {
            let outcome = Build::new("push").set("STUB_PUSH", push).run(mode);
            outcome.assert_failed_with(message);
            assert!(
                outcome.log.contains(hint),
                "{push} {mode:?}:\n{}",
                outcome.log
            );
            assert!(
                outcome.has_call(&["docker", "buildx", "build"]),
                "{push} {mode:?}"
            );
            if let Mode::Separate = mode {
                assert!(
                    outcome.log.contains("Phase complete: BUILD State: FAILED"),
                    "{push}:\n{}",
                    outcome.log
                );
            }
        }
    }
}

#[test]
fn a_missing_dockerfile_fails_before_logging_in() {
    let outcome = Build::new("no-dockerfile")
        .without_file("Dockerfile")
        .run(Mode::Separate);
    outcome.assert_failed_with(&format!("no Dockerfile at 'Dockerfile' in commit {COMMIT}"));
    assert!(
        outcome
            .log
            .contains("Phase complete: PRE_BUILD State: FAILED"),
        "{}",
        outcome.log
    );
    assert!(
        !outcome.log.contains("Entering phase BUILD"),
        "{}",
        outcome.log
    );
    assert_eq!(outcome.calls, Vec::<Vec<String>>::new());

    let outcome = Build::new("no-dockerfile-at-path")
        .set("DOCKERFILE_PATH", "app/Dockerfile")
        .run(Mode::Shared);
    outcome.assert_failed_with("no Dockerfile at 'app/Dockerfile'");
    assert_eq!(outcome.calls, Vec::<Vec<String>>::new());
}

#[test]
fn a_refused_login_fails_the_build() {
    let message = format!("could not log in to {REGISTRY}");
    for mode in [Mode::Separate, Mode::Shared] {
        // The registry refuses the token.
        let outcome = Build::new("login-refused")
            .set("STUB_LOGIN_REFUSED", "1")
            .run(mode);
        outcome.assert_failed_with(&message);
        assert!(
            outcome.log.contains("ecr:GetAuthorizationToken"),
            "{}",
            outcome.log
        );
        assert_eq!(outcome.calls, login_and_lookup_calls()[..2], "{mode:?}");

        // No token at all: docker login (which accepts an empty password here)
        // succeeds, so only pipefail stops the build.
        let outcome = Build::new("token-denied")
            .set("STUB_TOKEN_DENIED", "1")
            .run(mode);
        outcome.assert_failed_with(&message);
        assert!(
            outcome.log.contains("AccessDeniedException"),
            "{}",
            outcome.log
        );
        assert_eq!(outcome.login_password.as_deref(), Some(""), "{mode:?}");
        assert_eq!(outcome.calls, login_and_lookup_calls()[..2], "{mode:?}");
    }
}

#[test]
fn a_failed_tag_lookup_fails_instead_of_building_again() {
    let outcome = Build::new("describe-denied")
        .set("STUB_DESCRIBE_DENIED", "1")
        .run(Mode::Separate);
    outcome.assert_failed_with("could not look up images-test:3f9c2a7e5b8d in ECR");
    assert!(
        outcome.log.contains("ecr:DescribeImages"),
        "{}",
        outcome.log
    );
    assert_eq!(outcome.calls, login_and_lookup_calls());

    // An answer that is not a digest is not exported either.
    let outcome = Build::new("describe-none")
        .set("STUB_EXISTING_DIGEST", "None")
        .run(Mode::Separate);
    outcome.assert_failed_with("ECR describe-images answered 'None'");
    assert_eq!(outcome.calls, login_and_lookup_calls());
}

#[test]
fn a_pushed_digest_that_is_not_sha256_fails_the_build() {
    let upper = format!("sha256:{}", "AB".repeat(32));
    let sha512 = format!("sha512:{}", "ab".repeat(32));
    let cases = [
        // No containerimage.digest at all (the descriptor's digest is not used).
        ("without-digest", PUSHED),
        ("with-digest", ""),
        ("with-digest", "sha256:abc"),
        ("with-digest", upper.as_str()),
        ("with-digest", sha512.as_str()),
    ];
    for (metadata, digest) in cases {
        for mode in [Mode::Separate, Mode::Shared] {
            let outcome = Build::new("digest")
                .set("STUB_METADATA", metadata)
                .set("STUB_PUSH_DIGEST", digest)
                .run(mode);
            let reported = if metadata == "with-digest" {
                digest
            } else {
                ""
            };
            outcome.assert_failed_with(&format!(
                "buildx reported the pushed digest as '{reported}', not sha256:<64 hex>"
            ));
        }
    }
}

#[test]
fn the_image_tag_is_the_commit_id_cut_to_twelve_characters() {
    let sha256_commit = "c0ffee".repeat(10) + "c0ff";
    let outcome = Build::new("sha256-commit")
        .set("CODEBUILD_RESOLVED_SOURCE_VERSION", &sha256_commit)
        .run(Mode::Separate);
    assert!(outcome.succeeded, "{}", outcome.log);
    assert_eq!(outcome.exported("IMAGE_TAG"), sha256_commit[..12]);
    assert_eq!(
        option(outcome.build_call(), "--tag"),
        format!("{REPOSITORY_URI}:{}", &sha256_commit[..12])
    );

    for revision in [
        "",
        "main",
        "3f9c2a7",
        &COMMIT.to_uppercase(),
        "arn:aws:s3:::bucket/source.zip",
    ] {
        let outcome = Build::new("revision")
            .set("CODEBUILD_RESOLVED_SOURCE_VERSION", revision)
            .run(Mode::Separate);
        outcome.assert_failed_with(&format!(
            "the source revision '{revision}' is not a git commit id"
        ));
        assert_eq!(outcome.calls, Vec::<Vec<String>>::new(), "{revision}");
    }
    let outcome = Build::new("no-revision")
        .unset("CODEBUILD_RESOLVED_SOURCE_VERSION")
        .run(Mode::Shared);
    outcome.assert_failed_with("the source revision '' is not a git commit id");
}

#[test]
fn the_build_is_of_exactly_the_pushed_commit() {
    let outcome = Build::new("pushed-commit")
        .set("PUSHED_COMMIT", COMMIT)
        .run(Mode::Separate);
    assert!(outcome.succeeded, "{}", outcome.log);
    assert_eq!(outcome.exported("IMAGE_TAG"), COMMIT[..12]);
    // Started by hand: the variable's default, any commit.
    let outcome = Build::new("by-hand")
        .set("PUSHED_COMMIT", "none")
        .run(Mode::Separate);
    assert!(outcome.succeeded, "{}", outcome.log);

    let other = "1".repeat(40);
    let outcome = Build::new("other-commit")
        .set("PUSHED_COMMIT", &other)
        .run(Mode::Separate);
    outcome.assert_failed_with(&format!(
        "the source handed over commit {COMMIT}, but the push that started this execution is {other}"
    ));
    assert_eq!(outcome.calls, Vec::<Vec<String>>::new());
}

#[test]
fn a_project_without_its_repository_fails_with_what_is_missing() {
    let outcome = Build::new("no-repository")
        .unset("REPOSITORY_URI")
        .run(Mode::Separate);
    outcome.assert_failed_with("REPOSITORY_URI is not set on the CodeBuild project");
    assert_eq!(outcome.calls, Vec::<Vec<String>>::new());

    let outcome = Build::new("bad-repository")
        .set("REPOSITORY_URI", "images-test")
        .run(Mode::Separate);
    outcome.assert_failed_with("REPOSITORY_URI 'images-test' is not <registry>/<repository>");

    let outcome = Build::new("no-region")
        .unset("AWS_REGION")
        .unset("AWS_DEFAULT_REGION")
        .run(Mode::Separate);
    outcome.assert_failed_with("neither AWS_REGION nor AWS_DEFAULT_REGION is set");
}

#[test]
fn the_sample_app_builds_from_amazon_ecr_public_only() {
    let from_lines: Vec<&str> = SAMPLE_DOCKERFILE
        .lines()
        .map(str::trim)
        .filter(|line| line.to_ascii_uppercase().starts_with("FROM "))
        .collect();
    assert!(!from_lines.is_empty());
    for line in from_lines {
        let image = line.split_whitespace().nth(1).unwrap();
        assert!(
            image.starts_with("public.ecr.aws/"),
            "{line}: not from Amazon ECR Public"
        );
        assert!(
            image.contains(':') && !image.ends_with(":latest"),
            "{line}: pin a tag"
        );
    }
    let user = SAMPLE_DOCKERFILE
        .lines()
        .find_map(|line| line.strip_prefix("USER "))
        .expect("a USER line");
    assert!(
        !user.starts_with("root") && !user.starts_with("0"),
        "runs as {user}"
    );
    assert!(SAMPLE_DOCKERFILE.contains("EXPOSE 8080"));
    assert!(SAMPLE_INDEX.contains("<h1>"));
}
