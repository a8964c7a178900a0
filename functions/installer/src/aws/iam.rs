//! IAM: the preflight check that each role trusts the service that uses it.

use aws_sdk_iam::Client;

use crate::domain::properties::role_name;
use crate::domain::trust::{decode_policy_document, trusts_service};
use crate::error::Error;

/// Fails with a message naming the role and the property when the role does
/// not exist or its trust policy does not let `principal` assume it.
pub async fn check_trust(
    client: &Client,
    property: &'static str,
    role_arn: &str,
    principal: &'static str,
) -> Result<(), Error> {
    let role_error = |problem: String| Error::Role {
        property,
        role: role_arn.to_owned(),
        problem,
    };
    let Some(name) = role_name(role_arn) else {
        return Err(Error::property(property, "is not an IAM role ARN"));
    };
    let output = match client.get_role().role_name(name).send().await {
        Ok(output) => output,
        Err(e) => {
            let error = Error::aws("GetRole", e);
            if error.has_code(&["NoSuchEntity"]) {
                return Err(Error::RoleNotFound {
                    property,
                    role: role_arn.to_owned(),
                });
            }
            return Err(error);
        }
    };
    let document = output
        .role()
        .and_then(|role| role.assume_role_policy_document())
        .and_then(decode_policy_document);
    match document {
        None => Err(role_error("has no readable trust policy".into())),
        Some(document) if trusts_service(&document, principal) => Ok(()),
        Some(_) => Err(role_error(format!(
            "does not trust {principal} (its trust policy must allow sts:AssumeRole to that service)"
        ))),
    }
}
