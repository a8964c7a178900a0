//! The notification topic, its rule and the alarms, as deployed; and what a
//! subscriber of the topic receives.

use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use serde_json::{json, Value};

use crate::checks::ok;
use crate::world::{Stack, World};

/// A queue subscribed to the topic for the scenario, and what to remove after.
pub struct Probe {
    pub queue_url: String,
    subscription: String,
    rule: String,
}

/// A CodePipeline action failure as AWS documents the event (detail-type
/// "CodePipeline Action Execution State Change"), for execution `execution`
/// of pipeline `pipeline`.
fn action_failed(source: &str, pipeline: &str, execution: &str, region: &str) -> Value {
    json!({
        "version": "0",
        "id": "cfe0a6c5-4c1e-4e70-8d54-3a0a6e6f1b2c",
        "detail-type": "CodePipeline Action Execution State Change",
        "source": source,
        "account": "000000000000",
        "time": "2026-12-02T01:14:07Z",
        "region": region,
        "resources": [format!("arn:aws:codepipeline:{region}:000000000000:{pipeline}")],
        "detail": {
            "pipeline": pipeline,
            "execution-id": execution,
            "stage": "Build",
            "action": "Build",
            "state": "FAILED",
            "region": region,
            "type": {"owner": "AWS", "provider": "CodeBuild", "category": "Build", "version": "1"},
            "execution-result": {
                "external-execution-summary": "Build terminated with state: FAILED",
                "external-execution-state": "FAILED"
            },
            "version": 1
        }
    })
}

fn alarm_names(s: &str) -> [String; 7] {
    [
        format!("pushes-not-started-{s}"),
        format!("webhook-5xx-{s}"),
        format!("webhook-throttles-{s}"),
        format!("starter-errors-{s}"),
        format!("push-dead-letters-{s}"),
        format!("installer-failures-{s}"),
        format!("notifier-errors-{s}"),
    ]
}

