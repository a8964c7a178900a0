# The two commands a newcomer needs are `make local` and `make test`.
.PHONY: setup local test sandbox bench aws-acceptance

setup:            ## install the pinned tools into .tools/ (a no-op when done)
	scripts/setup.sh

local:            ## deploy into the local cloud, run the scenario, delete
	scripts/local.sh

test:             ## every check: fmt, clippy, tests, lint, checkov, end to end
	scripts/test.sh

sandbox: setup    ## a shell with the local cloud running (exit to stop it)
	scripts/sandbox.sh run $${SHELL:-bash}

bench:            ## Rust against Python/boto3 in the local cloud (docs/benchmarks.md)
	scripts/bench.sh

aws-acceptance:   ## opt in: one push on a real AWS account and GitHub repository, then delete (README)
	scripts/aws-acceptance.sh
