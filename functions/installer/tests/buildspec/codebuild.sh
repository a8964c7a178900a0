#!/usr/bin/env bash
# Runs a buildspec's phase commands the way CodeBuild runs `version: 0.2` with
# `env.shell: bash`, for the buildspec tests:
#   - phases run in order; a phase's commands run in order, from the source
#     directory, and the first command that exits non-zero fails the phase;
#   - a failed phase ends the build when it is install or pre_build, or when it
#     says `on-failure: ABORT`; otherwise the next phase still runs, with
#     CODEBUILD_BUILD_SUCCEEDING=0 (so post_build runs after a failed build);
#   - exported variables and the working directory carry over from one command
#     to the next, and the exported variables are read after the last phase.
#
# Two ways to run the commands, and a buildspec must behave the same in both:
#   separate  each command is its own bash process that starts from what the
#             previous one exported (shell options and functions do not carry
#             over);
#   shared    every command runs in this one bash process (everything carries
#             over, and a command that exits ends the build).
#
# Usage: codebuild.sh separate|shared WORK_DIR
#   WORK_DIR/phases/<NN>-<phase>/<MM>.sh   the commands
#   WORK_DIR/phases/<NN>-<phase>/on-failure  ABORT or CONTINUE (optional)
#   WORK_DIR/exported-variables            one name a line
# Writes WORK_DIR/exported.env (NAME=value lines) and exits 0 if the build
# succeeded, 1 if it failed.

mode="$1"
work="$2"
state="$work/state.sh"
cwd_file="$work/cwd"
export CODEBUILD_BUILD_SUCCEEDING=1
export -p > "$state"
pwd > "$cwd_file"

mapfile -t exported_names < "$work/exported-variables"

# Runs one command file; its exit status is the command's.
run_command() {
  if [[ "$mode" == shared ]]; then
    # shellcheck disable=SC1090
    source "$1"
  else
    # shellcheck disable=SC2016 # expanded by the command's own shell
    env -i "$BASH" -c '
      __state="$1" __cwd_file="$2" __command="$3"
      set --
      source "$__state"
      cd "$(cat "$__cwd_file")" || exit 1
      trap '\''export -p > "$__state"; pwd > "$__cwd_file"'\'' EXIT
      source "$__command"
    ' codebuild-command "$state" "$cwd_file" "$1"
  fi
}

mark_failed() {
  if [[ "$mode" == shared ]]; then
    export CODEBUILD_BUILD_SUCCEEDING=0
  else
    echo 'declare -x CODEBUILD_BUILD_SUCCEEDING="0"' >> "$state"
  fi
}

write_exported() {
  if [[ "$mode" == shared ]]; then
    for name in "${exported_names[@]}"; do
      printf '%s=%s\n' "$name" "${!name-}"
    done > "$work/exported.env"
  else
    # shellcheck disable=SC2016 # expanded by the child shell
    env -i "$BASH" -c '
      source "$1"; shift
      for name in "$@"; do printf "%s=%s\n" "$name" "${!name-}"; done
    ' codebuild-exported "$state" "${exported_names[@]}" > "$work/exported.env"
  fi
}

failed=no
for phase_dir in "$work"/phases/*/; do
  phase_dir="${phase_dir%/}"
  phase="${phase_dir##*/}"
  phase="${phase#*-}"
  label="${phase^^}"
  on_failure=""
  if [[ -f "$phase_dir/on-failure" ]]; then
    on_failure="$(cat "$phase_dir/on-failure")"
  fi

  echo "[Container] Entering phase $label"
  phase_status=SUCCEEDED
  for command in "$phase_dir"/*.sh; do
    # Not in a condition: a command's `set -e` must stay in force (shared).
    run_command "$command"
    status=$?
    if [[ "$status" != 0 ]]; then
      echo "[Container] Command did not exit successfully: exit status $status"
      phase_status=FAILED
      break
    fi
  done
  echo "[Container] Phase complete: $label State: $phase_status"

  if [[ "$phase_status" == FAILED ]]; then
    failed=yes
    mark_failed
    if [[ "$on_failure" == ABORT || ( "$on_failure" != CONTINUE && ( "$phase" == install || "$phase" == pre_build ) ) ]]; then
      break
    fi
  fi
done

write_exported
if [[ "$failed" == yes ]]; then
  exit 1
fi
exit 0
