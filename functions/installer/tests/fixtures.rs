//! The sample events in `events/` (for `cargo lambda invoke`) are requests
//! the installer handles: they parse, and Create / Update / Delete succeed
//! against mocked AWS.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::mocks::{Aws, Extra, Owner};
use common::{deadline_in, fast_settings, ResponseListener};
use installer::domain::names::PhysicalId;
use installer::domain::properties::Properties;
use installer::Installer;
use serde_json::Value;

const CREATE: &str = include_str!("../../../events/installer-create.json");
const UPDATE: &str = include_str!("../../../events/installer-update.json");
const DELETE: &str = include_str!("../../../events/installer-delete.json");

fn event(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

#[test]
fn the_fixtures_carry_valid_properties() {
    let create = Properties::parse(&event(CREATE)["ResourceProperties"]).unwrap();
    assert_eq!(
        create.names.physical_id(),
        "installer:build-local:pipeline-local:github-push-local"
    );
    let update = event(UPDATE);
    let new = Properties::parse(&update["ResourceProperties"]).unwrap();
    let old = Properties::parse(&update["OldResourceProperties"]).unwrap();
    assert_eq!(old, create);
    // An in-place update: same names, new branch and Dockerfile path.
    assert_eq!(new.names, old.names);
    assert_ne!(new.github_branch, old.github_branch);
    assert_eq!(update["PhysicalResourceId"], new.names.physical_id());
    let delete = event(DELETE);
    assert_eq!(
        PhysicalId::parse(delete["PhysicalResourceId"].as_str().unwrap()),
        PhysicalId::Installed(create.names)
    );
}

async fn answer(text: &str, aws: &Aws) -> Value {
    let listener = ResponseListener::start().await;
    let mut event = event(text);
    event["ResponseURL"] = Value::String(listener.url.clone());
    let installer = Installer::new(aws.clients(Extra::default()), fast_settings()).unwrap();
    installer
        .handle(event, deadline_in(60), "stream")
        .await
        .unwrap();
    listener.only_answer()
}

#[tokio::test]
async fn each_fixture_is_handled() {
    let created = answer(CREATE, &Aws::empty()).await;
    assert_eq!(created["Status"], "SUCCESS", "{created}");
    let stack = event(CREATE)["StackId"].as_str().unwrap().to_owned();
    let updated = answer(UPDATE, &Aws::existing(Owner::Stack(stack.clone()))).await;
    assert_eq!(updated["Status"], "SUCCESS", "{updated}");
    assert_eq!(updated["PhysicalResourceId"], created["PhysicalResourceId"]);
    let deleted = answer(DELETE, &Aws::existing(Owner::Stack(stack))).await;
    assert_eq!(deleted["Status"], "SUCCESS", "{deleted}");
}
