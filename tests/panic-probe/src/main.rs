//! The panic probe: panics inside the installer's and the tagger's guards and
//! prints what each guard answered.
//!
//! The functions promise an answer even when their work panics (the installer
//! answers CloudFormation FAILED, the tagger sends a job failure). That holds
//! only if the binary unwinds: `cargo lambda build --release` sets
//! `panic = "abort"` unless the workspace's release profile names `panic`,
//! and an aborting binary dies before it can answer. `scripts/panic-probe.sh`
//! builds this probe exactly as `sam build` builds the functions and checks
//! that it prints both answers and exits 0.

use std::time::Duration;

use tokio::time::Instant;

fn installer_work() -> Result<(), installer::Error> {
    panic!("installer probe")
}

fn tagger_work() -> tagger::domain::outcome::JobOutcome {
    panic!("tagger probe")
}

#[tokio::main]
async fn main() {
    let deadline = Instant::now() + Duration::from_secs(10);
    let installer = installer::handler::guarded(async { installer_work() }, deadline).await;
    match installer {
        Err(error) => println!("installer guard answered: {error}"),
        Ok(()) => println!("installer guard: no panic"),
    }
    let tagger = tagger::handler::guarded(async { tagger_work() }, deadline).await;
    println!("tagger guard answered: {} {:?}", tagger.label(), tagger);
}
