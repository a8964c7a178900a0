//! Create, Update and Delete of one installation: the CodeBuild project, the
//! pipeline and the EventBridge rule with its target.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::Value;
use tokio::time::Instant;

use crate::aws::propagation::{
    is_codebuild_propagation, is_codepipeline_propagation, is_role_propagation,
    retry_during_propagation, Backoff,
};
use crate::aws::{codebuild, codepipeline, eventbridge, iam, s3, Clients};
use crate::domain::names::{PhysicalId, ResourceNames};
use crate::domain::pipeline::{pipeline_spec, PipelineSpec};
use crate::domain::project::{project_spec, ProjectSpec};
use crate::domain::properties::{DeleteProperties, Properties};
use crate::domain::rule::{rule_spec, target_spec, RuleSpec, LEGACY_TARGET_ID};
use crate::domain::tags::{resource_tags, Adoption, Ownership};
use crate::domain::trust::{CODEBUILD_PRINCIPAL, CODEPIPELINE_PRINCIPAL};
use crate::error::Error;

/// What a successful Create or Update answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    pub physical_id: String,
    pub data: HashMap<String, String>,
}

/// A resource this invocation created (not adopted).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Created {
    Project(String),
    Pipeline(String),
    Rule { bus: String, name: String },
}

/// The resources a Create (or a replacing Update) has created so far, so
/// that a failure can remove them before answering: the Delete that follows
/// a failed Create carries the marker id and removes nothing. Kept outside
/// the work itself, so it survives a panic or a timeout of the work.
#[derive(Debug, Default)]
pub struct Ledger {
    tracking: Mutex<bool>,
    created: Mutex<Vec<Created>>,
}

impl Ledger {
    fn track(&self) {
        if let Ok(mut tracking) = self.tracking.lock() {
            *tracking = true;
        }
    }

    fn record(&self, created: Created) {
        let tracking = self.tracking.lock().map(|t| *t).unwrap_or(false);
        if tracking {
            if let Ok(mut list) = self.created.lock() {
                list.push(created);
            }
        }
    }

    fn take(&self) -> Vec<Created> {
        self.created
            .lock()
            .map(|mut list| std::mem::take(&mut *list))
            .unwrap_or_default()
    }

    pub fn is_empty(&self) -> bool {
        self.created
            .lock()
            .map(|list| list.is_empty())
            .unwrap_or(true)
    }
}

/// What one request's work needs.
#[derive(Debug)]
pub struct Work<'a> {
    pub clients: &'a Clients,
    pub backoff: Backoff,
    /// IAM propagation retries stop before this.
    pub deadline: Instant,
    pub stack_id: &'a str,
    pub buildspec: &'a str,
    pub ledger: &'a Ledger,
}

