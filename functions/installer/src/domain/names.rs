//! Resource names and the custom resource's physical ids.
//!
//! The physical id is derived only from the three names the installer owns,
//! so the same properties always give the same id, and a changed name gives a
//! new id (which CloudFormation treats as a replacement).

const PREFIX: &str = "installer";
const CREATE_FAILED: &str = "create-failed";

/// The names of the three resources one installation consists of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceNames {
    pub project: String,
    pub pipeline: String,
    pub rule: String,
}

impl ResourceNames {
    /// `installer:<project>:<pipeline>:<rule>`. None of the names can hold a
    /// `:` (the properties are validated), so the id parses back unambiguously.
    pub fn physical_id(&self) -> String {
        format!("{PREFIX}:{}:{}:{}", self.project, self.pipeline, self.rule)
    }
}

impl ResourceNames {
    /// The properties whose names `self` and `other` share. A replacement
    /// must share none: CloudFormation's clean-up Delete of the old physical
    /// id removes every resource that id names, and a shared name is a
    /// resource the new installation still uses.
    pub fn shared_with(&self, other: &ResourceNames) -> Vec<&'static str> {
        [
            ("ProjectName", self.project == other.project),
            ("PipelineName", self.pipeline == other.pipeline),
            ("RuleName", self.rule == other.rule),
        ]
        .into_iter()
        .filter_map(|(property, same)| same.then_some(property))
        .collect()
    }
}

/// The physical id a failed Create answers with. The Delete CloudFormation
/// sends after it has nothing to remove (the Create cleaned up after itself).
pub fn create_failed_id(request_id: &str) -> String {
    format!("{PREFIX}:{CREATE_FAILED}:{request_id}")
}

/// What a physical id received in an Update or Delete names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhysicalId {
    /// A set of resources installed by this function.
    Installed(ResourceNames),
    /// The marker of a Create that failed.
    CreateFailed,
    /// Anything else (not produced by this function).
    Foreign,
}

impl PhysicalId {
    pub fn parse(id: &str) -> Self {
        let parts: Vec<&str> = id.split(':').collect();
        match parts.as_slice() {
            [PREFIX, CREATE_FAILED, _] => Self::CreateFailed,
            [PREFIX, project, pipeline, rule]
                if !project.is_empty() && !pipeline.is_empty() && !rule.is_empty() =>
            {
                Self::Installed(ResourceNames {
                    project: (*project).to_owned(),
                    pipeline: (*pipeline).to_owned(),
                    rule: (*rule).to_owned(),
                })
            }
            _ => Self::Foreign,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn names() -> ResourceNames {
        ResourceNames {
            project: "build-prod".into(),
            pipeline: "pipeline-prod".into(),
            rule: "github-push-prod".into(),
        }
    }

    #[test]
    fn physical_id_is_deterministic_and_readable() {
        assert_eq!(
            names().physical_id(),
            "installer:build-prod:pipeline-prod:github-push-prod"
        );
        assert_eq!(names().physical_id(), names().physical_id());
    }

    #[test]
    fn a_replacement_shares_no_name_with_what_it_replaces() {
        let mut renamed = names();
        renamed.project = "build-test".into();
        assert_eq!(names().shared_with(&renamed), ["PipelineName", "RuleName"]);
        renamed.pipeline = "pipeline-test".into();
        renamed.rule = "github-push-test".into();
        assert!(names().shared_with(&renamed).is_empty());
    }

    #[test]
    fn a_changed_name_changes_the_physical_id() {
        let mut other = names();
        other.rule = "github-push-test".into();
        assert_ne!(names().physical_id(), other.physical_id());
    }

    #[test]
    fn parse_recognises_every_kind() {
        assert_eq!(
            PhysicalId::parse(&names().physical_id()),
            PhysicalId::Installed(names())
        );
        assert_eq!(
            PhysicalId::parse(&create_failed_id("6f1c3a4e-0000-4000-8000-000000000001")),
            PhysicalId::CreateFailed
        );
        for foreign in [
            "",
            "installer",
            "installer:a:b",
            "installer:a::c",
            "other:a:b:c",
            "installer:a:b:c:d",
            "2024/05/01/[$LATEST]abc",
        ] {
            assert_eq!(PhysicalId::parse(foreign), PhysicalId::Foreign, "{foreign}");
        }
    }

    proptest! {
        #[test]
        fn physical_ids_round_trip(
            project in "[A-Za-z0-9][A-Za-z0-9_-]{1,40}",
            pipeline in "[A-Za-z0-9.@_-]{1,40}",
            rule in "[A-Za-z0-9._-]{1,40}",
        ) {
            let names = ResourceNames { project, pipeline, rule };
            prop_assert_eq!(PhysicalId::parse(&names.physical_id()), PhysicalId::Installed(names));
        }
    }
}
