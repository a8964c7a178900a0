//! Tags: the template's tags plus the ownership tag that marks a resource as
//! created by the installer of one particular stack.

/// Key of the ownership tag. Its value is the CloudFormation StackId.
pub const OWNER_TAG_KEY: &str = "ci-installer:stack-id";

/// One tag, as the template passes it and as every service stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

impl Tag {
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// The tags every resource the installer creates carries: the template's tags
/// (Environment, Team, ...) followed by the ownership tag.
pub fn resource_tags(template_tags: &[Tag], stack_id: &str) -> Vec<Tag> {
    let mut tags: Vec<Tag> = template_tags
        .iter()
        .filter(|tag| tag.key != OWNER_TAG_KEY)
        .cloned()
        .collect();
    tags.push(Tag::new(OWNER_TAG_KEY, stack_id));
    tags
}

/// Whose a resource is, judged by its ownership tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ownership {
    /// Tagged with this stack's id.
    Ours,
    /// Tagged by the installer of another stack (the value is that StackId).
    OtherStack(String),
    /// No ownership tag at all: created by hand, or its tags were removed.
    Untagged,
}

impl Ownership {
    /// Reads the ownership tag out of a resource's tags.
    pub fn of<'a>(tags: impl IntoIterator<Item = (&'a str, &'a str)>, stack_id: &str) -> Self {
        match tags.into_iter().find(|(key, _)| *key == OWNER_TAG_KEY) {
            Some((_, value)) if value == stack_id => Self::Ours,
            Some((_, value)) => Self::OtherStack(value.to_owned()),
            None => Self::Untagged,
        }
    }
}

/// When an existing resource with one of our names may be taken over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adoption {
    /// Create (or a replacement): only a resource carrying this stack's tag,
    /// i.e. left over from an earlier attempt of the same stack.
    OursOnly,
    /// Update in place and Delete: the physical id already names the resource
    /// as this stack's, so a resource whose tags were removed by hand is
    /// still ours; one tagged by another stack never is.
    OursOrUntagged,
}

impl Adoption {
    pub fn allows(self, ownership: &Ownership) -> bool {
        matches!(
            (self, ownership),
            (_, Ownership::Ours) | (Self::OursOrUntagged, Ownership::Untagged)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STACK: &str = "arn:aws:cloudformation:ap-southeast-1:123456789012:stack/ci/1";

    #[test]
    fn resource_tags_keep_template_tags_and_add_the_owner() {
        let tags = resource_tags(
            &[
                Tag::new("Environment", "production"),
                Tag::new("Team", "devops"),
                Tag::new(OWNER_TAG_KEY, "forged"),
            ],
            STACK,
        );
        assert_eq!(
            tags,
            vec![
                Tag::new("Environment", "production"),
                Tag::new("Team", "devops"),
                Tag::new(OWNER_TAG_KEY, STACK),
            ]
        );
    }

    #[test]
    fn ownership_is_read_from_the_owner_tag() {
        let ours = [("Team", "devops"), (OWNER_TAG_KEY, STACK)];
        assert_eq!(Ownership::of(ours, STACK), Ownership::Ours);
        let theirs = [(OWNER_TAG_KEY, "arn:other")];
        assert_eq!(
            Ownership::of(theirs, STACK),
            Ownership::OtherStack("arn:other".into())
        );
        assert_eq!(
            Ownership::of([("Team", "devops")], STACK),
            Ownership::Untagged
        );
    }

    #[test]
    fn adoption_rules() {
        let other = Ownership::OtherStack("x".into());
        assert!(Adoption::OursOnly.allows(&Ownership::Ours));
        assert!(!Adoption::OursOnly.allows(&Ownership::Untagged));
        assert!(!Adoption::OursOnly.allows(&other));
        assert!(Adoption::OursOrUntagged.allows(&Ownership::Ours));
        assert!(Adoption::OursOrUntagged.allows(&Ownership::Untagged));
        assert!(!Adoption::OursOrUntagged.allows(&other));
    }
}