/// The topic, the failure rule and the alarms exist as the template says;
/// a queue is subscribed to the topic, and a CodePipeline failure of the
/// scenario's execution reaches it through the notifier, naming its commit.
pub async fn notifications(w: &World, stack: &Stack) -> Result<Probe> {
    let s = stack.suffix()?;
    let topic = stack.output("NotificationTopicArn")?.to_owned();
    ensure!(
        topic.ends_with(&format!(":notifications-{s}")),
        "topic {topic}"
    );
    let tags = w
        .sns
        .list_tags_for_resource()
        .resource_arn(&topic)
        .send()
        .await?;
    let tags: Vec<(&str, &str)> = tags.tags().iter().map(|t| (t.key(), t.value())).collect();
    ensure!(
        tags.contains(&("Environment", "production")) && tags.contains(&("Team", "devops")),
        "topic tags {tags:?}"
    );

    let described = w
        .cloudwatch
        .describe_alarms()
        .set_alarm_names(Some(alarm_names(s).to_vec()))
        .send()
        .await?;
    let alarms = described.metric_alarms();
    ensure!(
        alarms.len() == 7,
        "expected 7 alarms, found {:?}",
        alarms.iter().map(|a| a.alarm_name()).collect::<Vec<_>>()
    );
    for (name, parameter) in [
        (format!("webhook-5xx-{s}"), Some("AlarmWebhook5xx")),
        (
            format!("webhook-throttles-{s}"),
            Some("AlarmWebhookThrottles"),
        ),
        (format!("starter-errors-{s}"), Some("AlarmStarterErrors")),
        (
            format!("installer-failures-{s}"),
            Some("AlarmInstallerFailures"),
        ),
        (format!("push-dead-letters-{s}"), None),
        (format!("notifier-errors-{s}"), None),
        (format!("pushes-not-started-{s}"), None),
    ] {
        let alarm = alarms
            .iter()
            .find(|a| a.alarm_name() == Some(name.as_str()))
            .with_context(|| format!("no alarm {name}"))?;
        let expected: f64 = match parameter {
            Some(p) => stack.parameter(p)?.parse()?,
            None => 1.0,
        };
        ensure!(
            alarm.threshold() == Some(expected)
                && alarm.alarm_actions() == [topic.clone()]
                && alarm.ok_actions() == [topic.clone()],
            "alarm {name}: threshold {:?} (expected {expected}), actions {:?}",
            alarm.threshold(),
            alarm.alarm_actions()
        );
    }
    ok("notifications: topic tagged, seven alarms with the stack's thresholds notify it");

    // The execution the scenario's push started, and its commit as the
    // pipeline records it.
    let pipeline = format!("pipeline-{s}");
    let executions = w
        .codepipeline
        .list_pipeline_executions()
        .pipeline_name(&pipeline)
        .send()
        .await?;
    let execution = executions
        .pipeline_execution_summaries()
        .first()
        .and_then(|e| e.pipeline_execution_id())
        .context("no execution of the pipeline to fail")?
        .to_owned();
    let recorded = w
        .codepipeline
        .get_pipeline_execution()
        .pipeline_name(&pipeline)
        .pipeline_execution_id(&execution)
        .send()
        .await?;
    let commit = recorded
        .pipeline_execution()
        .and_then(|e| e.variables().iter().find(|v| v.name() == Some("COMMIT_ID")))
        .and_then(|v| v.resolved_value())
        .context("the execution has no COMMIT_ID variable")?
        .to_owned();

    // The failure rule: its pattern matches CodePipeline's event, and its
    // target is the notifier, given the whole event.
    let rule_name = format!("pipeline-failed-{s}");
    let rule = w.events.describe_rule().name(&rule_name).send().await?;
    let pattern = rule
        .event_pattern()
        .context("the failure rule has no pattern")?;
    let region = w.region.clone();
    let event = action_failed("aws.codepipeline", &pipeline, &execution, &region);
    let matches = |event: Value| {
        w.events
            .test_event_pattern()
            .event_pattern(pattern)
            .event(event.to_string())
            .send()
    };
    ensure!(
        matches(event.clone()).await?.result(),
        "the failure rule does not match a failed action of pipeline-{s}"
    );
    let mut succeeded = event.clone();
    succeeded["detail"]["state"] = json!("SUCCEEDED");
    let matched = matches(succeeded).await?.result();
    ensure!(!matched, "the failure rule matches a succeeded action");
    let targets = w
        .events
        .list_targets_by_rule()
        .rule(&rule_name)
        .send()
        .await?;
    let target = match targets.targets() {
        [target] if target.arn().ends_with(&format!(":function:notifier-{s}")) => target.clone(),
        other => bail!("the failure rule's targets are not the notifier alone: {other:?}"),
    };
    ensure!(
        target.input_transformer().is_none() && target.input().is_none(),
        "the failure rule's target does not pass the whole event"
    );

    // A subscriber: an SQS queue.
    let queue_url = w
        .sqs
        .create_queue()
        .queue_name(format!("notifications-probe-{s}"))
        .send()
        .await?
        .queue_url()
        .context("no queue URL")?
        .to_owned();
    let queue_arn = w
        .sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await?
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
        .cloned()
        .context("no queue ARN")?;
    // SNS delivers to a queue only when the queue's policy admits the topic
    // (https://docs.aws.amazon.com/sns/latest/dg/subscribe-sqs-queue-to-sns-topic.html);
    // MiniStack, with its IAM enforcement on, refuses the delivery otherwise.
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": topic}}
        }]
    });
    w.sqs
        .set_queue_attributes()
        .queue_url(&queue_url)
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::Policy,
            policy.to_string(),
        )
        .send()
        .await?;
    let subscription = w
        .sns
        .subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(&queue_arn)
        .send()
        .await?
        .subscription_arn()
        .unwrap_or_default()
        .to_owned();

    // MiniStack refuses `aws.` sources from PutEvents (docs/local-cloud.md):
    // the same target and detail pattern under a test source.
    let probe_rule = format!("pipeline-failed-probe-{s}");
    let mut probe_pattern: Value = serde_json::from_str(pattern)?;
    probe_pattern["source"] = json!(["e2e.codepipeline"]);
    w.events
        .put_rule()
        .name(&probe_rule)
        .event_pattern(probe_pattern.to_string())
        .send()
        .await?;
    w.events
        .put_targets()
        .rule(&probe_rule)
        .targets(target)
        .send()
        .await?;
    let event = action_failed("e2e.codepipeline", &pipeline, &execution, &region);
    w.events
        .put_events()
        .entries(
            aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                .source("e2e.codepipeline")
                .detail_type("CodePipeline Action Execution State Change")
                .detail(event["detail"].to_string())
                .build(),
        )
        .send()
        .await?;
    let probe = Probe {
        queue_url,
        subscription,
        rule: probe_rule,
    };
    let message = received(w, &probe, "failed").await?;
    let link = format!(
        "https://{region}.console.aws.amazon.com/codesuite/codepipeline/pipelines/{pipeline}/executions/{execution}/timeline"
    );
    ensure!(
        message.contains(&format!("Pipeline {pipeline} failed at"))
            && message.contains("action Build of stage Build")
            && message.contains(&format!("\nCommit {commit} (push "))
            && message.contains("\nReason: Build terminated with state: FAILED\n")
            && message.contains(&link),
        "the failure notification reads: {message}"
    );
    ok(&format!(
        "notification received: {}",
        message.lines().take(2).collect::<Vec<_>>().join(" ")
    ));

    // An alarm's state change reaches the topic too. MiniStack evaluates an
    // alarm on creation with every datapoint of its metric name, whatever
    // the dimensions (docs/local-cloud.md), so the alarm may start in ALARM:
    // set OK first, then ALARM, and wait for CloudWatch's message of that
    // change (its JSON names the alarm and the new state).
    let alarm = format!("starter-errors-{s}");
    for state in [
        aws_sdk_cloudwatch::types::StateValue::Ok,
        aws_sdk_cloudwatch::types::StateValue::Alarm,
    ] {
        w.cloudwatch
            .set_alarm_state()
            .alarm_name(&alarm)
            .state_value(state)
            .state_reason("scenario: an alarm state change")
            .send()
            .await?;
    }
    let went_to_alarm = |text: &str| {
        serde_json::from_str::<Value>(text)
            .is_ok_and(|m| m["AlarmName"] == alarm.as_str() && m["NewStateValue"] == "ALARM")
    };
    received_where(w, &probe, &went_to_alarm, "the alarm's change to ALARM").await?;
    w.cloudwatch
        .set_alarm_state()
        .alarm_name(&alarm)
        .state_value(aws_sdk_cloudwatch::types::StateValue::Ok)
        .state_reason("scenario: back to OK")
        .send()
        .await?;
    ok(&format!(
        "notification received: alarm {alarm} went to ALARM"
    ));
    Ok(probe)
}

