//! The end-to-end scenario against a stack deployed into the local cloud.
//!
//! `scripts/local.sh` runs it inside `scripts/sandbox.sh`, whose environment points
//! every client at the emulators:
//!
//! - `e2e prepare`: creates the bucket `sam deploy` uploads the code to;
//! - `e2e scenario --stack NAME`: checks the deployed configuration, delivers a signed
//!   and a forged push through the webhook's function URL, promotes two images with
//!   the tagger as the Deploy stage would, checks the notification topic, its
//!   rule and the alarms with a queue subscribed, and runs the rollback cycle
//!   (status, rollback, hold announced, release);
//! - `e2e check-updated --stack NAME --branch BRANCH`: after a stack update, the
//!   installer has reconciled the rule and the pipeline onto the new branch;
//! - `e2e check-deleted --suffix SUFFIX`: after `sam delete`, nothing is left.
//! - `e2e seed-dead-letter --stack NAME --out FILE` and `e2e check-replayed
//!   --stack NAME --delivery-file FILE`: around the README's replay of the
//!   dead-letter queue.
//! - `e2e check-rollback --stack NAME --report FILE`: after the documented
//!   rollback cycle, production is where the rollback's report said and the
//!   hold is released.
//! - `e2e fixtures prepare | receive-response --out FILE | check-webhook FILE |
//!   check-tagger FILE | check-installer create|update|delete FILE`: the sample
//!   events of `events/` with `cargo lambda invoke` (see [`fixtures`]).
//!
//! - `e2e acceptance hook|push|wait|play-stages|check|unhook|bucket ...`: the steps
//!   of the acceptance run (`scripts/aws-acceptance.sh`, see [`acceptance`]), on a
//!   real account or in the local cloud.
//!
//! Each check prints one line; the first failure ends the run and names its check.

use anyhow::{bail, Context, Result};

mod acceptance;
mod checks;
mod fixtures;
mod github;
mod notify;
mod world;

use world::World;

const DEPLOY_BUCKET: &str = "sam-deploy-sandbox";

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Err(error) = run(&args).await {
        eprintln!("FAIL {error:#}");
        std::process::exit(1);
    }
}

fn flag<'a>(args: &'a [String], name: &str) -> Result<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
        .with_context(|| format!("missing {name} VALUE"))
}

async fn run(args: &[String]) -> Result<()> {
    let world = World::from_env().await;
    match args.first().map(String::as_str) {
        Some("prepare") => world.ensure_bucket(DEPLOY_BUCKET).await,
        Some("scenario") => {
            let stack = world.stack(flag(args, "--stack")?).await?;
            checks::deployed_configuration(&world, &stack).await?;
            checks::webhook_delivery(&world, &stack).await?;
            checks::exact_commit_start(&world, &stack).await?;
            checks::promotion(&world, &stack).await?;
            let probe = notify::notifications(&world, &stack).await?;
            checks::rollback_cycle(&world, &stack).await?;
            notify::held_announced(&world, &probe).await?;
            notify::remove(&world, probe).await
        }
        Some("check-updated") => {
            let stack = world.stack(flag(args, "--stack")?).await?;
            checks::reconciled_branch(&world, &stack, flag(args, "--branch")?).await
        }
        Some("seed-dead-letter") => {
            let stack = world.stack(flag(args, "--stack")?).await?;
            checks::seed_dead_letter(&world, &stack, flag(args, "--out")?).await
        }
        Some("check-replayed") => {
            let stack = world.stack(flag(args, "--stack")?).await?;
            checks::replayed(&world, &stack, flag(args, "--delivery-file")?).await
        }
        Some("check-deleted") => checks::nothing_left(&world, flag(args, "--suffix")?).await,
        Some("check-rollback") => {
            let stack = world.stack(flag(args, "--stack")?).await?;
            checks::rolled_back(&world, &stack, flag(args, "--report")?).await
        }
        Some("acceptance") => acceptance_step(&world, args).await,
        Some("fixtures") => {
            let file = |i: usize| {
                args.get(i)
                    .map(std::path::Path::new)
                    .context("missing FILE")
            };
            match args.get(1).map(String::as_str) {
                Some("prepare") => fixtures::prepare(&world).await,
                Some("receive-response") => {
                    fixtures::receive_response(std::path::Path::new(flag(args, "--out")?))
                }
                Some("check-webhook") => fixtures::check_webhook(file(2)?),
                Some("check-starter") => fixtures::check_starter(file(2)?),
                Some("check-tagger") => fixtures::check_tagger(&world, file(2)?).await,
                Some("check-installer") => {
                    let request = args.get(2).context("missing create|update|delete")?;
                    fixtures::check_installer(&world, request, file(3)?).await
                }
                _ => bail!("usage: e2e fixtures prepare | receive-response --out FILE | check-webhook FILE | check-tagger FILE | check-installer create|update|delete FILE"),
            }
        }
        _ => bail!(
            "usage: e2e prepare | scenario --stack NAME | check-updated --stack NAME --branch B | check-deleted --suffix S | check-rollback --stack NAME --report FILE | fixtures ..."
        ),
    }
}

async fn acceptance_step(world: &World, args: &[String]) -> Result<()> {
    let state = || flag(args, "--state").map(std::path::Path::new);
    let stack = || async { world.stack(flag(args, "--stack")?).await };
    let seconds = |name: &str| -> Result<std::time::Duration> {
        let value = flag(args, name)?;
        let n: u64 = value
            .parse()
            .with_context(|| format!("{name} {value:?} is not a number of seconds"))?;
        Ok(std::time::Duration::from_secs(n))
    };
    match args.get(1).map(String::as_str) {
        Some("hook") => acceptance::hook(world, &stack().await?, flag(args, "--repo")?, state()?).await,
        Some("unhook") => acceptance::unhook(world, flag(args, "--repo")?, state()?).await,
        Some("push") => {
            acceptance::push(world, flag(args, "--repo")?, flag(args, "--branch")?, state()?).await
        }
        Some("wait") => {
            acceptance::wait(
                world,
                &stack().await?,
                state()?,
                seconds("--timeout-seconds")?,
                seconds("--every-seconds")?,
            )
            .await
        }
        Some("play-stages") => acceptance::play_stages(world, &stack().await?, state()?).await,
        Some("check") => {
            let history = flag(args, "--history").ok().map(std::path::PathBuf::from);
            acceptance::check(world, &stack().await?, state()?, history).await
        }
        Some("bucket") => {
            let verb = args.get(2).context("missing create|delete")?;
            acceptance::bucket(world, verb, flag(args, "--name")?).await
        }
        _ => bail!(
            "usage: e2e acceptance hook|push|wait|play-stages|check|unhook --state DIR [--stack NAME] [--repo OWNER/NAME] [--branch B] | bucket create|delete --name NAME"
        ),
    }
}
