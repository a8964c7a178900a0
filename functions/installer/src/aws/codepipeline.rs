//! CodePipeline: the V2 pipeline.

use aws_sdk_codepipeline::types::{
    ActionCategory, ActionDeclaration, ActionOwner, ActionTypeId, ArtifactStore, ArtifactStoreType,
    ExecutionMode, InputArtifact, OutputArtifact, PipelineDeclaration, PipelineType,
    PipelineVariableDeclaration, StageDeclaration, Tag,
};
use aws_sdk_codepipeline::Client;

use crate::domain::pipeline::{ActionSpec, PipelineSpec};
use crate::error::Error;

/// GetPipeline on AWS answers PipelineNotFoundException; moto answers
/// ResourceNotFoundException for some operations on a missing pipeline.
const NOT_FOUND: &[&str] = &["PipelineNotFoundException", "ResourceNotFoundException"];

fn action(spec: &ActionSpec) -> Result<ActionDeclaration, Error> {
    let type_id = ActionTypeId::builder()
        .category(ActionCategory::from(spec.category))
        .owner(ActionOwner::from(spec.owner))
        .provider(spec.provider)
        .version(spec.version)
        .build()?;
    let mut action = ActionDeclaration::builder()
        .name(spec.name)
        .action_type_id(type_id)
        .run_order(spec.run_order)
        .namespace(spec.namespace)
        .set_configuration(Some(spec.configuration.clone().into_iter().collect()));
    for name in &spec.input_artifacts {
        action = action.input_artifacts(InputArtifact::builder().name(*name).build()?);
    }
    for name in &spec.output_artifacts {
        action = action.output_artifacts(OutputArtifact::builder().name(*name).build()?);
    }
    Ok(action.build()?)
}

/// The pipeline declaration CreatePipeline and UpdatePipeline take.
pub fn declaration(spec: &PipelineSpec) -> Result<PipelineDeclaration, Error> {
    let store = ArtifactStore::builder()
        .r#type(ArtifactStoreType::S3)
        .location(&spec.artifact_bucket)
        .build()?;
    let mut pipeline = PipelineDeclaration::builder()
        .name(&spec.name)
        .role_arn(&spec.role_arn)
        .artifact_store(store)
        .pipeline_type(PipelineType::from(spec.pipeline_type))
        .execution_mode(ExecutionMode::from(spec.execution_mode));
    for variable in spec.variables {
        pipeline = pipeline.variables(
            PipelineVariableDeclaration::builder()
                .name(variable.name)
                .default_value(variable.default)
                .description(variable.description)
                .build()?,
        );
    }
    for stage in &spec.stages {
        let mut declaration = StageDeclaration::builder().name(stage.name);
        for spec in &stage.actions {
            declaration = declaration.actions(action(spec)?);
        }
        pipeline = pipeline.stages(declaration.build()?);
    }
    Ok(pipeline.build()?)
}

fn tags(spec: &PipelineSpec) -> Result<Vec<Tag>, Error> {
    spec.tags
        .iter()
        .map(|tag| Ok(Tag::builder().key(&tag.key).value(&tag.value).build()?))
        .collect()
}

/// The pipeline's ARN, or None when there is no such pipeline.
pub async fn find_pipeline(client: &Client, name: &str) -> Result<Option<String>, Error> {
    match client.get_pipeline().name(name).send().await {
        Ok(output) => {
            let arn = output
                .metadata()
                .and_then(|metadata| metadata.pipeline_arn())
                .map(str::to_owned);
            match arn {
                Some(arn) => Ok(Some(arn)),
                None => Err(Error::Unexpected {
                    operation: "GetPipeline",
                    missing: "metadata.pipelineArn",
                }),
            }
        }
        Err(e) => {
            let error = Error::aws("GetPipeline", e);
            if error.has_code(NOT_FOUND) {
                Ok(None)
            } else {
                Err(error)
            }
        }
    }
}

pub async fn pipeline_tags(client: &Client, arn: &str) -> Result<Vec<(String, String)>, Error> {
    let output = client
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .map_err(|e| Error::aws("ListTagsForResource", e))?;
    Ok(output
        .tags()
        .iter()
        .map(|tag| (tag.key().to_owned(), tag.value().to_owned()))
        .collect())
}

pub async fn create_pipeline(client: &Client, spec: &PipelineSpec) -> Result<(), Error> {
    client
        .create_pipeline()
        .pipeline(declaration(spec)?)
        .set_tags(Some(tags(spec)?))
        .send()
        .await
        .map_err(|e| Error::aws("CreatePipeline", e))?;
    Ok(())
}

/// Puts the whole declaration back as the spec says (drift included).
pub async fn update_pipeline(client: &Client, spec: &PipelineSpec) -> Result<(), Error> {
    client
        .update_pipeline()
        .pipeline(declaration(spec)?)
        .send()
        .await
        .map_err(|e| Error::aws("UpdatePipeline", e))?;
    Ok(())
}

/// Sets the spec's tags on an existing pipeline (UpdatePipeline has none).
pub async fn tag_pipeline(client: &Client, arn: &str, spec: &PipelineSpec) -> Result<(), Error> {
    client
        .tag_resource()
        .resource_arn(arn)
        .set_tags(Some(tags(spec)?))
        .send()
        .await
        .map_err(|e| Error::aws("TagResource", e))?;
    Ok(())
}

/// Deletes the pipeline; a pipeline that is already gone counts as deleted.
pub async fn delete_pipeline(client: &Client, name: &str) -> Result<(), Error> {
    match client.delete_pipeline().name(name).send().await {
        Ok(_) => Ok(()),
        Err(e) => {
            let error = Error::aws("DeletePipeline", e);
            if error.has_code(NOT_FOUND) {
                Ok(())
            } else {
                Err(error)
            }
        }
    }
}