/// The tagger announced the build it held after the rollback.
pub async fn held_announced(w: &World, probe: &Probe) -> Result<()> {
    let message = received(w, probe, "built, not promoted").await?;
    ensure!(
        message.contains("held since") && message.contains("release"),
        "the hold notification reads: {message}"
    );
    ok("notification received: the tagger announced the build held after the rollback");
    Ok(())
}

/// Removes the probe's subscription, rule and queue.
pub async fn remove(w: &World, probe: Probe) -> Result<()> {
    if !probe.subscription.is_empty() {
        w.sns
            .unsubscribe()
            .subscription_arn(&probe.subscription)
            .send()
            .await?;
    }
    w.events
        .remove_targets()
        .rule(&probe.rule)
        .ids("notifier")
        .send()
        .await?;
    w.events.delete_rule().name(&probe.rule).send().await?;
    w.sqs
        .delete_queue()
        .queue_url(&probe.queue_url)
        .send()
        .await?;
    Ok(())
}

/// The first message on the probe queue whose text contains `needle` (the
/// SNS envelope's `Message`), within 30 s; other messages are dropped.
async fn received(w: &World, probe: &Probe, needle: &str) -> Result<String> {
    received_where(w, probe, &|text: &str| text.contains(needle), needle).await
}

/// The first message on the probe queue whose text `wanted` accepts, within
/// 30 s; other messages are dropped. `what` names it in the failure.
async fn received_where(
    w: &World,
    probe: &Probe,
    wanted: &dyn Fn(&str) -> bool,
    what: &str,
) -> Result<String> {
    let started = Instant::now();
    let mut seen = Vec::new();
    while started.elapsed() < Duration::from_secs(30) {
        let batch = w
            .sqs
            .receive_message()
            .queue_url(&probe.queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await?;
        for message in batch.messages() {
            let body = message.body().unwrap_or_default();
            let text = serde_json::from_str::<Value>(body)
                .ok()
                .and_then(|v| v["Message"].as_str().map(str::to_owned))
                .unwrap_or_else(|| body.to_owned());
            if let Some(receipt) = message.receipt_handle() {
                w.sqs
                    .delete_message()
                    .queue_url(&probe.queue_url)
                    .receipt_handle(receipt)
                    .send()
                    .await?;
            }
            if wanted(&text) {
                return Ok(text);
            }
            seen.push(text);
        }
    }
    bail!("no notification of {what:?} within 30 s; received {seen:?}")
}

/// After the stack is deleted: no topic, alarm or failure rule of it is left.
pub async fn nothing_left(w: &World, s: &str) -> Result<Vec<String>> {
    let mut left = Vec::new();
    // Every page: a real account may hold more than one page of topics.
    let mut topics = w.sns.list_topics().into_paginator().items().send();
    while let Some(topic) = topics.next().await {
        if let Some(arn) = topic?.topic_arn() {
            if arn.ends_with(&format!(":notifications-{s}")) {
                left.push(format!("topic {arn}"));
            }
        }
    }
    let alarms = w
        .cloudwatch
        .describe_alarms()
        .set_alarm_names(Some(alarm_names(s).to_vec()))
        .send()
        .await?;
    for alarm in alarms.metric_alarms() {
        left.push(format!("alarm {}", alarm.alarm_name().unwrap_or_default()));
    }
    if w.events
        .describe_rule()
        .name(format!("pipeline-failed-{s}"))
        .send()
        .await
        .is_ok()
    {
        left.push(format!("rule pipeline-failed-{s}"));
    }
    Ok(left)
}