impl Work<'_> {
    pub async fn create(&self, properties: &Properties) -> Result<Installed, Error> {
        self.ledger.track();
        self.preflight(properties).await?;
        self.ensure_all(properties, Adoption::OursOnly).await
    }

    /// Update: in place when the names are unchanged, else a replacement
    /// (CloudFormation deletes the old set later, with the old physical id).
    pub async fn update(
        &self,
        properties: &Properties,
        old_properties: &Value,
        old_physical_id: &str,
    ) -> Result<Installed, Error> {
        if let PhysicalId::Installed(old) = PhysicalId::parse(old_physical_id) {
            let kept = old.shared_with(&properties.names);
            if !kept.is_empty() && kept.len() < 3 {
                return Err(Error::PartialRename {
                    kept: kept.join(", "),
                });
            }
        }
        self.preflight(properties).await?;
        if properties.names.physical_id() != old_physical_id {
            tracing::info!(
                new_physical_id = %properties.names.physical_id(),
                "names changed: replacing"
            );
            self.ledger.track();
            return self.ensure_all(properties, Adoption::OursOnly).await;
        }
        let installed = self
            .ensure_all(properties, Adoption::OursOrUntagged)
            .await?;
        // The rule moved to another bus: remove it from the old one.
        if let Ok(old) = DeleteProperties::parse(old_properties) {
            if old.event_bus_name != properties.event_bus_name {
                self.remove_rule(&old.event_bus_name, &properties.names.rule)
                    .await?;
            }
        }
        Ok(installed)
    }

    /// Delete: removes the set the physical id names, then empties the
    /// artifact bucket. The marker of a failed Create and ids this function
    /// did not produce remove nothing.
    pub async fn delete(&self, physical_id: &str, properties: &Value) -> Result<(), Error> {
        let names = match PhysicalId::parse(physical_id) {
            PhysicalId::Installed(names) => names,
            PhysicalId::CreateFailed => {
                tracing::info!("the Create failed and cleaned up: nothing to delete");
                return Ok(());
            }
            PhysicalId::Foreign => {
                tracing::warn!(
                    physical_id,
                    "not a physical id of this installer: nothing to delete"
                );
                return Ok(());
            }
        };
        let properties = DeleteProperties::parse(properties)?;
        self.remove_set(&names, &properties.event_bus_name).await?;
        let emptied = s3::empty_bucket(&self.clients.s3, &properties.artifact_bucket).await?;
        tracing::info!(
            bucket = %properties.artifact_bucket,
            deleted = emptied.deleted,
            delete_calls = emptied.delete_calls,
            "emptied the artifact bucket"
        );
        Ok(())
    }

    /// Removes what a failed Create (or replacement) created, newest first.
    /// Best effort: failures are logged, the original error is what is
    /// reported.
    pub async fn clean_up(&self) {
        for created in self.ledger.take().into_iter().rev() {
            let result = match &created {
                Created::Rule { bus, name } => {
                    match eventbridge::remove_all_targets(&self.clients.eventbridge, bus, name)
                        .await
                    {
                        Ok(()) => {
                            eventbridge::delete_rule(&self.clients.eventbridge, bus, name).await
                        }
                        Err(error) => Err(error),
                    }
                }
                Created::Pipeline(name) => {
                    codepipeline::delete_pipeline(&self.clients.codepipeline, name).await
                }
                Created::Project(name) => {
                    codebuild::delete_project(&self.clients.codebuild, name).await
                }
            };
            match result {
                Ok(()) => tracing::info!(resource = ?created, "removed after the failure"),
                Err(error) => {
                    tracing::error!(resource = ?created, error = %error, "could not remove after the failure")
                }
            }
        }
    }

    /// Each role must exist and trust the service that uses it.
    async fn preflight<'a>(&'a self, properties: &'a Properties) -> Result<(), Error> {
        let iam = &self.clients.iam;
        let check = |property: &'static str, arn: &'a str, principal: &'static str| {
            retry_during_propagation(
                &self.backoff,
                self.deadline,
                is_role_propagation,
                "GetRole",
                move || iam::check_trust(iam, property, arn, principal),
            )
        };
        futures::try_join!(
            check(
                "CodeBuildRoleArn",
                &properties.codebuild_role_arn,
                CODEBUILD_PRINCIPAL
            ),
            check(
                "PipelineRoleArn",
                &properties.pipeline_role_arn,
                CODEPIPELINE_PRINCIPAL
            ),
        )?;
        Ok(())
    }

    async fn ensure_all(
        &self,
        properties: &Properties,
        adoption: Adoption,
    ) -> Result<Installed, Error> {
        let tags = resource_tags(&properties.tags, self.stack_id);
        let project = project_spec(properties, self.buildspec, tags.clone());
        self.ensure_project(&project, adoption).await?;
        let pipeline = pipeline_spec(properties, tags.clone());
        let pipeline_arn = self.ensure_pipeline(&pipeline, adoption).await?;
        let rule = rule_spec(properties, tags);
        let rule_arn = self.ensure_rule(&rule, adoption).await?;
        let target = target_spec(properties);
        eventbridge::put_target(&self.clients.eventbridge, &rule, &target).await?;
        // Stacks installed before the starter existed targeted the pipeline
        // directly: that target would start a second execution per push.
        eventbridge::remove_target(&self.clients.eventbridge, &rule, LEGACY_TARGET_ID).await?;
        let names = &properties.names;
        Ok(Installed {
            physical_id: names.physical_id(),
            data: HashMap::from([
                ("ProjectName".to_owned(), names.project.clone()),
                ("PipelineName".to_owned(), names.pipeline.clone()),
                ("PipelineArn".to_owned(), pipeline_arn),
                ("RuleName".to_owned(), names.rule.clone()),
                ("RuleArn".to_owned(), rule_arn),
            ]),
        })
    }

    fn check_adoption(
        &self,
        kind: &'static str,
        name: &str,
        tags: &[(String, String)],
        adoption: Adoption,
    ) -> Result<(), Error> {
        let ownership = Ownership::of(
            tags.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            self.stack_id,
        );
        if adoption.allows(&ownership) {
            tracing::info!(kind, name, ?ownership, "exists: reconciling it");
            return Ok(());
        }
        Err(Error::NotOurs {
            kind,
            name: name.to_owned(),
            owner: describe(&ownership),
        })
    }

    async fn ensure_project(&self, spec: &ProjectSpec, adoption: Adoption) -> Result<(), Error> {
        let client = &self.clients.codebuild;
        match codebuild::project_tags(client, &spec.name).await? {
            None => {
                self.retry(is_codebuild_propagation, "CreateProject", || {
                    codebuild::create_project(client, spec)
                })
                .await?;
                self.ledger.record(Created::Project(spec.name.clone()));
                tracing::info!(project = %spec.name, "created the CodeBuild project");
            }
            Some(tags) => {
                self.check_adoption("CodeBuild project", &spec.name, &tags, adoption)?;
                self.retry(is_codebuild_propagation, "UpdateProject", || {
                    codebuild::update_project(client, spec)
                })
                .await?;
            }
        }
        Ok(())
    }

    async fn ensure_pipeline(
        &self,
        spec: &PipelineSpec,
        adoption: Adoption,
    ) -> Result<String, Error> {
        let client = &self.clients.codepipeline;
        match codepipeline::find_pipeline(client, &spec.name).await? {
            None => {
                self.retry(is_codepipeline_propagation, "CreatePipeline", || {
                    codepipeline::create_pipeline(client, spec)
                })
                .await?;
                self.ledger.record(Created::Pipeline(spec.name.clone()));
                tracing::info!(pipeline = %spec.name, "created the pipeline");
                codepipeline::find_pipeline(client, &spec.name)
                    .await?
                    .ok_or(Error::Unexpected {
                        operation: "GetPipeline",
                        missing: "the pipeline just created",
                    })
            }
            Some(arn) => {
                let tags = codepipeline::pipeline_tags(client, &arn).await?;
                self.check_adoption("pipeline", &spec.name, &tags, adoption)?;
                self.retry(is_codepipeline_propagation, "UpdatePipeline", || {
                    codepipeline::update_pipeline(client, spec)
                })
                .await?;
                codepipeline::tag_pipeline(client, &arn, spec).await?;
                Ok(arn)
            }
        }
    }

    async fn ensure_rule(&self, spec: &RuleSpec, adoption: Adoption) -> Result<String, Error> {
        let client = &self.clients.eventbridge;
        match eventbridge::find_rule(client, &spec.event_bus_name, &spec.name).await? {
            None => {
                let arn = eventbridge::put_rule(client, spec, true).await?;
                self.ledger.record(Created::Rule {
                    bus: spec.event_bus_name.clone(),
                    name: spec.name.clone(),
                });
                tracing::info!(rule = %spec.name, bus = %spec.event_bus_name, "created the rule");
                Ok(arn)
            }
            Some(arn) => {
                let tags = eventbridge::rule_tags(client, &arn).await?;
                self.check_adoption("EventBridge rule", &spec.name, &tags, adoption)?;
                let arn = eventbridge::put_rule(client, spec, false).await?;
                eventbridge::tag_rule(client, &arn, spec).await?;
                Ok(arn)
            }
        }
    }

    async fn retry<F, Fut>(
        &self,
        is_propagation: fn(&Error) -> bool,
        operation: &'static str,
        call: F,
    ) -> Result<(), Error>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<(), Error>>,
    {
        retry_during_propagation(
            &self.backoff,
            self.deadline,
            is_propagation,
            operation,
            call,
        )
        .await
    }

    /// Targets and rule, pipeline, project: each only when ours (or untagged,
    /// since the physical id names it as ours); already gone counts as done.
    async fn remove_set(&self, names: &ResourceNames, bus: &str) -> Result<(), Error> {
        self.remove_rule(bus, &names.rule).await?;

        let pipelines = &self.clients.codepipeline;
        if let Some(arn) = codepipeline::find_pipeline(pipelines, &names.pipeline).await? {
            let tags = codepipeline::pipeline_tags(pipelines, &arn).await?;
            if self.may_remove("pipeline", &names.pipeline, &tags) {
                codepipeline::delete_pipeline(pipelines, &names.pipeline).await?;
                tracing::info!(pipeline = %names.pipeline, "deleted the pipeline");
            }
        }

        let projects = &self.clients.codebuild;
        if let Some(tags) = codebuild::project_tags(projects, &names.project).await? {
            if self.may_remove("CodeBuild project", &names.project, &tags) {
                codebuild::delete_project(projects, &names.project).await?;
                tracing::info!(project = %names.project, "deleted the CodeBuild project");
            }
        }
        Ok(())
    }

    async fn remove_rule(&self, bus: &str, name: &str) -> Result<(), Error> {
        let rules = &self.clients.eventbridge;
        if let Some(arn) = eventbridge::find_rule(rules, bus, name).await? {
            let tags = eventbridge::rule_tags(rules, &arn).await?;
            if self.may_remove("EventBridge rule", name, &tags) {
                eventbridge::remove_all_targets(rules, bus, name).await?;
                eventbridge::delete_rule(rules, bus, name).await?;
                tracing::info!(rule = %name, bus, "deleted the rule and its targets");
            }
        }
        Ok(())
    }

    fn may_remove(&self, kind: &'static str, name: &str, tags: &[(String, String)]) -> bool {
        let ownership = Ownership::of(
            tags.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            self.stack_id,
        );
        let allowed = Adoption::OursOrUntagged.allows(&ownership);
        if !allowed {
            tracing::warn!(
                kind,
                name,
                ?ownership,
                "belongs to another stack: left in place"
            );
        }
        allowed
    }
}

fn describe(ownership: &Ownership) -> String {
    match ownership {
        Ownership::Ours => "owned by this stack".into(),
        Ownership::OtherStack(stack) => format!("owned by {stack}"),
        Ownership::Untagged => "not created by this installer".into(),
    }
}
